"""Calibration: what detection learned as routine, what it would have alerted on per day,
and the reviewed policy file an administrator edits and commits (policy as code).

The routine in force at the latest step (``routine_flows``) becomes a YAML file of flows;
configured as ``[routine] policy_file``, its flows are the routine from then on, so a flow
the reviewer deletes explains nothing and one they add explains its events.
"""

from __future__ import annotations

import datetime as dt

import msgspec
import yaml

from insiderwatch.detect.allowance import decides, learn_allowances
from insiderwatch.detect.base import execute
from insiderwatch.detect.casework import TEAM_SELLERS_SQL, casework_params
from insiderwatch.detect.config import DetectionConfig, ReviewedFlow
from insiderwatch.detect.learned import Learned, learned, step_of
from insiderwatch.detect.reasons import LOGIN, describe
from insiderwatch.detect.similar import learn_similar
from insiderwatch.privacy.hashing import HashKey
from insiderwatch.privacy.pseudonyms import pseudonym
from insiderwatch.store.duckdb_store import Store

MACHINE = "self:"  # the routine group of a machine account: 'self:<employee_id>'
WITHHELD = "(id withheld)"  # a machine account shown without the deployment key

POLICY_HEADER = """\
# insiderwatch routine policy, written by `insiderwatch calibrate` from the routine it
# learned on {day}. Review it like code: each flow explains the accesses of a peer group
# (role:team family; 'self:<id>' is a machine account's own routine) in one app, with one
# action and destination, up to max_records records per access, in the listed UTC hours,
# showing only the listed fields, and together only a listed field set (or part of one).
# A machine account's group names it by its employee id, in clear, because detection
# matches the account's events by that id; everywhere else (calibrate's tables, this
# file's evidence and comments) it appears as its keyed pseudonym, 'self:anon-...'.
# Delete a flow that is not legitimate work, tighten max_records, then commit the file and
# name it in the detection settings:
#
#   [routine]
#   policy_file = "routine-policy.yaml"
#
# With it configured nothing is learned any more: only these flows are routine.
# The comments after the flows list what else was learned (look-up allowances and the
# kinds they cover, investigating groups' case scope): facts to review, not settings.
"""


class LearnedFlow(ReviewedFlow, kw_only=True, frozen=True):
    """A routine flow with its evidence counts (NULL for reviewed flows)."""

    machine: bool
    doers: int | None = None
    staff: int | None = None
    employee_days: int | None = None
    events: int | None = None
    median_records: float | None = None


class DayAlerts(msgspec.Struct, kw_only=True, frozen=True):
    day: dt.date
    alerts: int
    critical: int
    high: int
    medium: int
    low: int


class TeamPortfolio(msgspec.Struct, kw_only=True, frozen=True):
    """A team's learned portfolio: the sellers whose buyers its cases are about."""

    team: str
    sellers: list[str]


class GroupAllowance(msgspec.Struct, kw_only=True, frozen=True):
    """A learned look-up allowance (see detect/allowance.py): how many case-less look-ups
    (customers shown) each of the group's staff may make over the window. ``level`` is
    ``peer`` (peer group) or ``role`` (the role across teams, for staff whose peer group
    is too small to learn from). ``pace``: the look-ups per access of work an employee may
    make instead, when their work allows more (None: too few of the group work).
    ``line_min``/``line_max``: the range over the group's staff of their leave-one-out
    chance line (what their colleagues' usual total and its spread allow by chance; each
    may spend the larger of it and ``allowance``), None where none was learned."""

    level: str
    group: str
    doers: int
    staff: int
    allowance: int
    pace: float | None = None
    line_min: int | None = None
    line_max: int | None = None


class BorrowedAllowance(msgspec.Struct, kw_only=True, frozen=True):
    """Staff of ``group`` (whose peer group and role are too small to learn from) who
    borrow the allowance of ``similar_to``, the peer group whose work theirs resembles."""

    group: str
    similar_to: str
    staff: int
    min_similarity: float  # the lowest cosine among them
    allowance: int


class Resemblance(msgspec.Struct, kw_only=True, frozen=True):
    """Staff of ``group`` (too small to learn from) whose work resembles most that of
    ``similar_to`` (among the groups considered; see detect/similar.py)."""

    group: str
    similar_to: str
    staff: int
    min_similarity: float


class ReasonUse(msgspec.Struct, kw_only=True, frozen=True):
    """A reason that explained access in the baseline window up to the step shown, with
    what it means (:mod:`~insiderwatch.detect.reasons`; ``(no description)`` for one this
    version does not know) and how many accesses it explained."""

    name: str
    meaning: str
    accesses: int


