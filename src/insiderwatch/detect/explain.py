"""Explanation of access: which business reason, if any, makes each access legitimate.

Everything else in detection works on what is left unexplained, so this runs first in
every step. An access (one event, one customer shown) is explained, in this order, by:

``own_case``       an open case of that customer assigned to the employee (with slack);
``callback``       such a case closed within the callback window;
``team_case``      a case of that customer assigned to someone the employee manages;
``case_linked``    the case id the tool captured is the employee's open case about that
                   customer, or any open case of theirs in an investigating group, within
                   the case scope learned from the group's peers (breadth and fields,
                   see :mod:`~insiderwatch.detect.casescope`);
``portfolio``      the customer bought from a seller in the employee's team's portfolio;
``case_search``    an investigating group's view of a customer the employee's own
                   explained search returned shortly before (both ``:similar`` for
                   staff of a group too small to learn from who work like an
                   investigating group, see :mod:`~insiderwatch.detect.similar`);
``policy:ROLE`` / ``policy:ROLE@APP``   a role policy configured by the company;
``routine``        a flow most of the employee's peer group does regularly (learned, see
                   :mod:`~insiderwatch.detect.routine`; ``routine:similar`` for staff
                   of a group too small to learn one, from a group they resemble);
``book``           a case-less look-up of customers the employee served under a case on
                   an earlier day (learned, see :mod:`~insiderwatch.detect.book`);
``book:relationship``  a case-less look-up of a customer the employee keeps coming back
                   to, in a peer group most of whose staff keep such a book of their own
                   (learned, see :mod:`~insiderwatch.detect.groupbook`);
``book:desk``      the same, of a client the employee's desk shares (several of the
                   group come back to them, nobody outside it) rather than their own;
``handover``       a leaver's export of their own book to where their peer group
                   (or another group of their role) routinely sends its work (see
                   :mod:`~insiderwatch.detect.handover`);
``allowance``      a case-less look-up within the few most of the peer group make over
                   the baseline window (learned, see :mod:`~insiderwatch.detect.allowance`);
                   ``allowance:role`` / ``allowance:similar`` when a group too small to
                   learn one took its role's or a similar group's, ``allowance:kind``
                   when staff with no work in the window yet took that of the group
                   making the look-up's kind;
``followup``       a targeted access that opens again, with no more fields, customers
                   an access explained above showed the same employee earlier that day
                   (see :mod:`~insiderwatch.detect.followup`).

Investigating groups and team portfolios are learned from earlier days' case work
(:mod:`~insiderwatch.detect.casework`), never from role names.

A search is explained when any customer it returned is (it found the case's customer);
another event when all its customers are. A team's portfolio, which explains a population
rather than a person, explains a search only with at most ``targeted_max_customers``
customers beside its buyers. Logins are not data access: ``login``.
"""

from __future__ import annotations

from insiderwatch.detect.allowance import explain_by_allowance
from insiderwatch.detect.base import execute, matches_any, sql_list, sql_str
from insiderwatch.detect.book import explain_by_book
from insiderwatch.detect.casescope import limit_case_scope
from insiderwatch.detect.casework import PORTFOLIO, TOUCH_REASONS, explain_drilldown
from insiderwatch.detect.config import DetectionConfig
from insiderwatch.detect.followup import explain_followups
from insiderwatch.detect.groupbook import explain_by_group_book
from insiderwatch.detect.handover import explain_handover
from insiderwatch.detect.reasons import (
    CALLBACK,
    CASE_LINKED,
    CASE_LINKED_SIMILAR,
    LOGIN,
    OWN_CASE,
    POLICY,
    TEAM_CASE,
)
from insiderwatch.detect.reasons import PORTFOLIO as PORTFOLIO_REASON
from insiderwatch.detect.routine import OUTBOUND, explain_by_routine

# A touch's weight for the sensitivity of what was exposed; contact details together
# (email and phone: what sellers and spammers buy) weigh more than their parts.
FIELD_WEIGHTS = {"name": 0.5, "email": 1.5, "phone": 1.5, "address": 1.0, "payment": 3.0,
                 "orders": 0.5, "notes": 0.5}  # fmt: skip
CONTACT_BONUS = 1.0
# Contact details or an address: a finding that exposed them weighs more where a detector
# says so (``sensitive_weight``: fixation's returns, case_mismatch's field sets).
SENSITIVE_FIELDS = ("email", "phone", "address")


