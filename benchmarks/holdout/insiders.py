"""Insiders, modelled on real cases. Each keeps doing their ordinary job (their benign
events are generated like everyone's); a scenario adds what they did wrong, from their
first malicious moment on. Most know roughly what gets noticed and keep under it.

Scenarios (the ground truth's ``scenario``):

- ``contact_harvester``: a frontline agent sells customers' emails and phones: dozens of
  extra look-ups a day without a ticket, now and then copied out.
- ``ex_partner_snoop``: someone looks up one person again and again over weeks (searched
  by surname among namesakes, then the address and orders opened), some of it late.
- ``celebrity_snoop``: a few VIPs looked up out of curiosity after they were in the news.
- ``departing_book_export``: an account manager, leaving, reads their book and exports it
  (and colleagues' customers) to a personal address, a stick or a personal cloud.
- ``slow_drip``: a handful of extra look-ups a day for weeks, never an export.
- ``ticket_cover``: look-ups of unrelated customers under the agent's own real ticket ids.
- ``accomplices``: two agents split one list and harvest their halves in parallel.
- ``account_takeover``: a stolen login used at night from an unknown device and address,
  searching in bulk and sending exports out.
- ``dispute_skim``: an investigator collects payment details under real dispute cases,
  looking like the link analysis the job involves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from holdout.benign import Book, Casework
from holdout.events import ACT, NONE, US_PER_H, US_PER_S, Events, field_mask

CONTACT = field_mask("name", "email", "phone")
MIN_US = 60 * US_PER_S


@dataclass
class Insider:
    index: int
    employee: int
    scenario: str
    start_day: int
    targets: list[int] = field(default_factory=list)  # customers the scenario is about


# --- who can play which part ------------------------------------------------------------


def _casework_roles(style, min_tickets: float) -> set[int]:
    return {
        i for i, r in enumerate(style.roles)
        if any(isinstance(p, Casework) and p.tickets >= min_tickets for p in r.programs)
    }  # fmt: skip


def _eligible(w, scenario: str) -> np.ndarray:
    style, st = w.style, w.staff
    frontline = _casework_roles(style, 4)
    anyone = set(range(len(style.roles)))
    wanted = {
        "contact_harvester": frontline,
        "slow_drip": _casework_roles(style, 1),
        "ticket_cover": _casework_roles(style, 2),
        "accomplices": frontline,
        "departing_book_export": {
            i for i, r in enumerate(style.roles) if any(isinstance(p, Book) for p in r.programs)
        },
        "dispute_skim": {
            i for i, r in enumerate(style.roles)
            if any(isinstance(p, Casework) and p.related for p in r.programs)
        },
    }.get(scenario, anyone)  # fmt: skip
    ok = np.isin(st.role, list(wanted)) & ~st.service & (st.departs >= w.cal.days)
    ok &= st.hired <= 0  # someone with a history here
    return np.flatnonzero(ok)


SCENARIOS = (
    "contact_harvester", "ex_partner_snoop", "celebrity_snoop", "departing_book_export",
    "slow_drip", "ticket_cover", "accomplices", "account_takeover", "dispute_skim",
)  # fmt: skip


def choose(w, count: int) -> list[Insider]:
    """``count`` insiders, scenarios in a seeded order (repeating for large companies).
    Departing ones get their leaving date now, before anyone's work is generated."""
    rng = w.rng
    order = list(rng.permutation(SCENARIOS))
    taken: set[int] = set()
    out: list[Insider] = []
    i = 0
    while len(out) < count and i < 4 * count + len(SCENARIOS):
        scenario = order[i % len(order)]
        i += 1
        people = 2 if scenario == "accomplices" else 1
        if len(out) + people > count:
            continue
        pool = [e for e in _eligible(w, scenario) if e not in taken]
        if scenario == "accomplices" and pool:
            same = [e for e in pool if w.staff.site[e] == w.staff.site[pool[0]]
                    and w.staff.role[e] == w.staff.role[pool[0]]]  # fmt: skip
            pool = same if len(same) >= 2 else pool
        if len(pool) < people:
            continue
        chosen = rng.choice(pool, size=people, replace=False)
        start = _start_day(w, scenario)
        for e in chosen:
            taken.add(int(e))
            out.append(Insider(len(out), int(e), scenario, start))
        if scenario == "departing_book_export":
            leave = min(w.cal.days + 1, start + int(rng.integers(3, 7)))
            w.staff.departs[chosen[0]] = leave
            w.works[chosen[0], leave:] = False
    return out


