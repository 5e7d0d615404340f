"""What staff and service accounts do all day, as activity programs.

A role is a list of programs (casework, look-ups, broad queries, a book of accounts ...);
each program turns the working days of the role's members into events with array
operations. Parameters are the style's, so two companies differ in habits, not just names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from holdout.events import ACT, NONE, US_PER_H, US_PER_S, Events, field_mask, ranges
from holdout.world import DAY_US

MIN_US = 60 * US_PER_S


class Program:
    """One kind of activity; ``stage`` 1 programs run after every stage 0 one (reviews need
    the cases others opened)."""

    stage = 0

    def run(self, w, emps: np.ndarray, apps: tuple[str, ...]) -> Events:
        raise NotImplementedError


def _within(group: np.ndarray, gaps: np.ndarray) -> np.ndarray:
    """Cumulative sum of ``gaps`` restarting at each new value of ``group`` (sorted)."""
    total = np.cumsum(gaps)
    first = np.r_[True, group[1:] != group[:-1]]
    base = np.maximum.accumulate(np.where(first, total - gaps, 0))
    return total - base


def _pick(w, weights: dict[str, float], n: int, vocab) -> np.ndarray:
    names = list(weights)
    p = np.asarray(list(weights.values()), float)
    codes = np.array([vocab(x) for x in names], np.int16)
    return codes[w.rng.choice(len(names), size=n, p=p / p.sum())]


@dataclass
class Logins(Program):
    """Signing in at the start of a shift and again after a break."""

    def run(self, w, emps, apps):
        e, d = w.workdays(emps)
        again = w.rng.random(len(e)) < 0.6
        e2, d2 = e[again], d[again]
        t = np.concatenate([w.shift0[e, d], w.in_shift(e2, d2)])
        emp = np.concatenate([e, e2])
        return Events.of(emp, t, ACT["login"], 0, w.apps(apps[0]))


@dataclass
class Handover(Program):
    """Leavers hand their work over: on one of their last days, a list of customers they
    dealt with goes to the company's shared drive."""

    dest: str
    share: float = 0.5

    def run(self, w, emps, apps):
        rng = w.rng
        leaving = emps[(w.staff.departs[emps] <= w.cal.days) & (rng.random(len(emps)) < self.share)]
        e, d = [], []
        for emp in leaving:
            days = np.flatnonzero(w.works[emp])
            if len(days):
                e.append(emp)
                d.append(days[-min(len(days), int(rng.integers(1, 3)))])
        e, d = np.asarray(e, np.int32), np.asarray(d, np.int64)
        rows = rng.integers(20, 121, size=len(e))
        return Events.of(
            e, w.in_shift(e, d), ACT["export"], field_mask("name", "email", "orders"),
            w.apps(apps[-1]), cust=w.customers(int(rows.sum()), np.repeat(w.staff.site[e], rows)),
            n_cust=rows, dest=w.dests(self.dest),
        )  # fmt: skip