def team_family_sql(team: str) -> str:
    """SQL: the family of the team in column ``team`` ("fraud-6" and "fraud-10" are one,
    "fraud"): its name without a trailing number."""
    return f"regexp_replace(coalesce({team}, ''), '[-_ ]*[0-9]+$', '')"


# Peers: same role in the same family of teams, over the employees table aliased ``e``
# (the console lists and filters by the same groups).
PEER_GROUP = f"e.role || ':' || {team_family_sql('e.team')}"


# Rows a search returned beyond the customers it listed (warehouse queries list none):
# each such search adds a little, growing with the log of the extra rows. Shared by the
# sensitivity detector's running sum and the daily figure its baselines are built from.
UNLISTED_ROWS_WEIGHT = "ln(1 + record_count - len(customer_ids))"
UNEXPLAINED_WIDE_SEARCH = (
    "in_step AND NOT explained AND action = 'search' AND record_count > len(customer_ids)"
)


def weight_expr(fields: str = "fields") -> str:
    parts = " + ".join(
        f"(CASE WHEN list_contains({fields}, '{f}') THEN {w} ELSE 0 END)"
        for f, w in FIELD_WEIGHTS.items()
    )
    both = f"list_contains({fields}, 'email') AND list_contains({fields}, 'phone')"
    return f"({parts} + CASE WHEN {both} THEN {CONTACT_BONUS} ELSE 0 END)"


def lookback_readers(source: str) -> str:
    """Query of the employees whose step rows include the lookback (see
    :func:`build_step`): those of investigating groups, by the day's learned lists, and
    those with outbound data among ``source``'s events of the step."""
    return f"""SELECT e.employee_id FROM employees e
    WHERE list_contains($investigating::VARCHAR[], {PEER_GROUP})
       OR list_contains($investigating_staff::VARCHAR[], e.employee_id)
    UNION ALL
    SELECT employee_id FROM {source} WHERE time >= $s AND time < $e AND action IN {OUTBOUND}"""


