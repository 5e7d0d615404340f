"""Benign activity: what each role normally does with customer data.

Every generator works on whole arrays for a role at a time: first the work units (cases,
sessions, queries) for all its employee-days, then the events each unit produces. The
variety here (roles that look nothing alike, unexplained but legitimate look-ups,
callbacks, surges, bulk exports by analysts ...) is what makes detection hard.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from insiderwatch_sim.company import NO_DAY, ROLE
from insiderwatch_sim.kit import DAY, HOUR, MINUTE, NEVER, SECOND, expand
from insiderwatch_sim.vocab import ACT, APP, APPS, CHANNEL, DEST, FS
from insiderwatch_sim.world import World


def _choice(rng: np.random.Generator, table: dict[str, float], n: int, index: dict) -> np.ndarray:
    names = list(table)
    p = np.array([table[k] for k in names], dtype=float)
    codes = np.array([index[k] for k in names], dtype=np.int64)
    return codes[rng.choice(len(names), n, p=p / p.sum())]


def _captured(w: World, rng: np.random.Generator, case: np.ndarray, p: float) -> np.ndarray:
    """The case id as the tool logged it: tools miss it now and then, some companies' tools
    (or habits) more often than others."""
    return np.where(rng.random(len(case)) < p * w.cfg.company.case_link, case, -1)


def _between(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Uniform moments in [lo, hi) (lo where the interval is empty)."""
    return lo + (rng.random(len(lo)) * np.maximum(hi - lo, 0)).astype(np.int64)


# --- case work (customer service, VIP care, seller support, escalations) ------------------


@dataclass(frozen=True)
class CaseProfile:
    name: str
    cases_per_day: float
    channels: dict[str, float]
    app: str
    search_app: str
    view_fields: dict[str, float]
    customers: str = "popular"  # popular | vip | portfolio
    search_p: float = 0.55  # a name search before opening the record
    search_extra: float = 2.0  # namesakes shown besides the customer
    views_extra: float = 1.2  # views beyond the first during the contact
    capture_p: float = 0.92  # case id captured by the tool on views
    multi_day_p: float = 0.2  # cases that stay open for days
    max_days: float = 5.0
    median_minutes: float = 12.0
    update_p: float = 0.15
    copy_p: float = 0.03
    print_p: float = 0.01
    callback_p: float = 0.06  # a look after closing, within 48 h, without the case
    # A customer served before comes back to the same person days after the case closed
    # (a regular, an account manager's client): looked up with no new case.
    revisit_p: float = 0.04
    share_p: float = 0.03  # a case note saved to the team's shared drive
    reassign_p: float = 0.2  # of multi-day cases
    followups: float = 1.5  # later views of multi-day cases
    nocase_per_day: float = 1.0  # legitimate quick look-ups with no case at all


CS = CaseProfile(
    "cs",
    9.0,
    {"phone": 0.45, "chat": 0.35, "email": 0.2},
    "crm",
    "crm-search",
    {"profile": 0.5, "profile_orders": 0.35, "profile_notes": 0.15},
)
VIP = replace(
    CS,
    name="vip",
    cases_per_day=6.0,
    customers="vip",
    channels={"phone": 0.6, "email": 0.4},
    view_fields={"profile_notes": 0.5, "profile_orders": 0.5},
    median_minutes=20.0,
    nocase_per_day=0.6,
    revisit_p=0.12,  # VIP care keeps its clients
)
SELLER = CaseProfile(
    "seller",
    8.0,
    {"seller_portal": 0.6, "email": 0.25, "phone": 0.15},
    "seller-portal",
    "seller-portal",
    {"seller_view": 0.7, "profile_orders": 0.3},
    customers="portfolio",
    search_p=0.35,
)
ESCALATION = {
    kind: replace(profile, name=f"escalation-{kind}", cases_per_day=1.5, median_minutes=25.0,
                  multi_day_p=0.35, nocase_per_day=0.5)
    for kind, profile in (("cs", CS), ("vip", VIP), ("seller", SELLER))
}  # fmt: skip