@dataclass
class Casework(Program):
    """Tickets: a customer (or a household, for joint or merged accounts) is found, viewed,
    updated and messaged. Whether the tool records the ticket id depends on the agent's
    habit; the first search usually happens before the ticket exists."""

    prefix: str
    tickets: float  # per working day
    link: float  # share of events after the first carrying the ticket id
    first_link: float = 0.15
    steps: tuple[int, int] = (2, 6)
    view: int = field_mask("name", "email", "phone", "address", "orders")
    search: int = field_mask("name", "email", "phone")
    household: float = 0.05
    channels: tuple[str, ...] = ("phone", "chat", "email")
    listed: float = 1.0  # share of ticket ids that are in the exported cases table
    escalated_from: str | None = None  # tickets arrive reassigned from this role
    related: tuple[float, int, int] | None = None  # (share, min, max) linked accounts searched
    related_fields: int = field_mask("name", "address", "payment")
    regional: bool = False

    def run(self, w, emps, apps):
        rng = w.rng
        e, d = w.workdays(emps)
        k = rng.poisson(self.tickets * w.staff.mult[e] * w.load(e, d))
        te, td = np.repeat(e, k), np.repeat(d, k)
        n = len(te)
        if n == 0:
            return Events.of([], 0, 0)
        start = w.in_shift(te, td, 0.5)
        cust = w.customers(n, w.staff.site[te] if self.regional else None)
        again = rng.random(n) < 0.15  # customers who keep coming back
        cust[again] = w.frequent[rng.integers(0, len(w.frequent), size=int(again.sum()))]
        # Now and then the queue routes an agent a ticket about their own relative.
        kin = w.staff.relatives[te]
        own = (kin >= 0) & (rng.random(n) < 0.004)
        cust[own] = w.cust.hh_start[kin[own]]
        case = self._open_cases(w, te, cust, start)
        hh_first, hh_size = w.household_of(cust)
        joint = (rng.random(n) < self.household) & (hh_size > 1)
        steps = rng.integers(self.steps[0], self.steps[1] + 1, size=n)
        ticket = np.repeat(np.arange(n), steps)
        pos = np.arange(len(ticket)) - np.repeat(np.cumsum(steps) - steps, steps)
        t = start[ticket] + _within(
            ticket, rng.exponential(100 * US_PER_S, len(ticket)).astype(np.int64)
        )
        action = np.where(pos == 0, ACT["search"], rng.choice(
            [ACT["view"], ACT["update"], ACT["message"]], size=len(ticket), p=[0.6, 0.25, 0.15]))  # fmt: skip
        fields = np.select(
            [action == ACT["search"], action == ACT["message"], action == ACT["update"]],
            [
                self.search,
                field_mask("name", "email"),
                self.view & rng.integers(1, 128, len(ticket)),
            ],
            self.view,
        )
        # A joint ticket's search lists the whole household; later steps one member each.
        whole = joint[ticket] & (pos == 0)
        n_cust = np.where(whole, hh_size[ticket], 1)
        member = np.where(joint[ticket], hh_first[ticket] + pos % hh_size[ticket], cust[ticket])
        base = np.where(whole, hh_first[ticket], member)
        offset = ranges(np.zeros(len(ticket)), n_cust)  # 0, 1, ... within each event's list
        flat = np.repeat(base, n_cust) + np.where(np.repeat(whole, n_cust), offset, 0)
        emp = te[ticket]
        p = np.where(pos == 0, self.first_link, np.clip(self.link + w.link_habit[emp], 0.02, 0.99))
        linked = rng.random(len(ticket)) < p
        app = np.where(action == ACT["message"], w.apps(apps[-1]), w.apps(apps[0]))
        events = Events.of(
            emp, t, action, fields, app, cust=flat.astype(np.int32), n_cust=n_cust,
            case=np.where(linked, case[ticket], NONE),
        )  # fmt: skip
        if self.related:
            events = Events.concat([events, self._related(w, te, cust, start, case, apps)])
        return events

    def _open_cases(self, w, te, cust, start) -> np.ndarray:
        rng, n = w.rng, len(te)
        case = w.cases.open(self.prefix, n)
        earlier = rng.random(n) < 0.35  # raised by the customer before it reached the agent
        opened = start - np.where(
            earlier, rng.uniform(0, 2 * DAY_US, n), rng.uniform(0, 5 * MIN_US, n)
        ).astype(np.int64)
        closed = start + (rng.lognormal(np.log(3.0), 1.2, n) * US_PER_H).astype(np.int64)
        closed = np.where(closed > w.cal.epoch0 + w.cal.days * DAY_US, -1, closed)
        channel = _pick(w, dict.fromkeys(self.channels, 1.0), n, w.channels)
        listed = rng.random(n) < self.listed
        if self.escalated_from:
            first = w.members(self.escalated_from)
            if len(first):
                before = first[rng.integers(0, len(first), size=n)]
                w.cases.assign(case, cust, before, opened, start, channel, listed)
                opened = start - rng.uniform(0, 10 * MIN_US, n).astype(np.int64)
        w.cases.assign(case, cust, te, opened, closed, channel, listed)
        return case

    def _related(self, w, te, cust, start, case, apps) -> Events:
        """Link analysis: accounts sharing the customer's address, searched for the case;
        the tool keeps the case id on some of them only."""
        rng = w.rng
        share, lo, hi = self.related
        pick = np.flatnonzero(rng.random(len(te)) < share)
        k = rng.integers(lo, hi + 1, size=len(pick))
        flat, _ = w.neighbours(cust[pick], k)
        t = start[pick] + rng.uniform(10 * MIN_US, 40 * MIN_US, len(pick)).astype(np.int64)
        linked = rng.random(len(pick)) < 0.3
        return Events.of(
            te[pick], t, ACT["search"], self.related_fields, w.apps(apps[0]),
            cust=flat, n_cust=k, case=np.where(linked, case[pick], NONE),
        )  # fmt: skip