def build_step(
    con,
    cfg: DetectionConfig,
    step: dict,
    source: str = "access",
    *,
    known_until=None,
    ordered: bool = False,
) -> None:
    """Create temp tables ``step_events`` and ``step_touch`` for events of ``source`` in
    [lookback_start ``$ls``, end ``$e``); rows at or after ``$s`` are this step's
    (``in_step``). ``step`` holds the step's parameters (``StepContext.params``) and what
    the step's day learned from earlier days (:func:`~insiderwatch.detect.daily.learn_day`).

    The lookback (rows before ``$s``) is kept only for the employees whose step reads
    it: those with outbound data in the step (what they looked up before sending it) and
    those of investigating groups (their views follow their earlier searches). Nothing
    else reads it, and every explanation depends on the employee's own events only, so
    the others' lookback would be half of every step's work for nothing.

    Cases are read as known at ``end``: case rows opened later do not exist yet, and a
    close time after ``end`` is not known yet (the case is still open).

    ``known_until``: the end of an earlier step of the same day whose explanations
    ``step_explained`` holds. An explanation uses only the cases known at the step's end
    and what earlier days taught, so those stay final (``fresh`` is false) except where
    this step can know more: rows no earlier step saw; an employee's rows from the first
    of the day's events no earlier step saw (new, or late); and from
    ``slack_before_minutes`` before a case of theirs, or of someone they manage, that
    opened since. Only ``fresh`` rows are explained.

    The rows are sorted by time, then id (the detectors' evidence lists and sums follow
    their order); ``ordered``: ``source`` is a table in that order already (a run's
    sorted copy of its events), which the rows keep.
    """
    x = cfg.explanation
    params = {
        **step,
        "before": x.slack_before_minutes,
        "after": x.slack_after_minutes,
        "cb": x.callback_hours,
        "sup": x.supervisor_after_hours,
        "until": known_until,
    }
    policy_apps = [f"{role}@{app}" for role, apps in x.policy_apps.items() for app in apps]
    execute(
        con,
        """
CREATE OR REPLACE TEMP TABLE step_cases AS
SELECT case_id, customer_id, employee_id, opened_at,
       CASE WHEN closed_at <= $e THEN closed_at END AS closed_at
FROM cases
WHERE opened_at < $e
  AND (closed_at IS NULL OR closed_at >= $ls - to_hours($cb + $sup))
""",
        params,
    )
    execute(
        con,
        f"""
CREATE OR REPLACE TEMP TABLE step_events AS
SELECT *, policy AS explanation, policy IS NOT NULL AS explained, TRUE AS fresh FROM (
SELECT a.event_id, a.time, a.employee_id, a.action, a.customer_ids, a.fields,
       coalesce(a.record_count, len(a.customer_ids)) AS record_count, a.app, a.case_id,
       a.src_ip, a.device_id, a.destination,
       e.role, e.team, e.surname, e.home_postcode, e.departs_on,
       {PEER_GROUP} AS peer_group,
       a.time >= $s AS in_step,
       CASE WHEN a.action = 'login' THEN {sql_str(LOGIN)}
            WHEN list_contains({sql_list(x.policy_roles)}, e.role) THEN {sql_str(POLICY)} || e.role
            WHEN list_contains({sql_list(policy_apps)}, e.role || '@' || a.app)
                 THEN {sql_str(POLICY)} || e.role || '@' || a.app
       END AS policy
FROM {source} a JOIN employees e USING (employee_id)
WHERE a.time >= $ls AND a.time < $e
  AND (a.time >= $s OR a.employee_id IN ({lookback_readers(source)}))
){"" if ordered else " ORDER BY time, event_id"}
""",
        params,
    )
    if known_until is not None:
        execute(con, _KEEP_SQL, params)
    # Case reasons only for fresh touches; a kept touch takes its stored reason
    # (_KEPT_TOUCH) and its event's kept explanation as it is made, instead of an update
    # of the table after it. A fresh row carries what its event has so far: nothing, or a
    # reviewed policy's reason (explained already); nothing reads the touches' explanations
    # before the final copy from the events rewrites those that changed.
    kept = known_until is not None
    execute(
        con,
        f"""
CREATE OR REPLACE TEMP TABLE step_touch AS
-- A touch's weight depends on its event alone (its fields and breadth), so it is reckoned
-- once per event, before the customers are unnested; what a broad access exposes of one
-- customer weighs 1/breadth (beyond a targeted look-up).
WITH touch AS (
  SELECT event_id, time, employee_id, role, team, peer_group, action, case_id, fields, in_step,
         record_count, destination, app, src_ip, device_id, breadth,
         unnest(customer_ids) AS customer_id, fresh, weight,
         explanation AS kept_explanation, explained AS kept_explained
  FROM (
    SELECT *, len(customer_ids) AS breadth,
           {weight_expr("fields")} * least(1.0, $targeted / greatest(len(customer_ids), 1))
             AS weight
    FROM step_events WHERE policy IS NULL
  )
),
-- The fresh touches unnested again from the events, with only the columns the joins below
-- read: a `SELECT *` of `touch` made it a CTE read twice, which DuckDB materializes (the
-- whole width, fields lists included, written once more before the table itself).
fresh AS (
  SELECT event_id, time, employee_id, role, team, peer_group, case_id,
         unnest(customer_ids) AS customer_id
  FROM step_events WHERE policy IS NULL AND fresh
),
own AS (
  SELECT t.event_id, t.customer_id,
         bool_or(t.time BETWEEN c.opened_at - to_minutes($before)
                 AND coalesce(c.closed_at, TIMESTAMPTZ 'infinity') + to_minutes($after)) AS own_case,
         bool_or(t.time > c.closed_at AND t.time <= c.closed_at + to_hours($cb)) AS callback
  FROM fresh t JOIN step_cases c USING (customer_id, employee_id)
  GROUP BY ALL
),
managed AS (
  SELECT DISTINCT t.event_id, t.customer_id
  FROM fresh t
  JOIN step_cases c ON c.customer_id = t.customer_id
  JOIN employees m ON m.employee_id = c.employee_id AND m.manager_id = t.employee_id
  WHERE t.time BETWEEN c.opened_at - to_minutes($before)
                   AND coalesce(c.closed_at, TIMESTAMPTZ 'infinity') + to_hours($sup)
),
linked AS (  -- similar: only as staff working like an investigating group (similar.py)
  SELECT t.event_id, t.customer_id,
         NOT bool_or(c.customer_id = t.customer_id
                     OR list_contains($investigating::VARCHAR[], t.peer_group)
                     OR {matches_any(x.investigation_roles, "t.role", "t.team")}) AS similar
  FROM fresh t JOIN step_cases c ON c.case_id = t.case_id AND c.employee_id = t.employee_id
  WHERE t.time BETWEEN c.opened_at - to_minutes($before)
                   AND coalesce(c.closed_at, TIMESTAMPTZ 'infinity') + to_minutes($after)
    AND (c.customer_id = t.customer_id OR list_contains($investigating::VARCHAR[], t.peer_group)
         OR list_contains($investigating_staff::VARCHAR[], t.employee_id)
         OR {matches_any(x.investigation_roles, "t.role", "t.team")})
  GROUP BY ALL
),
portfolio AS (  -- a buyer of a seller in the team's portfolio, learned from its past cases;
  -- through the first purchase per team (learned for the day, casework.PORTFOLIO): a
  -- touch joined to every order of its customer made hundreds of thousands of rows a step
  SELECT DISTINCT t.event_id, t.customer_id
  FROM fresh t JOIN {PORTFOLIO} b ON b.customer_id = t.customer_id AND b.team = t.team
  WHERE b.since <= t.time
)
SELECT t.* EXCLUDE (kept_explanation, kept_explained),
       CASE WHEN NOT t.fresh THEN {"k.reason" if kept else "NULL"}
            WHEN o.own_case THEN {sql_str(OWN_CASE)}
            WHEN o.callback THEN {sql_str(CALLBACK)}
            WHEN m.event_id IS NOT NULL THEN {sql_str(TEAM_CASE)}
            WHEN l.event_id IS NOT NULL THEN CASE WHEN l.similar
                 THEN {sql_str(CASE_LINKED_SIMILAR)} ELSE {sql_str(CASE_LINKED)} END
            WHEN p.event_id IS NOT NULL THEN {sql_str(PORTFOLIO_REASON)}
       END AS touch_explanation,
       t.kept_explanation AS explanation, t.kept_explained AS explained
FROM touch t
LEFT JOIN own o USING (event_id, customer_id)
LEFT JOIN managed m USING (event_id, customer_id)
LEFT JOIN linked l USING (event_id, customer_id)
LEFT JOIN portfolio p USING (event_id, customer_id){_KEPT_TOUCH if kept else ""}
""",
        params,
    )
    limit_case_scope(con, params)
    # Event-level explanation, then copied back onto each touch: a search's namesakes
    # share the search's reason. But a portfolio explains a population, not the person a
    # search was for: of a wide search some customer is nearly always a buyer, so it
    # explains a search only with at most $targeted customers beside its buyers (the
    # namesakes of a look-up of one). Updated in place: rebuilding the tables costs more,
    # and a join would reorder the rows (see _KEEP_SQL). Learned routine comes after
    # business reasons, before the copy onto touches.
    execute(
        con,
        f"""
UPDATE step_events e SET explanation = x.any_reason, explained = TRUE
FROM (
  SELECT event_id,  -- the first reason in the order above, whichever customer has it
         arg_min(touch_explanation, list_position({sql_list(TOUCH_REASONS)}, touch_explanation))
           AS any_reason,
         bool_and(touch_explanation IS NOT NULL) AS all_explained,
         count(*) FILTER (WHERE touch_explanation IS NULL) AS others
  FROM step_touch WHERE fresh GROUP BY event_id
) x
WHERE e.event_id = x.event_id AND e.policy IS NULL AND x.any_reason IS NOT NULL
  AND (x.all_explained OR e.action = 'search'
       AND (x.any_reason <> {sql_str(PORTFOLIO_REASON)} OR x.others <= $targeted))
""",
        params,
    )
    explain_drilldown(con, params)
    explain_by_routine(con, cfg, params)
    explain_by_book(con, cfg, params)
    explain_by_group_book(con, cfg, params)
    explain_handover(con, cfg, params)
    explain_by_allowance(con, cfg, params)
    explain_followups(con, cfg, params)
    execute(
        con,
        """
UPDATE step_touch t SET explanation = e.explanation, explained = e.explained
FROM step_events e WHERE t.event_id = e.event_id AND e.explained
  AND t.explanation IS DISTINCT FROM e.explanation  -- a kept row has its own already
""",
    )


