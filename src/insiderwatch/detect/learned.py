"""What detection learned beyond routine flows and allowances, as calibrate shows it: the
case scope, the kinds of look-up allowances cover, customer books, off hours, the peers'
rates of returning to a customer, where leavers may hand their work over, and how many
public figures the look-ups made.

Each section runs the engine's own query for the step's day (imported from the module
that explains or detects with it), so what is shown is what applied that day, and comes
with the counts of staff and days that taught it. Staff appear only as counts per peer
group, or as keyed pseudonyms (each keeper's relationship book); customers only as counts.
"""

from __future__ import annotations

import datetime as dt

import msgspec

from insiderwatch.detect.allowance import learn_allowance_kinds
from insiderwatch.detect.base import execute
from insiderwatch.detect.book import BOOK_HISTORY_SQL
from insiderwatch.detect.casescope import learn_case_scope
from insiderwatch.detect.config import DetectionConfig
from insiderwatch.detect.detectors.fixation import Fixation
from insiderwatch.detect.groupbook import EXPLANATIONS as GROUP_BOOK_EXPLANATIONS
from insiderwatch.detect.groupbook import learn_group_books
from insiderwatch.detect.handover import places_sql
from insiderwatch.detect.public import learn_public_figures
from insiderwatch.detect.reasons import BOOK as BOOK_REASON
from insiderwatch.detect.reasons import HANDOVER
from insiderwatch.detect.revisits import window_looks_sql, window_returns_sql
from insiderwatch.detect.rules import group_hours_sql, load_rules
from insiderwatch.privacy.hashing import HashKey
from insiderwatch.privacy.pseudonyms import pseudonym
from insiderwatch.store.duckdb_store import Store


class CaseScope(msgspec.Struct, kw_only=True, frozen=True):
    """How far an investigating group's own case reaches (detect/casescope.py): at most
    ``breadth`` customers none of the employee's searches returned per case and day, and
    only the listed field sets of customers other than the case's."""

    group: str
    breadth: int
    field_sets: list[str]
    case_days: int  # the peers' case-days it was learned from
    staff: int
    # Learned from the investigating groups together: the group's own case history is
    # too short (case_days and staff are theirs).
    pooled: bool = False


class AllowanceKind(msgspec.Struct, kw_only=True, frozen=True):
    """A kind of look-up (app, action, field set) a group's allowance covers, and how many
    of its staff made it in the window (detect/allowance.py)."""

    level: str
    group: str
    kind: str
    staff: int


class BookSize(msgspec.Struct, kw_only=True, frozen=True):
    """The customer books of a peer group's staff (detect/book.py), as counts only."""

    group: str
    staff: int  # with a book
    customers: int  # employee-customer pairs over all its books
    median_customers: float  # per employee with a book
    max_customers: int
    employee_days: int  # days of case work that taught the books
    explained: int  # accesses the book explained in the window, the day included


class RelationshipDesk(msgspec.Struct, kw_only=True, frozen=True):
    """A peer group that works from relationship books (detect/groupbook.py), as counts."""

    group: str
    keepers: int  # staff with a book
    own_clients: int  # employee-client pairs of own returns, over all its books
    shared_clients: int  # the desk's shared clients (customers, each counted once)
    explained: int  # accesses the books explained in the window, the day included


class RelationshipBookOf(msgspec.Struct, kw_only=True, frozen=True):
    """One keeper's relationship book, as counts; ``employee`` is their keyed pseudonym
    (privacy/pseudonyms.py), never the employee id."""

    group: str
    employee: str
    own_clients: int  # customers they came back to that no colleague did
    shared_clients: int  # the desk's shared clients they came back to


class OffHours(msgspec.Struct, kw_only=True, frozen=True):
    """A peer group's working hours as the ``off_hours`` rules see them (detect/rules.py):
    an hour is off when fewer than ``share`` of its working days had an access in it."""

    share: float
    group: str
    staff: int
    working_days: int
    hours: list[int]  # UTC hours worked
    off_hours: list[int]


class RevisitRate(msgspec.Struct, kw_only=True, frozen=True):
    """How often a peer group's staff come back to a customer with no case (the
    ``fixation`` detector's baseline): customers looked up on at least ``min_days``
    separate days of the window, per case-less look-up."""

    group: str
    staff: int
    lookups: int
    returns: int
    rate: float