@dataclass
class Lookups(Program):
    """Look-ups with no ticket: callers who are verified and hang up, walk-in customers,
    wrong numbers. A search by name lists namesakes; one of them may be opened."""

    rate: float
    fields: int = field_mask("name", "email", "phone", "address")
    regional: bool = False
    open_share: float = 0.7

    def run(self, w, emps, apps):
        rng = w.rng
        e, d = w.workdays(emps)
        k = rng.poisson(self.rate * w.staff.mult[e] * w.load(e, d))
        te, td = np.repeat(e, k), np.repeat(d, k)
        if not len(te):
            return Events.of([], 0, 0)
        target = w.customers(len(te), w.staff.site[te] if self.regional else None)
        t = w.in_shift(te, td)
        n_found = rng.integers(1, 5, size=len(te))
        found, _ = w.namesakes(target, n_found)
        first = np.cumsum(n_found) - n_found
        found[first] = target  # the one they were looking for is among them
        search = Events.of(
            te, t, ACT["search"], field_mask("name", "address"), w.apps(apps[0]),
            cust=found, n_cust=n_found,
        )  # fmt: skip
        opened = rng.random(len(te)) < self.open_share
        view = Events.of(
            te[opened], t[opened] + rng.integers(5, 90, int(opened.sum())) * US_PER_S,
            ACT["view"], self.fields, w.apps(apps[0]), cust=target[opened],
        )  # fmt: skip
        return Events.concat([search, view])


@dataclass
class Broad(Program):
    """Analysts' work: searches over many customers (BI, segment queries) and exports of
    a few hundred to a few thousand rows, mostly to the company's own cloud. A weekly job
    (e.g. the campaign list to the mailing provider) falls to one of them in turn."""

    searches: float
    rows: float  # median rows per search
    fields: int
    exports: float = 0.0
    export_rows: float = 800
    dests: dict[str, float] = field(default_factory=lambda: {"local": 1.0})
    listed: int = 150  # customer ids a query log keeps (the rest is only a record count)
    weekly: tuple[str, float, int] | None = None  # (destination, share of customers, weekday)

    def run(self, w, emps, apps):
        rng = w.rng
        e, d = w.workdays(emps)
        k = rng.poisson(self.searches * w.staff.mult[e])
        se, sd = np.repeat(e, k), np.repeat(d, k)
        rows = np.maximum(2, rng.lognormal(np.log(self.rows), 0.9, len(se))).astype(np.int64)
        blocks = [self._query(w, se, sd, rows, ACT["search"], NONE, apps[0])]
        k = rng.poisson(self.exports * w.staff.mult[e])
        xe, xd = np.repeat(e, k), np.repeat(d, k)
        rows = np.maximum(20, rng.lognormal(np.log(self.export_rows), 0.8, len(xe))).astype(
            np.int64
        )
        dest = _pick(w, self.dests, len(xe), w.dests)
        local = dest == w.dests("local")
        action = np.where(local & (rng.random(len(xe)) < 0.5), ACT["download"], ACT["export"])
        blocks.append(self._query(w, xe, xd, rows, action, dest, apps[-1]))
        if self.weekly:
            blocks.append(self._weekly(w, emps, apps))
        return Events.concat(blocks)

    def _query(self, w, e, d, rows, action, dest, app) -> Events:
        n_list = np.minimum(rows, self.listed)
        return Events.of(
            e, w.in_shift(e, d), action, self.fields, w.apps(app),
            cust=w.customers(int(n_list.sum())), n_cust=n_list, records=rows, dest=dest,
        )  # fmt: skip

    def _weekly(self, w, emps, apps) -> Events:
        dest, share, weekday = self.weekly
        days = [d for d in range(w.cal.days) if (w.cal.start.weekday() + d) % 7 == weekday]
        e, d = [], []
        for day in days:
            on = emps[w.works[emps, day]]
            if len(on):
                e.append(on[w.rng.integers(0, len(on))])
                d.append(day)
        e, d = np.asarray(e, np.int32), np.asarray(d, np.int32)
        rows = np.full(len(e), int(share * len(w.cust)))
        return self._query(w, e, d, rows, ACT["export"], w.dests(dest), apps[-1])