# The earlier steps' explanations of the rows that stay final (see build_step). An update
# in place, not a join in the CREATE: a join may reorder the rows, and the detectors'
# evidence lists and sums follow the order of the step's rows, which must not depend on
# how the day was cut into steps.
_KEEP_SQL = """
UPDATE step_events e SET explanation = x.explanation, explained = x.explanation IS NOT NULL,
                         fresh = FALSE
FROM (
  WITH known AS (SELECT event_id, explanation FROM step_explained WHERE day = $day),
  redo AS (  -- per employee, from when the earlier steps' explanations may not hold
    SELECT employee_id, min(t) AS redo_from FROM (
      -- an event of the day no earlier step saw; rows new to the lookback (someone who
      -- just sent data out) are new themselves but change none of the day's reasons
      SELECT employee_id, time AS t FROM step_events ANTI JOIN known USING (event_id)
      WHERE in_step
      UNION ALL  -- a case opened since explains the look-ups just before it
      SELECT employee_id, opened_at - to_minutes($before) FROM cases
      WHERE opened_at >= $until AND opened_at < $e
      UNION ALL  -- and its employee's manager's (team_case)
      SELECT m.manager_id, c.opened_at - to_minutes($before)
      FROM cases c JOIN employees m ON m.employee_id = c.employee_id
      WHERE c.opened_at >= $until AND c.opened_at < $e AND m.manager_id IS NOT NULL
    ) GROUP BY ALL
  )
  SELECT s.event_id, k.explanation
  FROM step_events s JOIN known k USING (event_id) LEFT JOIN redo r USING (employee_id)
  WHERE s.time < coalesce(r.redo_from, $e)
) x
WHERE e.event_id = x.event_id
"""