class HandoverPlaces(msgspec.Struct, kw_only=True, frozen=True):
    """Where a peer group's leavers may export their own book (detect/handover.py)."""

    group: str
    destinations: list[str]
    leavers: int  # staff with a departure date within handover_days of the day
    handed_over: int  # exports explained as handover in the window, the day included


class PublicFigures(msgspec.Struct, kw_only=True, frozen=True):
    """The customers the vip detector treats as public figures (detect/public.py), as
    counts: learned from staff's case-less look-ups, flagged VIP by the context, both."""

    learned: int
    flagged: int
    both: int
    bar: float | None  # the attention a figure had to pass (None: nobody was learned)
    max_staff: int | None  # the most strangers any learned figure had
    max_groups: int | None
    max_days: int | None  # the most attention (strangers' look-up days) any had


class Learned(msgspec.Struct, kw_only=True, frozen=True):
    case_scope: list[CaseScope] = []
    allowance_kinds: list[AllowanceKind] = []
    books: list[BookSize] = []
    desks: list[RelationshipDesk] = []
    # Per keeper; only with the deployment key (staff are shown as pseudonyms).
    relationship_books: list[RelationshipBookOf] = []
    off_hours: list[OffHours] = []
    revisit_window_days: int | None = None
    revisit_min_days: int | None = None
    revisits: list[RevisitRate] = []
    revisit_company: RevisitRate | None = None  # what small groups are pulled towards
    handover: list[HandoverPlaces] = []
    public_figures: PublicFigures | None = None


def learned(
    store: Store, cfg: DetectionConfig, step: dict, casework: dict | None,
    key: HashKey | None = None,
) -> Learned:  # fmt: skip
    """Every section for ``step`` (see :func:`step_of`); ``casework`` is the step's
    ``casework_params`` (None without casework history); ``key``: the deployment's, to
    list each keeper's relationship book under their pseudonym (none without it)."""
    rates, company = _revisits(store, cfg, step)
    fix = cfg.detector_config(Fixation)
    desks, keepers = _relationship_books(store, cfg, step, key)
    return Learned(
        case_scope=_case_scope(store, {**step, **casework}) if casework else [],
        allowance_kinds=_allowance_kinds(store, cfg, step),
        books=_books(store, cfg, step),
        desks=desks,
        relationship_books=keepers,
        off_hours=_off_hours(store, cfg, step),
        revisit_window_days=fix.window_days if company else None,
        revisit_min_days=fix.min_days if company else None,
        revisits=rates,
        revisit_company=company,
        handover=_handover(store, cfg, step),
        public_figures=_public_figures(store, cfg, step),
    )


def _case_scope(store: Store, params: dict) -> list[CaseScope]:
    if not params["investigating"] or not store.has_table("case_scope_days"):
        return []
    learn_case_scope(store.con, params)
    rows = store.con.execute(
        """SELECT peer_group, breadth, coalesce(field_sets, []), case_days, staff, pooled
           FROM step_case_scope ORDER BY peer_group"""
    ).fetchall()
    return [CaseScope(group=g, breadth=b, field_sets=f, case_days=n, staff=s, pooled=p)
            for g, b, f, n, s, p in rows]  # fmt: skip


def _allowance_kinds(store: Store, cfg: DetectionConfig, step: dict) -> list[AllowanceKind]:
    if not cfg.allowance.enabled or not store.has_table("allowance_kinds"):
        return []
    learn_allowance_kinds(store.con, cfg, step)
    rows = store.con.execute(
        "SELECT level, grp, kind, staff FROM step_allowance_kinds ORDER BY level = 'role', grp, kind"
    ).fetchall()
    return [AllowanceKind(level=lv, group=g, kind=k, staff=s) for lv, g, k, s in rows]


# Each employee's peer group in the window (their latest), for sections kept per employee.
_GROUPS = """SELECT employee_id, arg_max(peer_group, day) AS peer_group FROM employee_days
  WHERE day >= $b0 AND day <= $day GROUP BY ALL"""

