"""Explanation of access: which business reason, if any, makes each access legitimate.

Everything else in detection works on what is left unexplained, so this runs first in
every step. An access (one event, one customer shown) is explained, in this order, by:

``own_case``       an open case of that customer assigned to the employee (with slack);
``callback``       such a case closed within the callback window;
``team_case``      a case of that customer assigned to someone the employee manages;
``case_linked``    the case id the tool captured is the employee's open case about that
                   customer, or any open case of theirs in an investigating group;
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
``handover``       a leaver's export of their own book to where their peer group
                   routinely sends its work (see :mod:`~insiderwatch.detect.handover`);
``allowance``      a case-less look-up within the few most of the peer group make over
                   the baseline window (learned, see :mod:`~insiderwatch.detect.allowance`);
                   ``allowance:role`` / ``allowance:similar`` when a group too small to
                   learn one took its role's or a similar group's.

Investigating groups and team portfolios are learned from earlier days' case work
(:mod:`~insiderwatch.detect.casework`), never from role names.

A search is explained when any customer it returned is (it found the case's customer);
another event when all its customers are. Logins are not data access: ``login``.
"""

from __future__ import annotations

from insiderwatch.detect.allowance import explain_by_allowance
from insiderwatch.detect.base import execute, matches_any, sql_list
from insiderwatch.detect.book import explain_by_book
from insiderwatch.detect.casework import TEAM_SELLERS_SQL, casework_params, explain_drilldown
from insiderwatch.detect.config import DetectionConfig
from insiderwatch.detect.handover import explain_handover
from insiderwatch.detect.routine import OUTBOUND, explain_by_routine

# A touch's weight for the sensitivity of what was exposed; contact details together
# (email and phone: what sellers and spammers buy) weigh more than their parts.
FIELD_WEIGHTS = {"name": 0.5, "email": 1.5, "phone": 1.5, "address": 1.0, "payment": 3.0,
                 "orders": 0.5, "notes": 0.5}  # fmt: skip
CONTACT_BONUS = 1.0

# What explains one customer shown by an access, in the order they are tried.
TOUCH_REASONS = ("own_case", "callback", "team_case", "case_linked", "case_linked:similar",
                 "portfolio")  # fmt: skip

# Peers: same role in the same family of teams ("fraud-6" and "fraud-10"), over the
# employees table aliased ``e`` (the console lists and filters by the same groups).
PEER_GROUP = "e.role || ':' || regexp_replace(coalesce(e.team, ''), '[-_ ]*[0-9]+$', '')"


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


def build_step(con, cfg: DetectionConfig, step: dict, source: str = "access") -> None:
    """Create temp tables ``step_events`` and ``step_touch`` for events of ``source`` in
    [lookback_start ``$ls``, end ``$e``); rows at or after ``$s`` are this step's
    (``in_step``). ``step`` holds the step's parameters (``StepContext.params``).

    The lookback (rows before ``$s``) is kept only for the employees whose step reads
    it: those with outbound data in the step (what they looked up before sending it) and
    those of investigating groups (their views follow their earlier searches). Nothing
    else reads it, and every explanation depends on the employee's own events only, so
    the others' lookback would be half of every step's work for nothing.

    Cases are read as known at ``end``: case rows opened later do not exist yet, and a
    close time after ``end`` is not known yet (the case is still open).
    """
    x = cfg.explanation
    params = {
        **step,
        "before": x.slack_before_minutes,
        "after": x.slack_after_minutes,
        "cb": x.callback_hours,
        "sup": x.supervisor_after_hours,
        "hist": x.portfolio_history_days,
        "minc": x.portfolio_min_cases,
        "portfolio_roles": list(x.portfolio_roles),
    }
    policy_apps = [f"{role}@{app}" for role, apps in x.policy_apps.items() for app in apps]
    params.update(casework_params(con, cfg, step))
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
SELECT *, policy AS explanation, policy IS NOT NULL AS explained FROM (
SELECT a.event_id, a.time, a.employee_id, a.action, a.customer_ids, a.fields,
       coalesce(a.record_count, len(a.customer_ids)) AS record_count, a.app, a.case_id,
       a.src_ip, a.device_id, a.destination,
       e.role, e.team, e.surname, e.home_postcode, e.departs_on,
       {PEER_GROUP} AS peer_group,
       a.time >= $s AS in_step,
       CASE WHEN a.action = 'login' THEN 'login'
            WHEN list_contains({sql_list(x.policy_roles)}, e.role) THEN 'policy:' || e.role
            WHEN list_contains({sql_list(policy_apps)}, e.role || '@' || a.app)
                 THEN 'policy:' || e.role || '@' || a.app
       END AS policy
FROM {source} a JOIN employees e USING (employee_id)
WHERE a.time >= $ls AND a.time < $e
  AND (a.time >= $s
       OR list_contains($investigating::VARCHAR[], {PEER_GROUP})
       OR list_contains($investigating_staff::VARCHAR[], a.employee_id)
       OR a.employee_id IN (SELECT employee_id FROM {source}
                            WHERE time >= $s AND time < $e AND action IN {OUTBOUND}))
)
""",
        params,
    )
    execute(
        con,
        f"""