class Calibration(msgspec.Struct, kw_only=True, frozen=True):
    day: dt.date | None  # the step whose routine is shown
    flows: list[LearnedFlow]
    alerts_per_day: list[DayAlerts]
    # Learned casework in force on ``day`` (see detect/casework.py): peer groups that
    # investigate (their case ids explain every customer looked at under them) and
    # team portfolios. Empty when no detection with a DetectionConfig produced them.
    investigating: list[str] = []
    investigating_similar: list[Resemblance] = []  # among investigating groups
    # Every group too small to learn from, with the group its staff's work resembles most:
    # its routine (but for sending data out), allowance and casework apply to them.
    resemblances: list[Resemblance] = []
    portfolios: list[TeamPortfolio] = []
    allowances: list[GroupAllowance] = []
    borrowed: list[BorrowedAllowance] = []
    # The rest of what the step learned (case scope, allowance kinds, books, off hours,
    # revisit rates, handover places; see detect/learned.py).
    learned: Learned = Learned()
    reasons: list[ReasonUse] = []  # most used first


def calibration(
    store: Store, cfg: DetectionConfig | None = None, key: HashKey | None = None
) -> Calibration:
    """The routine of the latest detection step, the casework learned for it (with
    ``cfg``) and the alerts opened per day; ``key`` (the deployment's) shows machine
    accounts and lists each keeper's relationship book under their pseudonym (without it
    a machine account's id is withheld and no keeper is listed)."""
    if not store.has_table("routine_flows"):
        return Calibration(day=None, flows=[], alerts_per_day=[])
    day = store.scalar("SELECT max(day) FROM routine_flows")
    flows = [shown_flow(f, key) for f in _flows(store, day)]
    per_day = store.con.execute(
        """SELECT detected_at::DATE AS day, count(*) AS alerts,
                  count(*) FILTER (WHERE severity = 'critical') AS critical,
                  count(*) FILTER (WHERE severity = 'high') AS high,
                  count(*) FILTER (WHERE severity = 'medium') AS medium,
                  count(*) FILTER (WHERE severity = 'low') AS low
           FROM alerts GROUP BY ALL ORDER BY day"""
    ).fetchall()
    days = [DayAlerts(day=r[0], alerts=r[1], critical=r[2], high=r[3], medium=r[4], low=r[5])
            for r in per_day]  # fmt: skip
    if not (cfg and day):
        return Calibration(day=day, flows=flows, alerts_per_day=days)
    params = casework_params(store.con, cfg, step_of(cfg, day)) if store.has_table(
        "casework_days") else None  # fmt: skip
    investigating, portfolios = _casework(store, cfg, day, params)
    similar = _resemblances(store, investigating)
    resemblances = _resemblances(store)
    allowances, borrowed = _allowances(store, cfg, day)
    return Calibration(
        day=day,
        flows=flows,
        alerts_per_day=days,
        investigating=investigating,
        investigating_similar=similar,
        resemblances=resemblances,
        portfolios=portfolios,
        allowances=allowances,
        borrowed=borrowed,
        learned=learned(store, cfg, step_of(cfg, day), params, key),
        reasons=_reasons(store, step_of(cfg, day)),
    )


def _reasons(store: Store, step: dict) -> list[ReasonUse]:
    """The reasons that explained access (sign-ins aside) from the window's first day to
    the step's, most used first."""
    if not store.has_table("access_explained"):
        return []
    rows = execute(
        store.con,
        """SELECT explanation, count(*) AS n FROM access_explained
           WHERE day BETWEEN $b0 AND $day AND explanation IS NOT NULL AND explanation <> $login
           GROUP BY ALL ORDER BY n DESC, explanation""",
        {**step, "login": LOGIN},
    ).fetchall()
    return [ReasonUse(name=r, meaning=describe(r), accesses=n) for r, n in rows]


def _flows(store: Store, day: dt.date | None) -> list[LearnedFlow]:
    """The routine flows in force on ``day`` as the engine keeps them (a machine account's
    group holds its employee id: what a policy file needs, never what is shown)."""
    cur = store.con.execute(
        """SELECT grp AS "group", app, action, destination, max_records, hours, fields,
                  field_sets, evidence, machine, doers, staff, employee_days, events,
                  median_breadth AS median_records
           FROM routine_flows WHERE day = ?
           ORDER BY machine, grp, app, action, destination""",
        [day],
    )
    names = [d[0] for d in cur.description]
    return [LearnedFlow(**dict(zip(names, row, strict=True))) for row in cur.fetchall()]