@dataclass
class Book(Program):
    """Account managers' own customers: viewed and updated with no ticket, now and then
    exported as a pipeline report. A wealth book holds many VIPs."""

    size: tuple[int, int]
    views: float
    fields: int
    vip_share: float = 0.0
    exports: float = 0.0
    dests: dict[str, float] = field(default_factory=lambda: {"local": 1.0})

    def run(self, w, emps, apps):
        rng = w.rng
        sizes = rng.integers(self.size[0], self.size[1] + 1, size=len(emps))
        books = w.customers(int(sizes.sum()))
        vips = np.flatnonzero(w.cust.vip)
        swap = (rng.random(len(books)) < self.vip_share) & (len(vips) > 0)
        books[swap] = vips[rng.integers(0, max(1, len(vips)), size=int(swap.sum()))]
        starts = np.cumsum(sizes) - sizes
        for emp, s, n in zip(emps, starts, sizes, strict=True):
            w.books[int(emp)] = books[s : s + n]
        where = np.full(len(w.staff), -1)
        where[emps] = np.arange(len(emps))
        e, d = w.workdays(emps)
        k = rng.poisson(self.views * w.staff.mult[e])
        ve, vd = np.repeat(e, k), np.repeat(d, k)
        i = where[ve]
        cust = books[starts[i] + (rng.random(len(ve)) * sizes[i]).astype(np.int64)]
        action = rng.choice(
            [ACT["view"], ACT["update"], ACT["search"]], size=len(ve), p=[0.6, 0.25, 0.15]
        )
        blocks = [
            Events.of(ve, w.in_shift(ve, vd), action, self.fields, w.apps(apps[0]), cust=cust)
        ]
        k = rng.poisson(self.exports, size=len(e))
        xe, xd = np.repeat(e, k), np.repeat(d, k)
        i = where[xe]
        n_list = np.maximum(1, (sizes[i] * rng.uniform(0.2, 1.0, len(xe))).astype(np.int64))
        offs = ranges(starts[i], n_list)
        blocks.append(Events.of(
            xe, w.in_shift(xe, xd), ACT["export"], self.fields, w.apps(apps[-1]),
            cust=books[offs], n_cust=n_list, dest=_pick(w, self.dests, len(xe), w.dests),
        ))  # fmt: skip
        return Events.concat(blocks)


@dataclass
class Manifest(Program):
    """A daily list: delivery manifests to the courier, the collections dialler's list.
    Many customers at once, at the start of the shift, every working day."""

    runs: tuple[int, int]
    rows: tuple[int, int]
    fields: int
    dest: str | None = None

    def run(self, w, emps, apps):
        rng = w.rng
        e, d = w.workdays(emps)
        k = rng.integers(self.runs[0], self.runs[1] + 1, size=len(e))
        me, md = np.repeat(e, k), np.repeat(d, k)
        t = w.shift0[me, md] + rng.uniform(0.1, 2.5, len(me)).astype(np.float64) * US_PER_H
        t = t.astype(np.int64)
        rows = rng.integers(self.rows[0], self.rows[1] + 1, size=len(me))
        cust = w.customers(int(rows.sum()), np.repeat(w.staff.site[me], rows))
        blocks = [
            Events.of(me, t, ACT["search"], self.fields, w.apps(apps[0]), cust=cust, n_cust=rows)
        ]
        if self.dest:
            blocks.append(Events.of(
                me, t + rng.integers(2, 20, len(me)) * MIN_US, ACT["export"], self.fields,
                w.apps(apps[-1]), cust=cust, n_cust=rows, dest=w.dests(self.dest),
            ))  # fmt: skip
        return Events.concat(blocks)


@dataclass
class Review(Program):
    """Team leads reviewing their team's recent tickets for quality: the ticket id on the
    event is real, but the case is assigned to someone else."""

    reviews: float
    fields: int = field_mask("name", "email", "phone", "address", "orders", "notes")
    stage = 1

    def run(self, w, emps, apps):
        rng = w.rng
        cases = w.cases.table()
        lead_of = np.array([w.staff.manager[e] or "" for e in cases["employee"]])
        blocks = []
        for lead in emps:
            mine = np.flatnonzero(lead_of == w.staff.ids[lead])
            if not len(mine):
                continue
            mine = mine[np.argsort(cases["opened"][mine], kind="stable")]
            opened = cases["opened"][mine]
            days = np.flatnonzero(w.works[lead])
            k = rng.poisson(self.reviews, size=len(days))
            d = np.repeat(days, k)
            e = np.full(len(d), lead, np.int32)
            t = w.in_shift(e, d)
            hi = np.searchsorted(opened, t)
            lo = np.searchsorted(opened, t - 3 * DAY_US)
            ok = hi > lo
            pick = mine[lo[ok] + (rng.random(int(ok.sum())) * (hi[ok] - lo[ok])).astype(np.int64)]
            blocks.append(Events.of(
                e[ok], t[ok], ACT["view"], self.fields, w.apps(apps[0]),
                cust=cases["customer"][pick], case=cases["case"][pick],
            ))  # fmt: skip
        return Events.concat(blocks) if blocks else Events.of([], 0, 0)


