"""Leavers' handover: a departing employee's own book, left where the team keeps its work.

In their last weeks, leavers hand their work over: they export the customers they served
to the drive or workspace their colleagues use every day, so a successor can pick them up.
Judged like any export, that is a bulk export by a leaver, the pattern of a departing
thief. What tells them apart is where the data goes and whose data it is. An outbound
event is explained as ``handover`` when

* the employee has a known departure date at most ``handover_days`` ahead;
* its destination is one their peer group sends data to by routine today (learned, see
  :mod:`~insiderwatch.detect.routine`; never a similar group's nor a machine's), or one
  another group of their role does (where the role keeps its work: a desk that works from
  books, without cases, has no routine export of its own, yet its leavers hand over to
  the drive their role's case-working groups use every day), and neither the employee's
  own device or printer (``destinations.internal``: the data would stay in their hands)
  nor a kind that always leaves the company (``destinations.outside``);
* every customer it lists is in the employee's book (:mod:`~insiderwatch.detect.book`: a
  customer they served under a case, on an earlier day of the baseline window or today)
  or the customer of a case assigned to them in the window (a case handed over to them
  that they never opened is theirs to hand on), each known to be theirs by the export's
  time, and it carries no more records than those customers number.

A leaver who takes strangers' data, sends it somewhere the team never does, or takes more
than they ever served stays unexplained, and the departing and exfiltration detectors
judge it as before. An export whose customers all have open cases of the leaver's is
explained only as viewing them (a case never explains sending a customer out, beyond
the breadth of what the group routinely sends where it sends its case work): the
handover judges it as it does an unexplained one.
"""

from __future__ import annotations

from insiderwatch.detect.base import execute, matches_any, sql_list, sql_str
from insiderwatch.detect.book import BOOK_HISTORY_SQL, CASE_REASONS
from insiderwatch.detect.config import DetectionConfig
from insiderwatch.detect.reasons import HANDOVER, ROUTINE, ROUTINE_SIMILAR
from insiderwatch.detect.routine import GROUP_ROLES_SQL, OUTBOUND, same_flow_sql

# Explanations of the flow itself, not of viewing its customers: nothing left to explain.
_FLOW_REASONS = "(" + ", ".join(map(sql_str, (ROUTINE, ROUTINE_SIMILAR, HANDOVER))) + ")"

# A case explains looking at a customer, never sending them out, except where the group
# routinely sends its work, within that flow's breadth: that is the case's own work (a
# case's note saved to the team's share), as the exfiltration detector judges it for the
# group's own flows (a flow it borrows from its role's other groups is not checked here:
# such a send stays explained by its own case, unless it is a leaver's handover). Any other
# export that a case explains only as viewing is left to the handover rule.
_CASE_WORK_SQL = f"""
SELECT 1 FROM routine_flows r
WHERE r.day = $day AND r.grp = o.peer_group AND {same_flow_sql("r", "o")}
  AND o.record_count <= r.max_records
"""


# An employee (of the alias given) with a known departure date at most handover_days ahead.
_LEAVING = (
    "{0}.departs_on IS NOT NULL AND {0}.departs_on >= $day"
    " AND {0}.departs_on <= $day + to_days($handover_days)"
)


def places_sql(cfg: DetectionConfig) -> str:
    """Where each peer group's leavers may hand their work over on ``$day`` (peer_group,
    destination): what its own routine sends data to, or the routine of another group of
    the same role (not a machine's: the place where the role keeps its work, which a group
    that works from books, without cases, never sends to by routine), but for the
    employee's own device or printer, kinds that always leave the company, and '' (a flow
    with no destination). A group's role is read from earlier days' ``employee_days``."""
    d = cfg.destinations
    kept = matches_any(d.internal + d.outside, "r.destination")
    return f"""
WITH flows AS (
  SELECT DISTINCT r.grp, r.machine, r.destination FROM routine_flows r
  WHERE r.day = $day AND r.destination IS NOT NULL AND r.destination <> '' AND NOT ({kept})
),
roles AS ({GROUP_ROLES_SQL}
)
SELECT grp AS peer_group, destination FROM flows
UNION
SELECT g.peer_group, f.destination FROM flows f
JOIN roles o ON o.peer_group = f.grp JOIN roles g ON g.role = o.role
WHERE NOT f.machine AND NOT starts_with(f.grp, 'self:')
"""


