"""Outbound actions made of the employee's own case-less look-ups, and their history.

A slow harvester looks up a few customers a day with no case and, every week or so,
copies, exports or prints exactly those customers. The copy is small (no volume line
moves) and may stay inside (the clipboard, a local file), so the exfiltration detector
sees a handful of records at most; what gives it away is that nearly every customer in
it is someone the employee looked up with no case beforehand. For each outbound action
this module counts its customers that the employee's own case-less look-ups
(:data:`~insiderwatch.detect.revisits.CASELESS_LOOKUP`, the allowance's included: an
allowance explains an amount of look-ups, not taking those customers out) returned at
or before it, within a trailing window: earlier days from ``revisit_days``, today from
the step's own rows, so a replay and a day cut into live steps see the same look-ups.

Every step records, per outbound action, how many of its customers were so covered
(``own_copy_days``): the peer group's history the ``own_copies`` detector judges the
rarity of a copy by (benign staff copy a customer they just served; copying several
customers nobody asked them to look at is what is rare).
"""

from __future__ import annotations

from insiderwatch.detect.base import capped_list, execute
from insiderwatch.detect.revisits import CASELESS_LOOKUP

OUTBOUND_ACTIONS = "('export', 'download', 'print', 'copy', 'message')"


def covered_sql(window_days: int, max_evidence: int) -> str:
    """The step's outbound actions with the customers in them that the employee's own
    case-less look-ups at or before them (over the ``window_days`` before the step's day,
    and today) returned: ``employee_id, peer_group, event_id, time, action, destination,
    size, customers (sorted), covered, first_time, looked_events``."""
    return f"""
WITH outbound AS (
  SELECT o.employee_id, o.peer_group, o.event_id, o.time, o.action, o.destination,
         greatest(o.record_count, len(list_distinct(o.customer_ids))) AS size,
         list_sort(list_distinct(o.customer_ids)) AS customers
  FROM step_events o
  WHERE o.in_step AND o.action IN {OUTBOUND_ACTIONS} AND o.record_count > 0
    AND len(o.customer_ids) > 0
),
sent AS (
  SELECT employee_id, event_id, time, unnest(customers) AS customer_id FROM outbound
),
looked AS (  -- earlier days from the history, today from the step (in event time)
  SELECT r.employee_id, r.customer_id, r.time, r.event_id FROM revisit_days r
  WHERE r.day >= $day - INTERVAL {int(window_days)} DAY AND r.day < $day
    AND r.employee_id IN (SELECT employee_id FROM outbound)
  UNION ALL
  SELECT t.employee_id, t.customer_id, t.time, t.event_id FROM step_touch t
  WHERE t.in_step AND {CASELESS_LOOKUP}
),
covered AS (
  SELECT s.event_id, count(DISTINCT s.customer_id) AS covered, min(l.time) AS first_time,
         {capped_list("l.event_id", max_evidence)} AS looked_events
  FROM sent s
  JOIN looked l ON l.employee_id = s.employee_id AND l.customer_id = s.customer_id
   AND l.time <= s.time
  GROUP BY s.event_id
)
SELECT o.employee_id, o.peer_group, o.event_id, o.time, o.action, o.destination, o.size,
       o.customers, c.covered, c.first_time, c.looked_events
FROM outbound o JOIN covered c USING (event_id)
"""


def record_own_copies(con, params: dict, window_days: int) -> None:
    """Add this step's outbound actions that carried own case-less look-ups to the
    history (``own_copy_days``)."""
    execute(
        con,
        f"""INSERT OR REPLACE INTO own_copy_days
              (employee_id, day, event_id, peer_group, size, covered)
            SELECT employee_id, $day, event_id, peer_group, size, covered
            FROM ({covered_sql(window_days, 1)})""",
        params,
    )
