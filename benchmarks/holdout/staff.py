"""The roster: roles in the style's mix, sites, teams and their leads, shifts, joiners and
leavers, and the staff whose relatives or neighbours are customers."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from holdout.names import FIRST_NAMES, SURNAMES, surname_weights

FAR = 10**6  # "never" as a day index


@dataclass
class Staff:
    ids: list[str]
    names: list[str]
    surname: np.ndarray  # int32 index into SURNAMES
    role: np.ndarray  # int16 index into style.all_roles
    site: np.ndarray  # int8 index into style.sites
    team: list[str]
    manager: list[str | None]
    hired: np.ndarray  # day index of the first working day (negative: before the window)
    departs: np.ndarray  # day index of the leaving day, FAR if none
    home_postcode: list[str | None]
    shift_hour: np.ndarray  # local start hour
    shift_len: np.ndarray  # hours
    mult: np.ndarray  # personal activity level
    remote: np.ndarray  # bool: works from home
    service: np.ndarray  # bool: a service account
    relatives: np.ndarray  # household of a relative among the customers, -1 if none

    def __len__(self) -> int:
        return len(self.ids)


def role_counts(shares: list[float], n: int) -> np.ndarray:
    """Head count per role: largest remainder, every role staffed once the company can."""
    raw = np.asarray(shares) / sum(shares) * n
    counts = np.floor(raw).astype(int)
    if n >= 2 * len(shares):
        counts = np.maximum(counts, 1)
    while counts.sum() < n:
        counts[np.argmax(raw - counts)] += 1
    while counts.sum() > n:
        counts[np.argmax(counts)] -= 1
    return counts


def make_staff(style, employees: int, world) -> Staff:
    rng, cal = world.rng, world.cal
    services = style.services[: max(1, min(len(style.services), employees // 25))]
    humans = employees - len(services)
    counts = role_counts([r.share for r in style.roles], humans)
    role = np.repeat(np.arange(len(style.roles)), counts)
    role = np.concatenate([role, len(style.roles) + np.arange(len(services))]).astype(np.int16)
    n = len(role)
    all_roles = style.all_roles
    site = np.zeros(n, np.int8)
    for r, spec in enumerate(all_roles):
        rows = np.flatnonzero(role == r)
        codes = [style.site_index(s) for s in spec.sites]
        weights = np.asarray(list(spec.sites.values()), float)
        site[rows] = rng.choice(codes, size=len(rows), p=weights / weights.sum())
    service = role >= len(style.roles)
    surname = rng.choice(len(SURNAMES), size=n, p=surname_weights()).astype(np.int32)
    first = rng.integers(0, len(FIRST_NAMES), size=n)
    ids = [style.employee_id(i, rng) for i in range(n)]
    for i, svc in zip(np.flatnonzero(service), services, strict=True):
        ids[i] = svc.account
    names = [
        svc_name if service[i] else f"{FIRST_NAMES[first[i]]} {SURNAMES[surname[i]]}"
        for i, svc_name in enumerate(ids)
    ]
    hired = -rng.integers(30, 3500, size=n)
    joiners = (rng.random(n) < 0.03) & ~service
    hired[joiners] = rng.integers(1, max(2, cal.days - 4), size=int(joiners.sum()))
    departs = np.full(n, FAR)
    leavers = (rng.random(n) < 0.035) & ~service & ~joiners
    departs[leavers] = rng.integers(4, cal.days + 14, size=int(leavers.sum()))
    shift_hour = np.zeros(n)
    for r, spec in enumerate(all_roles):
        rows = np.flatnonzero(role == r)
        hours, weights = zip(*spec.shifts, strict=True)
        w = np.asarray(weights, float)
        shift_hour[rows] = rng.choice(hours, size=len(rows), p=w / w.sum())
    night = (shift_hour >= 20) | (shift_hour < 5)
    day_only = np.array([style.sites[s].hours != "24/7" for s in site])
    shift_hour[night & day_only & ~service] = 9.0
    shift_len = np.array([all_roles[r].shift_len for r in role]) + rng.normal(0, 0.3, size=n)
    mult = np.exp(rng.normal(0, 0.35, size=n))
    remote = np.array([rng.random() < all_roles[r].remote for r in role])
    team, manager = _teams(style, role, site, ids, rng)
    relatives = np.full(n, -1)
    kin = np.flatnonzero((rng.random(n) < 0.06) & ~service)
    relatives[kin] = rng.integers(0, len(world.cust.hh_start), size=len(kin))
    home = rng.integers(0, len(world.cust.postcodes), size=n)
    home_postcode: list[str | None] = [world.cust.postcodes[h] for h in home]
    for e in kin:  # the relative's household shares the employee's surname and address
        h = relatives[e]
        members = slice(world.cust.hh_start[h], world.cust.hh_start[h] + world.cust.hh_size[h])
        world.cust.surname[members] = surname[e]
        home_postcode[e] = world.cust.postcodes[world.cust.postcode[world.cust.hh_start[h]]]
    for e in np.flatnonzero(service):
        home_postcode[e] = None
    return Staff(
        ids, names, surname, role, site, team, manager, hired, departs, home_postcode,
        shift_hour, shift_len, mult, remote, service, relatives,
    )  # fmt: skip


def _teams(style, role, site, ids, rng) -> tuple[list[str], list[str | None]]:
    """Teams of the casework roles per site, each led by one of the lead role (a lead may
    lead two teams when there are fewer leads than teams); other roles are one team."""
    n = len(role)
    team = [style.all_roles[r].team for r in role]
    manager: list[str | None] = [None] * n
    groups: list[list[int]] = []
    for r, spec in enumerate(style.roles):
        if not spec.team_size:
            continue
        for s in range(len(style.sites)):
            rows = np.flatnonzero((role == r) & (site == s))
            for k, chunk in enumerate(
                np.array_split(rows, max(1, -(-len(rows) // spec.team_size)))
            ):
                if len(chunk):
                    name = f"{spec.team}-{style.sites[s].code.lower()}-{k + 1}"
                    for e in chunk:
                        team[e] = name
                    groups.append(list(chunk))
    leads = np.flatnonzero(role == style.role_index(style.lead_role))
    if len(leads):
        for g, members in enumerate(sorted(groups, key=len, reverse=True)):
            lead = leads[g % len(leads)]
            if g < len(leads):
                team[lead], site[lead] = team[members[0]], site[members[0]]
            for e in members:
                manager[e] = ids[lead]
    return team, manager
