"""The company an activity program works in: calendar, customers, staff, cases.

Everything here is drawn from one seeded generator, in a fixed order, so a company is a
function of (style, employees, days, seed).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

import numpy as np

from holdout.events import DEFAULT, US_PER_H, US_PER_S, Events
from holdout.names import FIRST_NAMES, SURNAMES, surname_weights
from holdout.staff import make_staff

DAY_US = 24 * US_PER_H


class Vocab:
    """Strings interned to small codes (apps, destinations, channels, devices ...)."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._codes: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        code = self._codes.get(text)
        if code is None:
            code = self._codes[text] = len(self.items)
            self.items.append(text)
        return code


class CaseBook:
    """Cases and their assignments as the programs make them. A case id may also be one a
    tool captured but never exported (``listed`` false), as returns systems often do."""

    COLUMNS = ("case", "customer", "employee", "opened", "closed", "channel", "listed")

    def __init__(self) -> None:
        self.prefixes = Vocab()
        self._prefix: list[np.ndarray] = []  # prefix code of each case
        self._rows: dict[str, list[np.ndarray]] = {c: [] for c in self.COLUMNS}
        self.count = 0

    def open(self, prefix: str, n: int) -> np.ndarray:
        """Indices of ``n`` new cases whose ids start with ``prefix``."""
        idx = np.arange(self.count, self.count + n, dtype=np.int64)
        self.count += n
        self._prefix.append(np.full(n, self.prefixes(prefix), np.int16))
        return idx

    def assign(self, case, customer, employee, opened, closed, channel, listed=True) -> None:
        """Assignment rows (``closed`` -1 while open)."""
        n = len(case)
        values = (case, customer, employee, opened, closed, channel, listed)
        types = (np.int64, np.int32, np.int32, np.int64, np.int64, np.int16, bool)
        for name, v, typ in zip(self.COLUMNS, values, types, strict=True):
            self._rows[name].append(np.broadcast_to(np.asarray(v, typ), (n,)).copy())

    def prefix_of_case(self) -> np.ndarray:
        return np.concatenate(self._prefix) if self._prefix else np.zeros(0, np.int16)

    def table(self) -> dict[str, np.ndarray]:
        return {c: np.concatenate(v) for c, v in self._rows.items()}


@dataclass
class Calendar:
    start: dt.date
    days: int
    epoch0: int  # microseconds of the first day's midnight UTC
    offset_min: np.ndarray  # [site, day] local UTC offset in minutes (daylight saving included)
    holiday: np.ndarray  # [site, day]
    weekend: np.ndarray  # [day]
    load: np.ndarray  # [site, day] demand on contact teams (peaks, holidays)

    def dates(self) -> list[dt.date]:
        return [self.start + dt.timedelta(days=d) for d in range(self.days)]


def make_calendar(style, start: dt.date, days: int) -> Calendar:
    dates = [start + dt.timedelta(days=d) for d in range(days)]
    n_sites = len(style.sites)
    offset = np.zeros((n_sites, days), np.int32)
    holiday = np.zeros((n_sites, days), bool)
    load = np.ones((n_sites, days))
    for s, site in enumerate(style.sites):
        zone = zoneinfo.ZoneInfo(site.tz)
        for d, day in enumerate(dates):
            noon = dt.datetime.combine(day, dt.time(12), tzinfo=zone)
            offset[s, d] = int(noon.utcoffset().total_seconds() // 60)
            holiday[s, d] = day.isoformat() in site.holidays
            load[s, d] = style.peaks.get(day.isoformat(), 1.0) * (0.5 if holiday[s, d] else 1.0)
    weekend = np.array([day.weekday() >= 5 for day in dates])
    epoch0 = int(dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC).timestamp()) * US_PER_S
    return Calendar(start, days, epoch0, offset, holiday, weekend, load)


@dataclass
class Customers:
    ids: list[str]
    surname: np.ndarray  # int32 index into SURNAMES
    postcode: np.ndarray  # int32 index into postcodes
    postcodes: list[str]
    household: np.ndarray  # int32 household of each customer (members are contiguous)
    hh_start: np.ndarray  # first customer of each household
    hh_size: np.ndarray
    vip: np.ndarray  # bool
    region: np.ndarray  # int8 site whose customers they mostly are
    email: list[str]
    phone: list[str]

    def __len__(self) -> int:
        return len(self.ids)