def shown_group(group: str, key: HashKey | None) -> str:
    """A routine group as calibrate shows it: a machine account's (``self:<employee_id>``)
    under its keyed pseudonym, like any staff member, or withheld without the key."""
    if not group.startswith(MACHINE):
        return group
    account = group.removeprefix(MACHINE)
    return MACHINE + (pseudonym(key, account) if key is not None else WITHHELD)


def shown_flow(flow: LearnedFlow, key: HashKey | None) -> LearnedFlow:
    """``flow`` with its group, and the group in its evidence, as :func:`shown_group`."""
    shown = shown_group(flow.group, key)
    if shown == flow.group:
        return flow
    return msgspec.structs.replace(
        flow, group=shown, evidence=flow.evidence.replace(flow.group, shown)
    )


def _allowances(
    store: Store, cfg: DetectionConfig, day: dt.date
) -> tuple[list[GroupAllowance], list[BorrowedAllowance]]:
    """The look-up allowances the engine learned for ``day``'s step, from its own queries."""
    if not cfg.allowance.enabled or not store.has_table("allowance_days"):
        return [], []
    step = step_of(cfg, day)
    learn_similar(store.con, cfg, step)
    learn_allowances(store.con, cfg, step)
    rows = store.con.execute(
        """SELECT a.level, a.grp, a.doers, a.staff, a.allowance, CASE WHEN ? THEN a.pace END,
                  l.lo, l.hi
           FROM step_allowance a
           LEFT JOIN (SELECT level, grp, min(line) AS lo, max(line) AS hi
                      FROM step_allowance_line WHERE who <> '' GROUP BY ALL) l
             USING (level, grp)
           WHERE a.allowance IS NOT NULL ORDER BY a.level = 'role', a.grp""",
        [cfg.allowance.per_work],
    ).fetchall()
    groups = [GroupAllowance(level=lv, group=g, doers=d, staff=s, allowance=a, pace=p,
                             line_min=lo, line_max=hi)
              for lv, g, d, s, a, p, lo, hi in rows]  # fmt: skip
    rows = execute(
        store.con,
        f"""SELECT peer_group, grp, count(*), min(cosine), any_value(allowance) FROM (
             SELECT m.employee_id, m.peer_group, arg_max(m.grp, (m.cosine, m.grp)) AS grp,
                    max(m.cosine) AS cosine, arg_max(a.allowance, (m.cosine, m.grp)) AS allowance
             FROM step_similar m JOIN step_allowance a ON a.level = 'peer' AND a.grp = m.grp
             JOIN employees e USING (employee_id)
             LEFT JOIN step_allowance p ON p.level = 'peer' AND p.grp = m.peer_group
             LEFT JOIN step_allowance r ON r.level = 'role' AND r.grp = e.role
             WHERE a.allowance IS NOT NULL  -- neither their group nor their role decides
               AND NOT coalesce({decides("p")}, FALSE) AND NOT coalesce({decides("r")}, FALSE)
             GROUP BY ALL
           ) GROUP BY ALL ORDER BY ALL""",
        {"min_employees": cfg.routine.min_employees, "min_share": cfg.routine.min_share},
    ).fetchall()
    borrowed = [BorrowedAllowance(group=g, similar_to=to, staff=n, min_similarity=c, allowance=a)
                for g, to, n, c, a in rows]  # fmt: skip
    return groups, borrowed


def _resemblances(store: Store, groups: list[str] | None = None) -> list[Resemblance]:
    """Whom the staff of small groups resemble most (among ``groups`` when given), on the
    step ``_casework`` just learned for."""
    rows = store.con.execute(
        """SELECT peer_group, grp, count(*), min(cosine) FROM (
             SELECT employee_id, peer_group, arg_max(grp, (cosine, grp)) AS grp,
                    max(cosine) AS cosine
             FROM step_similar WHERE ? IS NULL OR list_contains(?, grp) GROUP BY ALL
           ) GROUP BY ALL ORDER BY ALL""",
        [groups, groups],
    ).fetchall()
    return [Resemblance(group=g, similar_to=to, staff=n, min_similarity=c)
            for g, to, n, c in rows]  # fmt: skip