# Accesses the explanations $why explained per peer group in the window, the day included.
_EXPLAINED = """SELECT d.peer_group, count(*) AS n FROM access_explained x
  JOIN employee_days d USING (employee_id, day)
  WHERE x.day >= $b0 AND x.day <= $day AND list_contains($why, x.explanation) GROUP BY ALL"""


def _books(store: Store, cfg: DetectionConfig, step: dict) -> list[BookSize]:
    if not cfg.book.enabled or not store.has_table("book_days"):
        return []
    sql = f"""
WITH book AS ({BOOK_HISTORY_SQL}),
per AS (
  SELECT employee_id, count(DISTINCT customer_id) AS customers,
         count(DISTINCT day) AS days FROM book GROUP BY ALL
)
SELECT g.peer_group, count(*), sum(p.customers), median(p.customers), max(p.customers),
       sum(p.days), any_value(coalesce(x.n, 0))
FROM per p JOIN ({_GROUPS}) g USING (employee_id)
LEFT JOIN ({_EXPLAINED}) x USING (peer_group)
WHERE g.peer_group IS NOT NULL
GROUP BY g.peer_group ORDER BY g.peer_group"""
    rows = execute(store.con, sql, {**step, "why": [BOOK_REASON]}).fetchall()
    return [BookSize(group=g, staff=s, customers=c, median_customers=m, max_customers=mx,
                     employee_days=d, explained=x)
            for g, s, c, m, mx, d, x in rows]  # fmt: skip


def _relationship_books(
    store: Store, cfg: DetectionConfig, step: dict, key: HashKey | None
) -> tuple[list[RelationshipDesk], list[RelationshipBookOf]]:
    """The desks and their keepers' books, learned as the step learned them (into temp
    tables of calibrate's own: the engine's day keeps its daily tables for later steps)."""
    needed = ("revisit_days", "book_days", "routine_flows", "findings")
    if not cfg.book.relationship.enabled or not all(store.has_table(t) for t in needed):
        return [], []
    try:
        learn_public_figures(store.con, cfg, step, into="calibrate_public_figures")
        learn_group_books(store.con, cfg, step, into="calibrate_group_book",
                          figures="calibrate_public_figures")  # fmt: skip
        per = store.con.execute(
            """SELECT peer_group, employee_id, count(*) FILTER (WHERE NOT shared),
                      count(*) FILTER (WHERE shared)
               FROM calibrate_group_book GROUP BY ALL ORDER BY ALL"""
        ).fetchall()
        sql = f"""
SELECT b.peer_group, count(DISTINCT b.employee_id), count(*) FILTER (WHERE NOT b.shared),
       count(DISTINCT b.customer_id) FILTER (WHERE b.shared), any_value(coalesce(x.n, 0))
FROM calibrate_group_book b LEFT JOIN ({_EXPLAINED}) x USING (peer_group)
GROUP BY b.peer_group ORDER BY b.peer_group"""
        desks = execute(store.con, sql, {**step, "why": list(GROUP_BOOK_EXPLANATIONS)}).fetchall()
    finally:  # a failed query leaves no calibrate table behind
        store.con.execute(
            "DROP TABLE IF EXISTS calibrate_group_book; DROP TABLE IF EXISTS calibrate_public_figures"
        )
    keepers = [RelationshipBookOf(group=g, employee=pseudonym(key, e), own_clients=o,
                                  shared_clients=sh)
               for g, e, o, sh in per] if key else []  # fmt: skip
    return [RelationshipDesk(group=g, keepers=k, own_clients=o, shared_clients=sh, explained=x)
            for g, k, o, sh, x in desks], keepers  # fmt: skip


def _off_hours(store: Store, cfg: DetectionConfig, step: dict) -> list[OffHours]:
    """Per share used by an active ``off_hours`` rule, each judged group's hours."""
    if not store.has_table("routine_days"):
        return []
    shares = sorted({float(r.off_hours) for r in load_rules(cfg.rule_paths)
                     if r.off_hours is not None and r.id not in cfg.disabled})  # fmt: skip
    found: list[OffHours] = []
    for share in shares:
        sql = f"""SELECT peer_group, any_value(staff), any_value(group_days),
                         list(hour ORDER BY hour) FILTER (WHERE NOT off),
                         list(hour ORDER BY hour) FILTER (WHERE off)
                  FROM ({group_hours_sql(share)}) GROUP BY ALL ORDER BY ALL"""
        for g, s, d, on, off in execute(store.con, sql, step).fetchall():
            found.append(OffHours(share=share, group=g, staff=s, working_days=d,
                                  hours=on or [], off_hours=off or []))  # fmt: skip
    return found