# The stored case reasons of the kept touches (what the book learns from), joined as
# step_touch is made. At most one row per (event, customer), so the join adds no row: a
# touch's case reason depends on its event and customer alone, an event's customer
# listed twice was stored once (record_explanations: DISTINCT), and a step replaces the
# rows of the events it explains afresh. Only the kept events' rows are joined: the table
# holds the whole day's, everyone's (joined whole, the statement cost what the update did).
_KEPT_TOUCH = """
LEFT JOIN (SELECT k.event_id, k.customer_id, k.reason FROM step_touch_explained k
           SEMI JOIN step_events e ON e.event_id = k.event_id AND NOT e.fresh
           WHERE k.day = $day) k
  ON NOT t.fresh AND k.event_id = t.event_id AND k.customer_id = t.customer_id"""


def record_explanations(con, params: dict, *, reused: bool, partial: bool) -> int:
    """Store the step's fresh explanations: this day's events in ``access_explained`` and,
    while the day is ``partial``, every step row's in ``step_explained`` (and the touches'
    case reasons in ``step_touch_explained``) for its next step; returns how many of this day's events were explained afresh. ``reused``: the
    step kept an earlier step's explanations (the rows of those events stay)."""
    if reused:
        con.execute(
            """DELETE FROM access_explained WHERE day = $day
               AND event_id IN (SELECT event_id FROM step_events WHERE fresh AND in_step)""",
            {"day": params["day"]},
        )
    for table in ("step_explained", "step_touch_explained"):
        if reused and partial:
            con.execute(
                f"DELETE FROM {table} WHERE event_id IN "
                "(SELECT event_id FROM step_events WHERE fresh)"
            )
        else:  # a new day, or the day is complete: nothing of another day is kept
            con.execute(f"DELETE FROM {table}")
    fresh = execute(
        con,
        """INSERT INTO access_explained (event_id, day, employee_id, role, explanation)
           SELECT event_id, $day, employee_id, role, explanation
           FROM step_events WHERE in_step AND fresh""",
        params,
    ).fetchall()[0][0]
    if partial:
        execute(
            con,
            """INSERT INTO step_explained (event_id, day, explanation)
               SELECT event_id, $day, explanation FROM step_events WHERE fresh""",
            params,
        )
        execute(
            con,
            """INSERT INTO step_touch_explained (event_id, day, customer_id, reason)
               SELECT DISTINCT t.event_id, $day, t.customer_id, t.touch_explanation
               FROM step_touch t JOIN step_events e USING (event_id)
               WHERE e.fresh AND t.touch_explanation IS NOT NULL""",
            params,
        )
    return int(fresh)