def _start_day(w, scenario: str) -> int:
    days, rng = w.cal.days, w.rng
    if scenario == "slow_drip" or rng.random() < 0.2:
        return int(rng.integers(1, max(2, int(0.35 * days))))
    return int(rng.integers(max(1, int(0.3 * days)), max(2, days - 3)))


# --- what they do -------------------------------------------------------------------------


def act(w, insider: Insider) -> Events:
    ev = SCENARIO_EVENTS[insider.scenario](w, insider)
    ev.insider[:] = insider.index
    return ev


def _days(w, ins: Insider, most: int | None = None) -> np.ndarray:
    days = np.flatnonzero(w.works[ins.employee, ins.start_day :]) + ins.start_day
    if not len(days):  # not rostered after the start: they come in anyway
        days = np.array([min(ins.start_day, w.cal.days - 1)])
    return days[:most] if most else days


def _at(w, ins: Insider, days: np.ndarray) -> np.ndarray:
    e = np.full(len(days), ins.employee, np.int32)
    return w.in_shift(e, days)


def _apps(w, ins: Insider) -> tuple[int, int]:
    apps = w.role_of(ins.employee).apps
    return w.apps(apps[0]), w.apps(apps[-1])


def _views(w, ins, days, cust, fields, app, case=NONE) -> Events:
    return Events.of(np.full(len(days), ins.employee), _at(w, ins, days), ACT["view"], fields,
                     app, cust=cust, case=case)  # fmt: skip


def _copy(w, ins, day: int, cust: np.ndarray, dests: dict[str, float], action="copy") -> Events:
    t = w.shift0[ins.employee, day] + int((w.staff.shift_len[ins.employee] - 0.2) * US_PER_H)
    names = list(dests)
    dest = names[w.rng.choice(len(names), p=np.asarray(list(dests.values())))]
    return Events.of(
        [ins.employee], t, ACT[action], CONTACT, _apps(w, ins)[1],
        cust=cust, n_cust=[len(cust)], dest=w.dests(dest),
    )  # fmt: skip


def harvester(w, ins: Insider) -> Events:
    rng = w.rng
    days = _days(w, ins, int(rng.integers(5, 13)))
    k = rng.poisson(rng.uniform(20, 50), size=len(days))
    d = np.repeat(days, k)
    cust = w.customers(len(d))
    blocks = [_views(w, ins, d, cust, CONTACT, _apps(w, ins)[0])]
    for day in days[rng.random(len(days)) < 0.35]:
        taken = cust[d == day][:60]
        blocks.append(_copy(w, ins, day, taken, {"personal_email": 0.5, "usb": 0.3, "local": 0.2}))
    ins.targets = cust.tolist()
    return Events.concat(blocks)


def ex_partner(w, ins: Insider) -> Events:
    rng = w.rng
    target = int(w.customers(1)[0])
    occasions = rng.choice(_days(w, ins), size=int(rng.integers(4, 10)))
    blocks = []
    for day in occasions:
        late = rng.random() < 0.3  # from home in the evening
        e = np.array([ins.employee])
        t = w.shift0[ins.employee, day] + int(
            (w.staff.shift_len[ins.employee] + rng.uniform(0.5, 3)) * US_PER_H if late
            else rng.uniform(0.2, w.staff.shift_len[ins.employee] - 0.5) * US_PER_H
        )  # fmt: skip
        n = int(rng.integers(3, 8))
        found, _ = w.namesakes(np.array([target]), np.array([n]))
        found[0] = target
        blocks.append(Events.of(e, t, ACT["search"], field_mask("name", "address"),
                                _apps(w, ins)[0], cust=found, n_cust=[n]))  # fmt: skip
        views = int(rng.integers(1, 4))
        blocks.append(Events.of(
            np.full(views, ins.employee), t + np.arange(1, views + 1) * 40 * US_PER_S,
            ACT["view"], field_mask("name", "address", "phone", "orders", "notes"),
            _apps(w, ins)[0], cust=np.full(views, target),
        ))  # fmt: skip
    ins.targets = [target]
    return Events.concat(blocks)