def _revisits(
    store: Store, cfg: DetectionConfig, step: dict
) -> tuple[list[RevisitRate], RevisitRate | None]:
    if Fixation.id in cfg.disabled or not store.has_table("revisit_days"):
        return [], None
    fix = cfg.detector_config(Fixation)
    sql = f"""
WITH staff AS ({window_looks_sql(fix.window_days)}),
pairs AS ({window_returns_sql(fix.window_days, fix.min_days)}),
per AS (
  SELECT s.peer_group, s.looks, (SELECT count(*) FROM pairs p WHERE p.employee_id = s.employee_id)
         AS returns
  FROM staff s
)
SELECT peer_group, count(*), sum(looks), sum(returns) FROM per
WHERE peer_group IS NOT NULL GROUP BY ALL
UNION ALL  -- the company's, last (the prior; staff outside a book group use it without those groups)
SELECT NULL, count(*), sum(looks), sum(returns) FROM per HAVING count(*) > 0
ORDER BY peer_group NULLS LAST"""
    rows = [RevisitRate(group=g or "", staff=s, lookups=n, returns=r, rate=r / n if n else 0.0)
            for g, s, n, r in execute(store.con, sql, step).fetchall()]  # fmt: skip
    return (rows[:-1], rows[-1]) if rows else ([], None)


def _handover(store: Store, cfg: DetectionConfig, step: dict) -> list[HandoverPlaces]:
    if not (cfg.book.enabled and cfg.routine.enabled) or not store.has_table("routine_flows"):
        return []
    sql = f"""
WITH places AS ({places_sql(cfg)}),
leavers AS (
  SELECT g.peer_group, count(*) AS n FROM employees e JOIN ({_GROUPS}) g USING (employee_id)
  WHERE e.departs_on >= $day AND e.departs_on <= $day + to_days($handover_days)
  GROUP BY ALL
)
SELECT p.peer_group, list(DISTINCT p.destination ORDER BY p.destination),
       any_value(coalesce(l.n, 0)), any_value(coalesce(x.n, 0))
FROM places p LEFT JOIN leavers l USING (peer_group) LEFT JOIN ({_EXPLAINED}) x USING (peer_group)
WHERE NOT starts_with(p.peer_group, 'self:')  -- a machine account never leaves
GROUP BY p.peer_group ORDER BY p.peer_group"""
    params = {**step, "why": [HANDOVER], "handover_days": cfg.book.handover_days}
    rows = execute(store.con, sql, params).fetchall()
    return [HandoverPlaces(group=g, destinations=d, leavers=n, handed_over=x)
            for g, d, n, x in rows]  # fmt: skip


def _public_figures(store: Store, cfg: DetectionConfig, step: dict) -> PublicFigures | None:
    if not all(store.has_table(t) for t in ("revisit_days", "book_days", "routine_flows")):
        return None
    # Its own table: the engine's day keeps daily_public_figures for its later steps.
    try:
        learn_public_figures(store.con, cfg, step, into="calibrate_public_figures")
        row = store.con.execute(
            """SELECT count(staff), count(*) FILTER (WHERE flagged),
                      count(*) FILTER (WHERE staff IS NOT NULL AND flagged),
                      max(bar), max(staff), max(groups), max(days)
               FROM calibrate_public_figures"""
        ).fetchall()[0]
    finally:
        store.con.execute("DROP TABLE IF EXISTS calibrate_public_figures")
    learned, flagged, both, bar, staff, groups, days = row
    return PublicFigures(learned=learned, flagged=flagged, both=both, bar=bar,
                         max_staff=staff, max_groups=groups, max_days=days)  # fmt: skip


def step_of(cfg: DetectionConfig, day: dt.date) -> dict:
    """The parameters of ``day``'s step the learning queries read."""
    return {
        "day": day,
        "b0": day - dt.timedelta(days=cfg.baseline_days),
        "targeted": cfg.targeted_max_customers,
    }