def _casework(
    store: Store, cfg: DetectionConfig, day: dt.date, params: dict | None
) -> tuple[list[str], list[TeamPortfolio]]:
    """The casework the engine learned for ``day``'s step (``params``: its
    ``casework_params``), from the same queries (so what is shown is what explained access
    that day)."""
    if params is None:
        return [], []
    x = cfg.explanation
    investigating = sorted(params["investigating"])
    rows = execute(
        store.con,
        TEAM_SELLERS_SQL,
        {
            "s": dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC),
            "hist": x.portfolio_history_days,
            "minc": x.portfolio_min_cases,
            "lift": x.portfolio_lift,
            "portfolio_roles": list(x.portfolio_roles),
        },
    ).fetchall()
    teams: dict[str, list[str]] = {}
    for team, seller in sorted(rows):
        teams.setdefault(team, []).append(seller)
    return investigating, [TeamPortfolio(team=t, sellers=s) for t, s in teams.items()]


def policy_yaml(cal: Calibration, store: Store, key: HashKey | None = None) -> str:
    """The routine as a reviewed policy file (see :data:`POLICY_HEADER`) from ``store``,
    the one ``cal`` was made from: a machine account's flow names it by its employee id,
    which is what detection matches, and nowhere else (its evidence shows it as
    :func:`shown_group`, with ``key``)."""
    keys = ReviewedFlow.__struct_fields__
    # A learned flow none of whose field sets is usual explains nothing; written with no
    # sets it would read as a reviewed flow from before sets existed, which accepts any
    # combination of its fields. So it is left out, and said so.
    flows = [
        {k: getattr(f, k) for k in keys} | {"evidence": shown_flow(f, key).evidence}
        for f in (_flows(store, cal.day) if cal.day else [])
        if f.field_sets
    ]
    body = yaml.safe_dump(
        {"flows": flows}, sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
    )
    head = POLICY_HEADER.format(day=cal.day or "no day yet")
    unset = [f"{f.group}: {f.app} {f.action}" for f in cal.flows if not f.field_sets]
    left_out = (
        [f"# left out, no usual field set (they explain nothing): {', '.join(unset)}"]
        if unset
        else []
    )
    return head + "\n" + body + "".join(f"{line}\n" for line in [*left_out, *_facts(cal)])


def _facts(cal: Calibration) -> list[str]:
    """What else was learned, as comments to review with the flows: facts, not settings
    (the engine learns them again each step; editing them here changes nothing)."""
    lines: list[str] = []
    kinds: dict[tuple[str, str], list[str]] = {}
    for k in cal.learned.allowance_kinds:
        kinds.setdefault((k.level, k.group), []).append(f"{k.kind} ({k.staff} staff)")
    if cal.allowances or cal.borrowed:
        lines += ["", "# Case-less look-ups allowed per employee over the baseline window "
                  "(learned, detect/allowance.py):"]  # fmt: skip
        for a in cal.allowances:
            lines.append(f"#   {a.level} {a.group}: {a.allowance} ({a.doers} of {a.staff} "
                         "staff look customers up without a case)")  # fmt: skip
            if a.line_min is not None:
                span = (f"{a.line_min}" if a.line_min == a.line_max
                        else f"{a.line_min}-{a.line_max}")  # fmt: skip
                lines.append(f"#     chance line per employee (from colleagues' totals, "
                             f"leave-one-out): {span}")  # fmt: skip
            lines += [f"#     covers {kind}" for kind in kinds.get((a.level, a.group), [])]
        for b in cal.borrowed:
            lines.append(f"#   similar {b.group}: {b.allowance}, as {b.similar_to} "
                         f"({b.staff} staff, cosine >= {b.min_similarity:.2f})")  # fmt: skip
    if cal.learned.desks:
        lines += ["", "# Relationship desks: staff who come back to their own clients with no "
                  "case (learned, detect/groupbook.py):"]  # fmt: skip
        for d in cal.learned.desks:
            lines.append(f"#   {d.group}: {d.keepers} keepers, {d.own_clients} own clients, "
                         f"{d.shared_clients} shared clients of the desk")  # fmt: skip
        lines += [f"#     {b.employee}: {b.own_clients} own, {b.shared_clients} shared"
                  for b in cal.learned.relationship_books]  # fmt: skip
    if cal.learned.case_scope:
        lines += ["", "# How far an investigating group's own case reaches (learned, "
                  "detect/casescope.py):"]  # fmt: skip
        for c in cal.learned.case_scope:
            sets = "; ".join(c.field_sets) or "none"
            pool = "the investigating groups' " if c.pooled else ""
            lines.append(f"#   {c.group}: at most {c.breadth} unsearched customers per case "
                         f"and day; field sets of other customers: {sets} (from "
                         f"{pool}{c.case_days} case-days of {c.staff} staff)")  # fmt: skip
    return lines