def _case_customers(
    w: World,
    rng: np.random.Generator,
    who: str,
    emp: np.ndarray,
    day: np.ndarray,
    t: np.ndarray,
) -> np.ndarray:
    n = len(emp)
    if who == "vip":
        vip = w.vip_pool[rng.integers(0, len(w.vip_pool), n)]
        return np.where(rng.random(n) < 0.85, vip, w.popular.draw(rng, n))
    if who == "portfolio":
        # Seller support serves buyers of its portfolio's sellers, as of the team it was in.
        portfolio = w.team_portfolio[w.roster.team_at(emp, day)]
        cust = w.orders.pick_buyers(rng, portfolio, t)
        share = w.cfg.company.vip_book
        if share > 0:  # a private-client book: famous buyers are these teams' everyday work
            vip = w.vip_pool[rng.integers(0, len(w.vip_pool), n)]
            cust = np.where(rng.random(n) < share, vip, cust)
        return cust
    return w.popular.draw(rng, n)


def case_work(w: World, emps: np.ndarray, prof: CaseProfile) -> None:
    if not len(emps):
        return
    rng = w.rng(f"cases:{prof.name}")
    s, r, log = w.schedule, w.roster, w.log
    emp, day = s.units(rng, emps, prof.cases_per_day * r.act[emps])
    opened = s.at(emp, day, rng.random(len(emp)) * 0.95)
    cust = _case_customers(w, rng, prof.customers, emp, day, opened)
    ok = cust >= 0
    emp, day, opened, cust = emp[ok], day[ok], opened[ok], cust[ok]
    n = len(emp)
    session = np.clip(rng.lognormal(np.log(prof.median_minutes), 0.6, n), 2, 180) * MINUTE
    session_end = np.minimum(opened + session.astype(np.int64), s.end[emp, day] + 30 * MINUTE)
    multi = rng.random(n) < prof.multi_day_p
    closed = np.where(
        multi,
        opened + (rng.uniform(1, prof.max_days, n) * DAY).astype(np.int64),
        session_end + (rng.uniform(0, 10, n) * MINUTE).astype(np.int64),
    )

    # Some long cases move to a teammate part way through: two assignment rows.
    moved = multi & (rng.random(n) < prof.reassign_p)
    mate = np.full(n, -1, dtype=np.int64)
    mate[moved] = w.teammates.pick(rng, r.team_at(emp[moved], day[moved]))
    moved &= (mate >= 0) & (mate != emp)
    handover = opened + (rng.uniform(0.2, 0.6, n) * (closed - opened)).astype(np.int64)
    handover, ok = s.snap(rng, np.where(moved, mate, emp), handover)
    moved &= ok & (handover < closed)
    handover = np.where(moved, handover, NEVER)

    num = w.cases.new(n)
    channel = _choice(rng, prof.channels, n, CHANNEL)
    w.cases.add(num, cust, emp, opened, np.where(moved, handover, closed), channel)
    w.cases.add(
        num[moved], cust[moved], mate[moved], handover[moved], closed[moved], channel[moved]
    )

    # A name search first: the customer and namesakes; the case is often not linked yet.
    m = rng.random(n) < prof.search_p
    w.log_searches(
        lists=w.search_results(rng, cust[m], prof.search_extra),
        time=opened[m] + (rng.uniform(5, 60, m.sum()) * SECOND).astype(np.int64),
        emp=emp[m],
        app=prof.search_app,
        case=_captured(w, rng, num[m], 0.6),
    )
    # Views during the contact (which ends before the case is closed).
    rows = expand(1 + rng.poisson(prof.views_extra, n))
    log.add(
        time=_between(rng, opened[rows] + 30 * SECOND, session_end[rows]),
        emp=emp[rows],
        action=ACT["view"],
        fields=_choice(rng, prof.view_fields, len(rows), FS),
        app=APP[prof.app],
        cust=cust[rows],
        case=_captured(w, rng, num[rows], prof.capture_p),
    )
    # Occasional updates, copies to the clipboard, prints.
    for action, p, fields, dest in (
        ("update", prof.update_p, "update_address", None),
        ("update", prof.update_p / 2, "update_contact", None),
        ("copy", prof.copy_p, "profile", DEST["local"]),
        ("print", prof.print_p, "profile_orders", DEST["printer"]),
        ("export", prof.share_p, "profile_notes", DEST["cloud:team-drive"]),
    ):
        m = rng.random(n) < p
        log.add(
            time=_between(rng, opened[m] + MINUTE, session_end[m]),
            emp=emp[m],
            action=ACT[action],
            fields=FS[fields],
            app=APP[prof.app],
            cust=cust[m],
            case=_captured(w, rng, num[m], 0.97),
            dest=dest,
        )
    # Follow-ups of long cases, by whoever holds the case then.
    rows = expand(np.where(multi, rng.poisson(prof.followups, n), 0))
    t = opened[rows] + 2 * HOUR + (rng.random(len(rows)) * (closed - opened - 2 * HOUR)[rows])
    t = t.astype(np.int64)
    holder = np.where(moved[rows] & (t >= handover[rows]), mate[rows], emp[rows])
    t, ok = s.snap(rng, holder, t)
    ok &= t < closed[rows]
    ok &= ~(moved[rows] & (holder == emp[rows]) & (t >= handover[rows]))
    log.add(
        time=t,
        emp=holder,
        action=ACT["view"],
        fields=_choice(rng, prof.view_fields, len(rows), FS),
        app=APP[prof.app],
        cust=cust[rows],
        case=_captured(w, rng, num[rows], prof.capture_p),
        keep=ok,
    )
    # Callbacks: the customer rings back after the case was closed.
    m = ~multi & (rng.random(n) < prof.callback_p)
    t = closed[m] + (rng.uniform(0.5, 47, m.sum()) * HOUR).astype(np.int64)
    t, ok = s.snap(rng, emp[m], t)
    log.add(
        time=t,
        emp=emp[m],
        action=ACT["view"],
        fields=_choice(rng, prof.view_fields, m.sum(), FS),
        app=APP[prof.app],
        cust=cust[m],
        keep=ok & (t <= closed[m] + 48 * HOUR),
    )
    _revisits(w, rng, prof, emp, cust, closed)
    nocase_work(w, emps, prof.nocase_per_day, prof.name, prof.app, prof.search_app, prof.customers)