def celebrity(w, ins: Insider) -> Events:
    rng = w.rng
    vips = np.flatnonzero(w.cust.vip)
    targets = rng.choice(vips, size=min(len(vips), int(rng.integers(1, 5))), replace=False)
    days = _days(w, ins, int(rng.integers(1, 5)))
    blocks = []
    for c in targets:
        day = np.array([rng.choice(days)])
        n = int(rng.integers(2, 6))
        found, _ = w.namesakes(np.array([c]), np.array([n]))
        found[0] = c
        t = _at(w, ins, day)
        blocks.append(Events.of([ins.employee], t, ACT["search"], field_mask("name"),
                                _apps(w, ins)[0], cust=found, n_cust=[n]))  # fmt: skip
        views = int(rng.integers(1, 4))
        blocks.append(Events.of(
            np.full(views, ins.employee), t + np.arange(1, views + 1) * 30 * US_PER_S,
            ACT["view"], field_mask("name", "address", "phone", "orders", "payment"),
            _apps(w, ins)[0], cust=np.full(views, c),
        ))  # fmt: skip
    ins.targets = targets.tolist()
    return Events.concat(blocks)


def departing(w, ins: Insider) -> Events:
    rng = w.rng
    days = _days(w, ins)
    book = w.books.get(ins.employee, w.customers(150))
    others = [b for e, b in w.books.items() if e != ins.employee]
    pool = np.concatenate([book, *others[:3]]) if others else book
    k = rng.integers(10, 26, size=len(days))
    d = np.repeat(days, k)
    fields = field_mask("name", "email", "phone", "orders")
    blocks = [_views(w, ins, d, book[rng.integers(0, len(book), len(d))], fields, _apps(w, ins)[0])]
    taken = []
    for day in rng.choice(days, size=int(rng.integers(2, 5))):
        cust = rng.choice(pool, size=min(len(pool), int(rng.integers(100, 601))), replace=False)
        dests = {"personal_email": 0.4, "usb": 0.3, "cloud:dropbox-personal": 0.3}
        blocks.append(_copy(w, ins, int(day), cust, dests, action="export"))
        taken.append(cust)
    ins.targets = np.unique(np.concatenate(taken)).tolist()
    return Events.concat(blocks)


def slow_drip(w, ins: Insider) -> Events:
    rng = w.rng
    days = _days(w, ins)
    d = np.repeat(days, np.clip(rng.poisson(4, len(days)), 2, 7))
    cust = w.customers(len(d))
    ins.targets = cust.tolist()
    return _views(w, ins, d, cust, CONTACT, _apps(w, ins)[0])


def ticket_cover(w, ins: Insider) -> Events:
    rng = w.rng
    cases = w.cases.table()
    mine = np.flatnonzero(cases["employee"] == ins.employee)
    if not len(mine):
        mine = np.arange(len(cases["case"]))
    days = _days(w, ins, int(rng.integers(8, 15)))
    d = np.repeat(days, rng.poisson(18, len(days)))
    t = _at(w, ins, d)
    opened = cases["opened"][mine]
    # The latest of their own tickets opened before the look-up, closed or not.
    pick = np.clip(np.searchsorted(np.sort(opened), t) - 1 - rng.integers(0, 5, len(t)), 0, None)
    case = cases["case"][mine[np.argsort(opened, kind="stable")]][pick]
    cust = w.customers(len(d))
    blocks = [Events.of(np.full(len(d), ins.employee), t, ACT["view"], CONTACT, _apps(w, ins)[0],
                        cust=cust, case=case)]  # fmt: skip
    for day in days[::3]:
        blocks.append(_copy(w, ins, day, cust[d == day][:80], {"personal_email": 1.0}))
    ins.targets = cust.tolist()
    return Events.concat(blocks)