def make_customers(style, n: int, rng: np.random.Generator) -> Customers:
    sizes = rng.choice([1, 2, 3, 4], size=n, p=style.household_sizes)
    sizes = sizes[np.cumsum(sizes) <= n]
    sizes = np.append(sizes, np.ones(n - int(sizes.sum()), np.int64)).astype(np.int32)
    hh_start = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int32)
    household = np.repeat(np.arange(len(sizes), dtype=np.int32), sizes)
    n_post = max(50, n // 18)
    postcodes = style.postcodes(n_post, rng)
    hh_surname = rng.choice(len(SURNAMES), size=len(sizes), p=surname_weights())
    surname = hh_surname[household].astype(np.int32)
    # A share of couples keep their own names.
    own = rng.random(n) < 0.3
    surname[own] = rng.choice(len(SURNAMES), size=int(own.sum()), p=surname_weights())
    hh_post = rng.integers(0, n_post, size=len(sizes))
    postcode = hh_post[household].astype(np.int32)
    region = rng.choice(len(style.sites), size=len(sizes), p=style.customer_regions)[household]
    vip = rng.random(n) < style.vip_share
    number = rng.permutation(np.arange(10_000_000, 10_000_000 + 7 * n, 7))[:n]
    ids = [f"{style.customer_prefix}{x}" for x in number]
    first = rng.integers(0, len(FIRST_NAMES), size=n)
    domains = style.mail_domains
    dom = rng.integers(0, len(domains), size=n)
    suffix = rng.integers(1, 999, size=n)
    email = [
        f"{FIRST_NAMES[f].lower()}.{SURNAMES[s].lower().replace(' ', '')}{x}@{domains[d]}"
        for f, s, x, d in zip(first, surname, suffix, dom, strict=True)
    ]
    phone = style.phones(region, rng)
    return Customers(
        ids, surname, postcode, postcodes, household, hh_start, sizes, vip, region.astype(np.int8),
        email, phone,
    )  # fmt: skip


class World:
    """A company being generated: its calendar, customers and staff, the cases opened so far
    and the vocabularies events are coded against."""

    def __init__(self, style, employees: int, days: int, seed: int, start: dt.date) -> None:
        self.style = style
        self.rng = np.random.default_rng(seed)
        self.cal = make_calendar(style, start, days)
        self.cust = make_customers(style, max(3000, 45 * employees), self.rng)
        self.cases = CaseBook()
        self.apps, self.dests, self.channels = Vocab(), Vocab(), Vocab()
        self.devices, self.ips = Vocab(), Vocab()
        self.staff = make_staff(style, employees, self)  # may rename relatives' households
        self._index_customers()
        # Customers who keep contacting support, and each agent's habit of recording the
        # ticket id (above or below their team's norm).
        self.frequent = self.rng.choice(len(self.cust), size=max(20, len(self.cust) // 50))
        self.link_habit = self.rng.normal(0, 0.12, len(self.staff))
        self.books: dict[int, np.ndarray] = {}  # account managers' own customers
        self.works = self._rota()
        self.shift0 = self._shift_starts()
        self._devices_and_addresses()

    # --- when people work -----------------------------------------------------------

    def _rota(self) -> np.ndarray:
        st, cal, rng = self.staff, self.cal, self.rng
        n, days = len(st), cal.days
        d = np.arange(days)
        active = (st.hired[:, None] <= d) & (d < st.departs[:, None])
        weekday = (cal.start.weekday() + d) % 7
        rolling = np.array([self.role_of(e).rota == "rolling" for e in range(n)])
        off_from = rng.integers(0, 7, size=n)
        rolling_off = (weekday[None, :] - off_from[:, None]) % 7 < 2
        holiday = cal.holiday[st.site]  # [employee, day]
        weekdays_on = ~cal.weekend[None, :] & ~holiday
        rolling_on = ~rolling_off & ~(holiday & (rng.random((n, days)) < 0.4))
        on = np.where(rolling[:, None], rolling_on, weekdays_on)
        leave = rng.random((n, days)) < 0.035
        week_away = rng.random(n) < 0.06  # a week of annual leave inside the window
        first = rng.integers(0, max(1, days - 5), size=n)
        leave |= week_away[:, None] & (d >= first[:, None]) & (d < first[:, None] + 5)
        works = active & on & ~leave
        works[st.service] = active[st.service]
        return works

    def _shift_starts(self) -> np.ndarray:
        st, cal = self.staff, self.cal
        jitter = np.clip(self.rng.normal(0, 0.3, size=self.works.shape), -0.75, 0.75)
        hours = st.shift_hour[:, None] + jitter
        local_midnight = cal.epoch0 + np.arange(cal.days) * DAY_US
        offset = cal.offset_min[st.site].astype(np.int64) * 60 * US_PER_S
        return local_midnight[None, :] + (hours * US_PER_H).astype(np.int64) - offset

    def role_of(self, e: int):
        return self.style.all_roles[self.staff.role[e]]

    def members(self, role_name: str) -> np.ndarray:
        code = self.style.role_index(role_name)
        return np.flatnonzero(self.staff.role == code).astype(np.int32)

    def workdays(self, emps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(employee, day) of every working day of these employees."""
        e, d = np.nonzero(self.works[emps])
        return emps[e].astype(np.int32), d.astype(np.int64)

    def in_shift(self, e: np.ndarray, d: np.ndarray, margin_h: float = 0.3) -> np.ndarray:
        """A random moment inside each (employee, day) shift."""
        length = (self.staff.shift_len[e] - margin_h) * US_PER_H
        return self.shift0[e, d] + (self.rng.random(len(e)) * length).astype(np.int64)

    def local_time(self, e: np.ndarray, d: np.ndarray, hour: np.ndarray) -> np.ndarray:
        """The UTC instant of a local hour on day ``d`` at each employee's site."""
        offset = self.cal.offset_min[self.staff.site[e], d].astype(np.int64) * 60 * US_PER_S
        return (
            self.cal.epoch0
            + np.asarray(d, np.int64) * DAY_US
            + (np.asarray(hour) * US_PER_H).astype(np.int64)
            - offset
        )

    def load(self, e: np.ndarray, d: np.ndarray) -> np.ndarray:
        return self.cal.load[self.staff.site[e], d]

    # --- customers --------------------------------------------------------------------

    def customers(self, n: int, region: np.ndarray | None = None) -> np.ndarray:
        """Random customers; with ``region``, mostly of each given site's region."""
        pick = self.rng.integers(0, len(self.cust), size=n).astype(np.int32)
        if region is None:
            return pick
        for s, members in enumerate(self._regions):
            rows = np.flatnonzero((region == s) & (self.rng.random(n) < 0.85))
            if len(members):
                pick[rows] = members[self.rng.integers(0, len(members), size=len(rows))]
        return pick

    def household_of(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(first member, size) of each customer's household."""
        h = self.cust.household[c]
        return self.cust.hh_start[h], self.cust.hh_size[h]

    def neighbours(self, c: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``k[i]`` random customers living at customer ``c[i]``'s postcode (flat)."""
        return self._alike("postcode", c, k)

    def namesakes(self, c: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``k[i]`` random customers sharing customer ``c[i]``'s surname (flat)."""
        return self._alike("surname", c, k)

    def _alike(self, attr: str, c, k) -> tuple[np.ndarray, np.ndarray]:
        order, first, counts = self._groups[attr]
        value = getattr(self.cust, attr)[c]
        start = np.repeat(first[value], k)
        size = np.repeat(np.maximum(1, counts[value]), k)
        return order[start + (self.rng.random(len(start)) * size).astype(np.int64)], k

    def _index_customers(self) -> None:
        """Customers grouped by region, postcode and surname, for picking alike ones."""
        cust = self.cust
        self._regions = [np.flatnonzero(cust.region == s) for s in range(len(self.style.sites))]
        self._groups = {}
        for attr, n_keys in (("postcode", len(cust.postcodes)), ("surname", len(SURNAMES))):
            key = getattr(cust, attr)
            counts = np.bincount(key, minlength=n_keys)
            order = np.argsort(key, kind="stable").astype(np.int32)
            self._groups[attr] = (order, np.cumsum(counts) - counts, counts)

    # --- devices and source addresses ------------------------------------------------

    def _devices_and_addresses(self) -> None:
        st, rng, n = self.staff, self.rng, len(self.staff)
        style = self.style
        self.dev_primary = np.array([self.devices(style.device_name(rng)) for _ in range(n)])
        self.dev_second = np.array([self.devices(style.device_name(rng)) for _ in range(n)])
        # A laptop refresh: some staff move to a new machine inside the window.
        self.refresh_day = np.where(
            rng.random(n) < 0.07, rng.integers(1, self.cal.days, size=n), 10**6
        )
        for e in np.flatnonzero(st.service):
            self.dev_primary[e] = self.dev_second[e] = self.devices(f"srv-{st.ids[e]}")
        self.kiosks = np.array(
            [[self.devices(f"{style.kiosk_prefix}-{s.code}-{k:02d}") for k in range(4)]
             for s in style.sites]
        )  # fmt: skip
        self.shared_device = np.array([self.role_of(e).shared_device for e in range(n)])
        office = np.array(
            [[self.ips(f"10.{20 + s}.{k}.1") for k in range(4)] for s in range(len(style.sites))]
        )
        self.ip_office = office[st.site, rng.integers(0, 4, size=n)]
        homes = rng.integers(1, 250, size=(n, 3))
        self.ip_home = np.array([self.ips(f"{style.home_net}.{a}.{b}.{c}") for a, b, c in homes])
        for e in np.flatnonzero(st.service):
            self.ip_office[e] = self.ip_home[e] = self.ips(f"10.99.0.{10 + e % 200}")
        self.home_fridays = rng.random(n) < 0.2

    def stamp(self, ev: Events) -> None:
        """Fill in each event's usual device and source address where none was set."""
        d = (ev.t - self.cal.epoch0) // DAY_US
        e = ev.emp
        dev = np.where(d >= self.refresh_day[e], self.dev_second[e], self.dev_primary[e])
        kiosk = self.kiosks[self.staff.site[e], (e * 7 + d) % 4]
        dev = np.where(self.shared_device[e], kiosk, dev)
        ev.device = np.where(ev.device == DEFAULT, dev, ev.device).astype(np.int32)
        friday = (self.cal.start.weekday() + d) % 7 == 4
        home = self.staff.remote[e] | (friday & self.home_fridays[e])
        ip = np.where(home, self.ip_home[e], self.ip_office[e])
        ev.ip = np.where(ev.ip == DEFAULT, ip, ev.ip).astype(np.int32)