def _revisits(
    w: World,
    rng: np.random.Generator,
    prof: CaseProfile,
    emp: np.ndarray,
    cust: np.ndarray,
    closed: np.ndarray,
) -> None:
    """Customers who come back to the agent who served them, days later and with no case."""
    s = w.schedule
    m = rng.random(len(emp)) < prof.revisit_p
    t = closed[m] + (rng.uniform(3, 14, m.sum()) * DAY).astype(np.int64)
    inside = t < s.end_us
    who, t = emp[m][inside], t[inside]
    t, ok = s.snap(rng, who, t)
    w.log.add(
        time=t,
        emp=who,
        action=ACT["view"],
        fields=_choice(rng, prof.view_fields, len(t), FS),
        app=APP[prof.app],
        cust=cust[m][inside],
        keep=ok,
    )


def handover_exports(w: World) -> None:
    """Leavers hand their work over: on one of their last working days they export the
    customers of their cases to the team's shared drive, where their successor finds them."""
    rng = w.rng("handover")
    s, r = w.schedule, w.roster
    rows = w.cases.rows()
    case_roles = [ROLE["cs_agent"], ROLE["seller_support"]]
    for e in np.flatnonzero((r.departs_day < NO_DAY) & np.isin(r.role, case_roles)):
        last = min(int(r.departs_day[e]), s.days)
        days = np.flatnonzero(s.works[e, max(0, last - 7) : last]) + max(0, last - 7)
        if not len(days):
            continue
        day = np.array([rng.choice(days)])
        t = s.at(np.array([e]), day, rng.uniform(0.3, 0.9, 1))
        book = np.unique(rows["cust"][(rows["emp"] == e) & (rows["opened"] < t[0])])
        if not len(book):
            continue
        w.log.add(
            time=t,
            emp=int(e),
            action=ACT["export"],
            fields=FS["profile_orders"],
            app=APP["crm"],
            ragged=(np.array([len(book)]), book),
            record_count=np.array([len(book)]),
            dest=DEST["cloud:team-drive"],
        )


def nocase_work(
    w: World,
    emps: np.ndarray,
    per_day: float,
    name: str,
    app: str,
    search_app: str,
    customers: str = "popular",
    view_fields: str = "profile",
) -> None:
    """Legitimate look-ups that no case explains (a quick question, a colleague asking)."""
    if not len(emps) or per_day <= 0:
        return
    rng = w.rng(f"nocase:{name}")
    s = w.schedule
    per_day *= w.cfg.company.nocase
    emp, day = s.units(rng, emps, per_day * w.roster.act[emps])
    t = s.at(emp, day, rng.random(len(emp)))
    cust = _case_customers(w, rng, customers, emp, day, t)
    search = rng.random(len(emp)) < 0.3
    w.log.add(
        time=t,
        emp=emp,
        action=ACT["view"],
        fields=FS[view_fields],
        app=APP[app],
        cust=cust,
        keep=~search & (cust >= 0),
    )
    m = search & (cust >= 0)
    w.log_searches(lists=w.search_results(rng, cust[m], 2.5), time=t[m], emp=emp[m], app=search_app)


