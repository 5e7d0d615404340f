"""Who works when: one shift (or none) per employee and day, in UTC microseconds.

Every generated access is placed inside a shift of its employee, so off-hours activity in
the data means something. Arrays are employees x days; nothing loops per employee-day.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from insiderwatch_sim.company import NO_DAY, PATTERNS, ROLE, SHIFT_NAMES, SHIFTS, Roster
from insiderwatch_sim.config import SimulationConfig
from insiderwatch_sim.kit import DAY, HOUR, MINUTE, expand


@dataclass
class Schedule:
    t0: int  # first simulated midnight, UTC microseconds
    days: int
    works: np.ndarray  # bool, employees x days
    start: np.ndarray  # shift start (UTC us), employees x days
    end: np.ndarray  # shift end (UTC us)
    nxt: np.ndarray  # first working day >= d (days when none), employees x (days + 1)
    remote: np.ndarray  # bool: worked from home over VPN that day
    day_factor: np.ndarray  # customer demand per day (surges, Mondays)
    surge_days: list[int]

    @property
    def end_us(self) -> int:
        return self.t0 + self.days * DAY

    def day_of(self, t: np.ndarray) -> np.ndarray:
        return np.clip((np.asarray(t) - self.t0) // DAY, 0, self.days - 1)

    def at(self, emp: np.ndarray, day: np.ndarray, frac: np.ndarray) -> np.ndarray:
        """The moment ``frac`` (0..1) of the way through an employee's shift that day."""
        s = self.start[emp, day]
        return s + (frac * (self.end[emp, day] - s)).astype(np.int64)

    def units(
        self, rng: np.random.Generator, emps: np.ndarray, per_day: np.ndarray, demand: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Poisson work units per working employee-day: (employee, day) per unit."""
        lam = np.asarray(per_day, dtype=float)[:, None] * np.ones(self.days)
        if demand:
            lam = lam * self.day_factor[None, :]
        counts = rng.poisson(lam) * self.works[emps]
        flat = expand(counts.ravel())
        return emps[flat // self.days], flat % self.days

    def force_work(self, emp: int, days: np.ndarray) -> None:
        """Make an employee work on ``days`` (shift times exist for every day already)."""
        self.works[emp, days] = True
        idx = np.where(self.works[emp], np.arange(self.days), self.days)
        self.nxt[emp, : self.days] = np.minimum.accumulate(idx[::-1])[::-1]

    def snap(
        self, rng: np.random.Generator, emp: np.ndarray, t: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Move times that fall outside the employee's shifts into their next shift.

        Returns (time, ok); ok is False when no shift follows inside the window.
        """
        emp = np.asarray(emp)
        t = np.asarray(t, dtype=np.int64)
        d = self.day_of(t)
        inside = self.works[emp, d] & (t >= self.start[emp, d]) & (t < self.end[emp, d])
        dp = np.maximum(d - 1, 0)  # night shifts run past midnight
        inside |= (
            (d > 0) & self.works[emp, dp] & (t >= self.start[emp, dp]) & (t < self.end[emp, dp])
        )
        nxt = self.nxt[emp, d]
        begun = (nxt < self.days) & (self.start[emp, np.minimum(nxt, self.days - 1)] <= t)
        nxt = np.where(begun, self.nxt[emp, np.minimum(d + 1, self.days)], nxt)
        found = nxt < self.days
        later = self.at(emp, np.minimum(nxt, self.days - 1), rng.random(len(t)) * 0.9)
        return np.where(inside, t, later), inside | found


def local_offsets(cfg: SimulationConfig) -> np.ndarray:
    """UTC offset (hours) of the staff's clock at noon of each simulated day."""
    zone = ZoneInfo(cfg.company.timezone)
    out = np.zeros(cfg.days)
    for d in range(cfg.days):  # one per day
        noon = dt.datetime.combine(cfg.start + dt.timedelta(days=d), dt.time(12), zone)
        offset = noon.utcoffset()
        out[d] = offset.total_seconds() / 3600 if offset else 0.0
    return out


def build_schedule(cfg: SimulationConfig, rng: np.random.Generator, roster: Roster) -> Schedule:
    n, days = roster.n, cfg.days
    d = np.arange(days)
    t0 = int(dt.datetime.combine(cfg.start, dt.time(), dt.UTC).timestamp()) * 1_000_000
    dow = (cfg.start.weekday() + d) % 7  # 0 = Monday

    pattern_on = np.zeros((len(PATTERNS), n, days), dtype=bool)
    phase = rng.integers(0, 8, n)
    pattern_on[PATTERNS.index("weekday")] = dow[None, :] < 5
    pattern_on[PATTERNS.index("rota")] = ((d[None, :] + phase[:, None]) % 8) < 4
    pattern_on[PATTERNS.index("wed_sun")] = dow[None, :] >= 2
    works = pattern_on[roster.pattern, np.arange(n)]

    # Sick days and a block of annual leave for some.
    works &= rng.random((n, days)) >= 0.035
    on_leave = rng.random(n) < 0.18
    leave_start = rng.integers(-5, days, n)
    leave_len = rng.integers(3, 9, n)
    leave = (
        on_leave[:, None] & (d >= leave_start[:, None]) & (d < (leave_start + leave_len)[:, None])
    )
    works &= ~leave

    # Demand: sales surges and busier Mondays. On surge days some off-duty front-line
    # staff are called in for overtime.
    surge_days: list[int] = []
    if days >= 3:
        n_surge = 1 if days < 10 else 2
        surge_days = sorted(rng.choice(np.arange(2, days), n_surge, replace=False).tolist())
    day_factor = np.where(dow == 0, 1.1, 1.0)
    day_factor[surge_days] = 1.6
    frontline = np.isin(roster.role, [ROLE["cs_agent"], ROLE["seller_support"]])
    for s in surge_days:
        called = frontline & ~works[:, s] & ~leave[:, s] & (rng.random(n) < 0.3)
        works[called, s] = True

    employed = (d[None, :] >= roster.hired_day[:, None]) & (
        d[None, :] <= np.where(roster.departs_day >= NO_DAY, days, roster.departs_day)[:, None]
    )
    works &= employed
    works[roster.role == ROLE["service_account"]] = False

    base = np.array([SHIFTS[s][0] for s in SHIFT_NAMES])[roster.shift]
    base = base + cfg.company.shift_shift_hours
    length = np.array([SHIFTS[s][1] for s in SHIFT_NAMES])[roster.shift]
    start_local = base[:, None] + (roster.jitter_min[:, None] + rng.normal(0, 8, (n, days))) / 60
    overtime = np.where(rng.random((n, days)) < 0.06, rng.uniform(0.5, 2.0, (n, days)), 0.0)
    offsets = local_offsets(cfg)
    start = t0 + d[None, :] * DAY + ((start_local - offsets[None, :]) * HOUR).astype(np.int64)
    start -= start % MINUTE  # rostered times are whole minutes
    end = start + ((length[:, None] + overtime) * HOUR).astype(np.int64)

    idx = np.where(works, d[None, :], days)
    nxt = np.full((n, days + 1), days, dtype=np.int64)
    nxt[:, :days] = np.minimum.accumulate(idx[:, ::-1], axis=1)[:, ::-1]

    remote = rng.random((n, days)) < roster.remote_share[:, None]
    return Schedule(
        t0=t0,
        days=days,
        works=works,
        start=start,
        end=end,
        nxt=nxt,
        remote=remote,
        day_factor=day_factor,
        surge_days=surge_days,
    )