def accomplice(w, ins: Insider) -> Events:
    """Each of the pair works through their own half of the shared list."""
    rng = w.rng
    days = _days(w, ins, int(rng.integers(4, 8)))
    size = int(rng.integers(100, 300))
    d = np.sort(rng.choice(days, size=size))
    cust = w.customers(size)
    blocks = [_views(w, ins, d, cust, CONTACT, _apps(w, ins)[0])]
    half = size // 2
    for part, day in ((cust[:half], d[half - 1]), (cust[half:], d[-1])):
        blocks.append(_copy(w, ins, int(day), part, {"personal_email": 0.7, "usb": 0.3}))
    ins.targets = cust.tolist()
    return Events.concat(blocks)


def takeover(w, ins: Insider) -> Events:
    rng = w.rng
    e = ins.employee
    nights = rng.choice(np.arange(ins.start_day, w.cal.days), size=int(rng.integers(1, 3)))
    device = w.devices(f"UNK-{int(rng.integers(0, 16**8)):08x}")
    ip = w.ips(f"185.{rng.integers(1, 250)}.{rng.integers(1, 250)}.{rng.integers(1, 250)}")
    search_app, export_app = _apps(w, ins)
    blocks = []
    for night in np.unique(nights):
        hour = rng.uniform(1.0, 4.0)
        t0 = int(w.local_time(np.array([e]), np.array([night]), np.array([hour]))[0])
        blocks.append(Events.of([e], t0, ACT["login"], 0, search_app, device=device, ip=ip))
        n = int(rng.integers(5, 16))
        rows = rng.integers(40, 151, size=n)
        t = t0 + np.cumsum(rng.integers(1, 6, n)) * MIN_US
        blocks.append(Events.of(
            np.full(n, e), t, ACT["search"], field_mask("name", "email", "phone", "address", "payment"),
            search_app, cust=w.customers(int(rows.sum())), n_cust=rows, device=device, ip=ip,
        ))  # fmt: skip
        x = int(rng.integers(1, 4))
        out = rng.integers(500, 3001, size=x)
        listed = np.minimum(out, 150)
        dest = w.dests(rng.choice(["external:pastedrop.example", "personal_email"]))
        blocks.append(Events.of(
            np.full(x, e), t[-1] + np.arange(1, x + 1) * 2 * MIN_US, ACT["export"], CONTACT,
            export_app, cust=w.customers(int(listed.sum())), n_cust=listed, records=out,
            dest=dest, device=device, ip=ip,
        ))  # fmt: skip
    ins.targets = []
    return Events.concat(blocks)


def dispute_skim(w, ins: Insider) -> Events:
    rng = w.rng
    cases = w.cases.table()
    mine = np.flatnonzero(cases["employee"] == ins.employee)
    days = _days(w, ins, int(rng.integers(6, 11)))
    d = np.repeat(days, rng.integers(2, 6, len(days)))
    t = _at(w, ins, d)
    case = cases["case"][mine[rng.integers(0, len(mine), len(d))]] if len(mine) else NONE
    k = rng.integers(8, 26, size=len(d))
    cust = w.customers(int(k.sum()))
    fields = field_mask("name", "email", "phone", "payment")
    ins.targets = cust.tolist()
    return Events.of(np.full(len(d), ins.employee), t, ACT["search"], fields, _apps(w, ins)[0],
                     cust=cust, n_cust=k, case=case)  # fmt: skip


SCENARIO_EVENTS = {
    "contact_harvester": harvester,
    "ex_partner_snoop": ex_partner,
    "celebrity_snoop": celebrity,
    "departing_book_export": departing,
    "slow_drip": slow_drip,
    "ticket_cover": ticket_cover,
    "accomplices": accomplice,
    "account_takeover": takeover,
    "dispute_skim": dispute_skim,
}