def walkin_work(w: World, emps: np.ndarray) -> None:
    """Front-desk staff serve the customers who walk in: a look-up each (a name search,
    or the record opened from a card), with no case at all; the counter's whole day."""
    nocase_work(w, emps, 14.0, "walkin", "crm", "crm-search", view_fields="profile")


def book_work(w: World, emps: np.ndarray) -> None:
    """Relationship managers keep a book of their own customers, each called about once a
    week (a weekday of its own) and now and then in between, with no case at all; the
    books of a desk do not overlap. A few quick look-ups of anyone come on top."""
    if not len(emps):
        return
    rng = w.rng("book")
    emp, day, c = _book_calls(w, rng, emps)
    t = w.schedule.at(emp, day, rng.random(len(emp)))
    search = rng.random(len(emp)) < 0.3
    fields = np.where(rng.random(len(emp)) < 0.6, FS["profile"], FS["profile_notes"])
    w.log.add(time=t, emp=emp, action=ACT["view"], fields=fields, app=APP["crm"], cust=c)
    w.log_searches(
        lists=w.search_results(rng, c[search], 2.0),
        time=t[search] - 30 * SECOND,
        emp=emp[search],
        app="crm-search",
    )
    nocase_work(w, emps, 0.5, "book", "crm", "crm-search")