@dataclass
class OnCall(Program):
    """The engineer on call this week, woken by a failed load: queries at night, and now
    and then a dump to the laptop to debug it."""

    incident: float = 0.35  # chance of a night's call-out
    rows: float = 5000

    def run(self, w, emps, apps):
        rng = w.rng
        if not len(emps):
            return Events.of([], 0, 0)
        d = np.arange(w.cal.days)
        who = emps[(d // 7 + int(rng.integers(0, len(emps)))) % len(emps)]
        out = (rng.random(len(d)) < self.incident) & w.works[who, d]
        e, d = who[out], d[out]
        k = rng.integers(2, 9, size=len(e))
        qe, qd = np.repeat(e, k), np.repeat(d, k)
        t = w.local_time(qe, qd, rng.uniform(0.5, 5.0, len(qe)))
        rows = np.maximum(10, rng.lognormal(np.log(self.rows), 1.0, len(qe))).astype(np.int64)
        n_list = np.minimum(rows, 30)
        dump = rng.random(len(qe)) < 0.08
        return Events.of(
            qe, t, np.where(dump, ACT["download"], ACT["search"]),
            field_mask("name", "email", "phone", "address", "orders"), w.apps(apps[0]),
            cust=w.customers(int(n_list.sum())), n_cust=n_list, records=rows,
            dest=np.where(dump, w.dests("local"), NONE),
        )  # fmt: skip


@dataclass
class Nightly(Program):
    """A service account's scheduled job: extracts to the lake, backups, statement print
    runs. Every night at about the same hour; a failed night is rerun in the morning."""

    action: str
    dest: str | None
    runs: tuple[int, int]
    rows: float | None  # median rows per run; None: every customer
    hour_utc: float
    fields: int = field_mask("name", "email", "phone", "address", "orders", "payment")
    listed: int = 0

    def run(self, w, emps, apps):
        rng = w.rng
        e, d = w.workdays(emps)
        rerun = rng.random(len(e)) < 0.05
        e, d = np.concatenate([e, e[rerun]]), np.concatenate([d, d[rerun]])
        hour = np.where(np.arange(len(e)) < len(e) - rerun.sum(), self.hour_utc, 9.0)
        k = rng.integers(self.runs[0], self.runs[1] + 1, size=len(e))
        je, jd = np.repeat(e, k), np.repeat(d, k)
        job = np.repeat(np.arange(len(e)), k)
        base = w.cal.epoch0 + jd * DAY_US + (np.repeat(hour, k) * US_PER_H).astype(np.int64)
        t = base + _within(job, rng.exponential(3 * MIN_US, len(je)).astype(np.int64))
        if self.rows is None:
            rows = np.full(len(je), len(w.cust))
        else:
            rows = np.maximum(1, rng.lognormal(np.log(self.rows), 0.5, len(je))).astype(np.int64)
        n_list = np.minimum(rows, self.listed)
        return Events.of(
            je, t, ACT[self.action], self.fields, w.apps(apps[0]),
            cust=w.customers(int(n_list.sum())), n_cust=n_list, records=rows,
            dest=w.dests(self.dest) if self.dest else NONE,
        )  # fmt: skip


@dataclass
class Sync(Program):
    """A connector that pushes changed customers between systems every few minutes,
    around the clock."""

    every_min: float
    rows: tuple[int, int]
    action: str = "update"
    fields: int = field_mask("name", "email", "phone", "address")

    def run(self, w, emps, apps):
        rng = w.rng
        blocks = []
        for emp in emps:
            days = np.flatnonzero(w.works[emp])
            if not len(days):
                continue
            lo = w.cal.epoch0 + days[0] * DAY_US
            hi = w.cal.epoch0 + (days[-1] + 1) * DAY_US
            t = np.arange(lo, hi, int(self.every_min * MIN_US)) + rng.integers(0, 30, 1) * US_PER_S
            t = t + rng.integers(0, 20 * US_PER_S, len(t))
            n_list = rng.integers(self.rows[0], self.rows[1] + 1, size=len(t))
            blocks.append(Events.of(
                np.full(len(t), emp), t, ACT[self.action], self.fields, w.apps(apps[0]),
                cust=w.customers(int(n_list.sum())), n_cust=n_list,
            ))  # fmt: skip
        return Events.concat(blocks) if blocks else Events.of([], 0, 0)