def _sql(cfg: DetectionConfig) -> str:
    return f"""
UPDATE step_events e SET explanation = {sql_str(HANDOVER)}, explained = TRUE
FROM (
  WITH outbound AS (
    SELECT o.* FROM step_events o
    WHERE o.in_step AND o.policy IS NULL AND o.action IN {OUTBOUND}
      AND (NOT o.explained OR (o.fresh AND o.explanation NOT IN {_FLOW_REASONS}
                               AND NOT EXISTS ({_CASE_WORK_SQL})))
      AND {_LEAVING.format("o")}
      AND EXISTS (SELECT 1 FROM ({places_sql(cfg)}) r
                  WHERE r.peer_group = o.peer_group AND r.destination = o.destination)
  ),
  book AS (  -- the leavers' books, each customer from when it was known to be theirs:
             -- earlier days' case work, today's, and cases assigned to them in the window
             -- (one handed over to them that they never opened included)
    SELECT b.employee_id, b.customer_id, min(b.day)::TIMESTAMPTZ AS since
    FROM ({BOOK_HISTORY_SQL}) b
    SEMI JOIN outbound o USING (employee_id)
    GROUP BY ALL
    UNION ALL
    SELECT t.employee_id, t.customer_id, t.time FROM step_touch t
    SEMI JOIN outbound o USING (employee_id)
    WHERE t.in_step AND list_contains({sql_list(CASE_REASONS)}, t.touch_explanation)
      -- an export's own touches never vouch for it: a customer a team case explains
      -- sending is not one the leaver served
      AND t.action NOT IN {OUTBOUND}
    UNION ALL
    SELECT c.employee_id, c.customer_id, c.opened_at FROM cases c
    SEMI JOIN outbound o USING (employee_id)
    WHERE c.opened_at >= $b0 AND c.opened_at < $e
  ),
  mine AS (  -- per export, the customers known to be the leaver's by its time
    SELECT DISTINCT o.event_id, b.customer_id FROM outbound o
    JOIN book b ON b.employee_id = o.employee_id AND b.since <= o.time
  ),
  sizes AS (SELECT event_id, count(*) AS customers FROM mine GROUP BY ALL),
  listed AS (SELECT o.event_id, unnest(o.customer_ids) AS customer_id FROM outbound o),
  strangers AS (  -- a listed customer outside the leaver's book
    SELECT DISTINCT l.event_id FROM listed l ANTI JOIN mine USING (event_id, customer_id)
  )
  SELECT o.event_id FROM outbound o JOIN sizes s USING (event_id)
  ANTI JOIN strangers USING (event_id)
  WHERE o.record_count <= s.customers
) x
WHERE e.event_id = x.event_id
"""


# The staff with a known departure date within handover_days of the day: the only ones
# whose exports a handover explains (learned once a day, the query's own condition).
_LEAVERS_SQL = f"SELECT e.employee_id FROM employees e WHERE {_LEAVING.format('e')} ORDER BY ALL"


def _enabled(cfg: DetectionConfig) -> bool:
    return cfg.book.enabled and cfg.routine.enabled


def learn_leavers(con, cfg: DetectionConfig, params: dict) -> list[str]:
    """The staff whose exports a handover may explain on ``$day`` (once a day, with what
    the day learns: :mod:`~insiderwatch.detect.daily`); none where it is off."""
    if not _enabled(cfg):
        return []
    rows = execute(con, _LEAVERS_SQL, {**params, "handover_days": cfg.book.handover_days})
    return [e for (e,) in rows.fetchall()]


def explain_handover(con, cfg: DetectionConfig, params: dict) -> None:
    """Explain leavers' exports of their own book to where their group keeps its work;
    a day with no leavers (``params['leavers']``, learned for the day) has none to."""
    if _enabled(cfg) and params["leavers"]:
        execute(con, _sql(cfg), {**params, "handover_days": cfg.book.handover_days})