CREATE OR REPLACE TEMP TABLE step_touch AS
WITH touch AS (
  SELECT event_id, time, employee_id, role, team, peer_group, action, case_id, fields, in_step,
         record_count, destination, app, src_ip, device_id, len(customer_ids) AS breadth,
         unnest(customer_ids) AS customer_id
  FROM step_events WHERE policy IS NULL
),
own AS (
  SELECT t.event_id, t.customer_id,
         bool_or(t.time BETWEEN c.opened_at - to_minutes($before)
                 AND coalesce(c.closed_at, TIMESTAMPTZ 'infinity') + to_minutes($after)) AS own_case,
         bool_or(t.time > c.closed_at AND t.time <= c.closed_at + to_hours($cb)) AS callback
  FROM touch t JOIN step_cases c USING (customer_id, employee_id)
  GROUP BY ALL
),
managed AS (
  SELECT DISTINCT t.event_id, t.customer_id
  FROM touch t
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
  FROM touch t JOIN step_cases c ON c.case_id = t.case_id AND c.employee_id = t.employee_id
  WHERE t.time BETWEEN c.opened_at - to_minutes($before)
                   AND coalesce(c.closed_at, TIMESTAMPTZ 'infinity') + to_minutes($after)
    AND (c.customer_id = t.customer_id OR list_contains($investigating::VARCHAR[], t.peer_group)
         OR list_contains($investigating_staff::VARCHAR[], t.employee_id)
         OR {matches_any(x.investigation_roles, "t.role", "t.team")})
  GROUP BY ALL
),
team_sellers AS (  -- each team's portfolio, learned from its past cases
{TEAM_SELLERS_SQL}
),
portfolio AS (
  SELECT DISTINCT t.event_id, t.customer_id
  FROM touch t
  JOIN orders o ON o.customer_id = t.customer_id AND o.ordered_at <= t.time
  JOIN team_sellers ts ON ts.team = t.team AND ts.seller_id = o.seller_id
)
-- What a broad access exposes of one customer weighs 1/breadth (beyond a targeted look-up).
SELECT t.*, {weight_expr("t.fields")} * least(1.0, $targeted / greatest(t.breadth, 1)) AS weight,
       CASE WHEN o.own_case THEN 'own_case'
            WHEN o.callback THEN 'callback'
            WHEN m.event_id IS NOT NULL THEN 'team_case'
            WHEN l.event_id IS NOT NULL
                 THEN CASE WHEN l.similar THEN 'case_linked:similar' ELSE 'case_linked' END
            WHEN p.event_id IS NOT NULL THEN 'portfolio'
       END AS touch_explanation,
       NULL::VARCHAR AS explanation, FALSE AS explained
FROM touch t
LEFT JOIN own o USING (event_id, customer_id)
LEFT JOIN managed m USING (event_id, customer_id)
LEFT JOIN linked l USING (event_id, customer_id)
LEFT JOIN portfolio p USING (event_id, customer_id)
""",
        params,
    )
    # Event-level explanation, then copied back onto each touch: a search's namesakes
    # share the search's reason. Updated in place: rebuilding the tables costs more.
    # Learned routine comes after business reasons, before the copy onto touches.
    execute(
        con,
        f"""
UPDATE step_events e SET explanation = x.any_reason, explained = TRUE
FROM (
  SELECT event_id,  -- the first reason in the order above, whichever customer has it
         arg_min(touch_explanation, list_position({sql_list(TOUCH_REASONS)}, touch_explanation))
           AS any_reason,
         bool_and(touch_explanation IS NOT NULL) AS all_explained
  FROM step_touch GROUP BY event_id
) x
WHERE e.event_id = x.event_id AND e.policy IS NULL AND x.any_reason IS NOT NULL
  AND (e.action = 'search' OR x.all_explained)
""",
    )
    explain_drilldown(con, params)
    explain_by_routine(con, cfg, step)
    explain_by_book(con, cfg, params)
    explain_handover(con, cfg, params)
    explain_by_allowance(con, cfg, params)
    execute(
        con,
        """
UPDATE step_touch t SET explanation = e.explanation, explained = e.explained
FROM step_events e WHERE t.event_id = e.event_id AND e.explained
""",
    )