def _book_calls(
    w: World, rng: np.random.Generator, emps: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(employee, day, customer) of each call to a client of the caller's own book."""
    s = w.schedule
    size = rng.integers(20, 41, len(emps))
    owner = expand(size)  # book entry -> position in emps
    cust = rng.permutation(w.benign)[: len(owner)]
    owner = owner[: len(cust)]
    phase = rng.integers(0, 7, len(owner))
    due = (np.arange(s.days)[None, :] - phase[:, None]) % 7 == 0
    due &= s.works[emps[owner]] & (rng.random(due.shape) < 0.85)
    row, day = np.nonzero(due)
    # Calls in between: about one a day, to a customer of the caller's own book.
    start = np.cumsum(size) - size
    e2, d2 = s.units(rng, emps, np.ones(len(emps)))
    pos = np.searchsorted(emps, e2)
    extra = np.minimum(start[pos] + rng.integers(0, size[pos]), len(cust) - 1)
    rows = np.concatenate([row, extra])
    emp = np.concatenate([emps[owner[row]], e2])
    day = np.concatenate([day, d2])
    keep = emps[owner[rows]] == emp  # a truncated book's last entries belong to nobody else
    return emp[keep], day[keep], cust[rows[keep]]


# --- other roles --------------------------------------------------------------------------


def logins(w: World) -> None:
    """A login at every shift start, and often another after the break."""
    rng = w.rng("logins")
    s = w.schedule
    emp, day = np.nonzero(s.works)
    t = s.start[emp, day] + (rng.uniform(0, 8, len(emp)) * MINUTE).astype(np.int64)
    w.log.add(time=t, emp=emp, action=ACT["login"], fields=FS["none"], app=APP["sso"])
    m = rng.random(len(emp)) < 0.4
    t = s.at(emp[m], day[m], rng.uniform(0.4, 0.6, m.sum()))
    w.log.add(time=t, emp=emp[m], action=ACT["login"], fields=FS["none"], app=APP["sso"])


def fraud_work(w: World, emps: np.ndarray, rate: float = 0.5, name: str = "fraud") -> None:
    """Investigations: internal cases, wide searches, many unrelated customers viewed."""
    if not len(emps):
        return
    rng = w.rng(f"fraud:{name}")
    s, log = w.schedule, w.log
    emp, day = s.units(rng, emps, rate * w.roster.act[emps], demand=False)
    n = len(emp)
    opened = s.at(emp, day, rng.random(n) * 0.9)
    target = w.popular.draw(rng, n)
    length_days = rng.uniform(1, 10, n)
    closed = opened + (length_days * DAY).astype(np.int64)
    num = w.cases.new(n)
    w.cases.add(num, target, emp, opened, closed, CHANNEL["internal"])

    # Work sessions spread over the investigation, each inside the investigator's shifts.
    per_case = 1 + rng.poisson(length_days)
    rows = expand(per_case)
    first = np.r_[True, rows[1:] != rows[:-1]]
    t = np.where(
        first,
        opened[rows] + 2 * MINUTE,
        opened[rows] + (rng.random(len(rows)) * (closed - opened)[rows]).astype(np.int64),
    )
    t, ok = s.snap(rng, emp[rows], t)
    ok &= t < closed[rows]
    rows, t = rows[ok], t[ok]
    k = len(rows)
    s_emp, s_case, s_target = emp[rows], num[rows], target[rows]

    sizes = np.clip(rng.lognormal(np.log(40), 0.9, k), 5, 600).astype(np.int64)
    lengths, flat = w.random_lists(rng, sizes, first=s_target)
    w.log_searches(
        lists=(lengths, flat),
        time=t,
        emp=s_emp,
        app="fraud-workbench",
        case=_captured(w, rng, s_case, 0.85),
    )
    # Linked accounts: everyone at the target's postcode.
    l2, f2 = w.search_results(rng, s_target, 3.0, by="postcode")
    log.add(
        time=t + 2 * MINUTE,
        emp=s_emp,
        action=ACT["search"],
        fields=FS["search_address"],
        app=APP["fraud-workbench"],
        ragged=(l2, f2),
        record_count=l2,
        case=_captured(w, rng, s_case, 0.85),
    )
    # Views of customers from the search results.
    vr = expand(2 + rng.poisson(4, k))
    starts = np.cumsum(lengths) - lengths
    pick = flat[starts[vr] + (rng.random(len(vr)) * lengths[vr]).astype(np.int64)]
    log.add(
        time=t[vr] + (rng.uniform(3, 90, len(vr)) * MINUTE).astype(np.int64),
        emp=s_emp[vr],
        action=ACT["view"],
        fields=FS["full"],
        app=APP["fraud-workbench"],
        cust=pick,
        case=_captured(w, rng, s_case[vr], 0.85),
    )
    # Evidence downloads and, rarely, a referral to the partner bank.
    for action, p, dest, fields in (
        ("download", 0.05, "local", "full"),
        ("message", 0.02, "external:partner-bank.example", "billing"),
    ):
        m = rng.random(k) < p
        log.add(
            time=t[m] + (rng.uniform(30, 120, m.sum()) * MINUTE).astype(np.int64),
            emp=s_emp[m],
            action=ACT[action],
            fields=FS[fields],
            app=APP["fraud-workbench"],
            cust=s_target[m],
            record_count=1,
            case=s_case[m],
            dest=DEST[dest],
        )


def analyst_work(w: World, emps: np.ndarray) -> None:
    """Warehouse queries over thousands of customers, often exported: legitimate bulk."""
    if not len(emps):
        return
    rng = w.rng("analysts")
    s = w.schedule
    emp, day = s.units(rng, emps, 1.2 * w.roster.act[emps], demand=False)
    n = len(emp)
    t = s.at(emp, day, rng.random(n) * 0.85)
    rows = np.clip(rng.lognormal(np.log(6000), 1.0, n), 1000, 250_000).astype(np.int64)
    fields = _choice(rng, {"orders_address": 0.35, "marketing": 0.25, "orders": 0.25,
                           "search_address": 0.15}, n, FS)  # fmt: skip
    w.log.add(
        time=t,
        emp=emp,
        action=ACT["search"],
        fields=fields,
        app=APP["warehouse-sql"],
        record_count=rows,
    )
    m = rng.random(n) < 0.55
    dest = np.where(rng.random(m.sum()) < 0.65, DEST["local"], DEST["cloud:company-warehouse"])
    w.log.add(
        time=t[m] + (rng.uniform(2, 45, m.sum()) * MINUTE).astype(np.int64),
        emp=emp[m],
        action=ACT["export"],
        fields=fields[m],
        app=APP["warehouse-sql"],
        record_count=rows[m],
        dest=dest,
    )
    nocase_work(w, emps, 0.3, "analysts", "crm", "crm-search", view_fields="profile_orders")


def engineer_work(w: World, emps: np.ndarray) -> None:
    """Rare debugging sessions in the admin console, sometimes under a bug ticket."""
    if not len(emps):
        return
    rng = w.rng("engineers")
    s = w.schedule
    emp, day = s.units(rng, emps, 0.25 * w.roster.act[emps], demand=False)
    n = len(emp)
    t = s.at(emp, day, rng.random(n) * 0.9)
    cust = w.any_customer(rng, n)
    bug = rng.random(n) < 0.3
    num = np.full(n, -1, dtype=np.int64)
    num[bug] = w.cases.new(int(bug.sum()))
    opened = t[bug] - (rng.uniform(5, 120, bug.sum()) * MINUTE).astype(np.int64)
    closed = t[bug] + (rng.uniform(1, 72, bug.sum()) * HOUR).astype(np.int64)
    w.cases.add(num[bug], cust[bug], emp[bug], opened, closed, CHANNEL["internal"])
    m = rng.random(n) < 0.3
    w.log_searches(
        lists=w.search_results(rng, cust[m], 1.0),
        time=t[m] - 30 * SECOND,
        emp=emp[m],
        app="admin-console",
    )
    rows = expand(1 + rng.poisson(1.0, n))
    w.log.add(
        time=t[rows] + (rng.uniform(0, 40, len(rows)) * MINUTE).astype(np.int64),
        emp=emp[rows],
        action=ACT["view"],
        fields=FS["full"],
        app=APP["admin-console"],
        cust=cust[rows],
        case=_captured(w, rng, num[rows], 0.9),
    )


def supervisor_reviews(w: World) -> None:
    """Supervisors look at cases of their reports: the case is not theirs, yet legitimate."""
    rng = w.rng("reviews")
    s, r = w.schedule, w.roster
    rows = w.cases.rows()
    emp = rows["emp"]
    day = s.day_of(rows["opened"])
    boss = np.where(day < r.transfer_day[emp], r.prev_manager[emp], r.manager[emp])
    picked = (boss >= 0) & (r.role[np.maximum(boss, 0)] == ROLE["supervisor"]) & (boss != emp)
    picked &= rng.random(len(emp)) < 0.08
    opened, closed = rows["opened"][picked], rows["closed"][picked]
    end = np.minimum(closed, s.end_us)
    t = opened + (rng.random(len(opened)) * (end - opened)).astype(np.int64)
    t += (rng.uniform(0, 6, len(t)) * HOUR).astype(np.int64)
    t, ok = s.snap(rng, boss[picked], t)
    ok &= t < np.where(closed >= NEVER - DAY, NEVER, closed + DAY)
    w.log.add(
        time=t,
        emp=boss[picked],
        action=ACT["view"],
        fields=FS["review"],
        app=APP["case-review"],
        cust=rows["cust"][picked],
        case=rows["num"][picked],
        keep=ok,
    )


# --- service accounts -----------------------------------------------------------------

# Per application: events per minute, action mix, fields, mean batch size of searches.
SERVICES: dict[str, tuple[float, dict[str, float], str, float]] = {
    "billing-sync": (3.0, {"view": 0.7, "update": 0.3}, "billing", 1),
    "crm-indexer": (6.0, {"view": 0.6, "search": 0.4}, "search", 8),
    "order-sync": (4.0, {"view": 0.6, "update": 0.4}, "orders_address", 1),
    "notification-service": (3.0, {"view": 1.0}, "notify", 1),
    "fraud-scoring": (2.5, {"view": 1.0}, "payment_orders", 1),
    "warehouse-loader": (1.5, {"view": 1.0}, "orders_address", 1),
    "address-verifier": (1.5, {"view": 0.5, "update": 0.5}, "update_address", 1),
    "dsar-bot": (1.0, {"view": 1.0}, "full", 1),
    "search-reindex": (2.0, {"search": 1.0}, "search", 20),
    "loyalty-sync": (2.0, {"view": 0.8, "update": 0.2}, "marketing", 1),
}
# Traffic follows customers' day but never stops.
_DIURNAL = np.array([0.5, 0.4, 0.35, 0.35, 0.4, 0.5, 0.7, 0.9, 1.2, 1.4, 1.5, 1.5,
                     1.5, 1.5, 1.4, 1.4, 1.4, 1.3, 1.2, 1.1, 1.0, 0.9, 0.7, 0.6])  # fmt: skip


def service_work(w: World) -> None:
    s, r = w.schedule, w.roster
    for e in r.of_role("service_account"):  # one pass per service account
        app = APPS[r.svc_app[e]]
        rng = w.rng(f"service:{e}")
        rate, actions, fields, batch = SERVICES[app]
        rate *= w.cfg.company.service_rate
        n = rng.poisson(rate * rng.lognormal(0, 0.3) * s.days * 24 * 60)
        hour = rng.choice(24, n, p=_DIURNAL / _DIURNAL.sum())
        t = s.t0 + rng.integers(0, s.days, n) * DAY + hour * HOUR
        t += (rng.random(n) * HOUR).astype(np.int64)
        action = _choice(rng, actions, n, ACT)
        search = action == ACT["search"]
        cust = w.any_customer(rng, n)
        w.log.add(
            time=t, emp=e, action=action, fields=FS[fields], app=APP[app], cust=cust, keep=~search
        )
        if search.any():
            sizes = 1 + rng.poisson(batch - 1, search.sum())
            lengths, flat = w.random_lists(rng, sizes)
            w.log.add(
                time=t[search],
                emp=e,
                action=action[search],
                fields=FS[fields],
                app=APP[app],
                ragged=(lengths, flat),
                record_count=lengths,
            )
        if app == "warehouse-loader":  # regular extracts into the company warehouse
            hours = np.arange(0, s.days * 24, w.cfg.company.loader_every_hours)
            t = s.t0 + hours * HOUR + (rng.uniform(0, 5, len(hours)) * MINUTE).astype(np.int64)
            per_run = 40_000 * w.cfg.company.loader_every_hours**0.5  # longer gaps, bigger runs
            rows = np.clip(rng.lognormal(np.log(per_run), 0.4, len(hours)), 1000, None)
            w.log.add(
                time=t,
                emp=e,
                action=ACT["export"],
                fields=FS["orders_address"],
                app=APP[app],
                record_count=rows.astype(np.int64),
                dest=DEST["cloud:company-warehouse"],
            )
        if app == "dsar-bot":  # subject access requests: one customer's data to the portal
            m = rng.poisson(3 * s.days)
            t = s.t0 + (rng.random(m) * s.days * DAY).astype(np.int64)
            w.log.add(
                time=t,
                emp=e,
                action=ACT["export"],
                fields=FS["full"],
                app=APP[app],
                cust=w.any_customer(rng, m),
                record_count=1,
                dest=DEST["cloud:dsar-portal"],
            )


# --- all benign activity ------------------------------------------------------------------


def generate_benign(w: World, progress: Callable[[float], None] | None = None) -> None:
    r = w.roster
    kind = r.team_kind(np.arange(r.n))
    role = r.role

    def who(role_name: str, *kinds: str) -> np.ndarray:
        m = role == ROLE[role_name]
        return np.flatnonzero(m & np.isin(kind, kinds)) if kinds else np.flatnonzero(m)

    steps: list[Callable[[], None]] = [
        lambda: logins(w),
        lambda: case_work(w, who("cs_agent", "cs", "cs_night"), CS),
        lambda: case_work(w, who("cs_agent", "vip"), VIP),
        lambda: case_work(w, who("seller_support"), SELLER),
        lambda: fraud_work(w, who("fraud_investigator")),
        lambda: nocase_work(
            w,
            who("fraud_investigator"),
            0.8,
            "fraud",
            "fraud-workbench",
            "fraud-workbench",
            view_fields="full",
        ),
        lambda: case_work(w, who("supervisor", "cs", "cs_night"), ESCALATION["cs"]),
        lambda: case_work(w, who("supervisor", "vip"), ESCALATION["vip"]),
        lambda: case_work(w, who("supervisor", "seller"), ESCALATION["seller"]),
        lambda: walkin_work(w, who("cs_agent", "desk")),
        lambda: case_work(w, who("supervisor", "desk"), ESCALATION["cs"]),
        lambda: book_work(w, who("cs_agent", "book")),
        lambda: case_work(w, who("supervisor", "book"), ESCALATION["cs"]),
        lambda: fraud_work(w, who("supervisor", "fraud"), rate=0.15, name="fraud-supervisors"),
        lambda: analyst_work(w, who("data_analyst")),
        lambda: engineer_work(w, who("engineer")),
        lambda: nocase_work(w, who("ops_manager"), 0.15, "managers", "crm", "crm-search"),
        lambda: service_work(w),
        lambda: handover_exports(w),  # after every case above
        lambda: supervisor_reviews(w),  # last: it reviews the cases made above
    ]
    for i, step in enumerate(steps):
        step()
        if progress:
            progress((i + 1) / len(steps))
