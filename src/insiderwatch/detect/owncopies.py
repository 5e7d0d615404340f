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

A list sent again is not a new copy: an action's ``fresh`` customers are the covered
ones no earlier action of the employee in the same window sent. Every step records, per
outbound action, how many of its customers were so covered and how many of those were
fresh, with the covered customers themselves (``own_copy_days``): what the next actions'
repeats are found in, and the peer group's history the ``own_copies`` detector judges
the rarity of a copy by (benign staff copy a customer they just served; copying several
customers nobody asked them to look at is what is rare). It is recorded with the
detector's ``window_days``, which is why that setting is one of its
``history_settings``.
"""

from __future__ import annotations

from insiderwatch.detect.base import capped_list, execute
from insiderwatch.detect.revisits import CASELESS_LOOKUP
from insiderwatch.detect.routine import OUTBOUND

# The step's outbound actions with what they carried (build_own_copies).
STEP_COPIES = "step_own_copies"


def covered_sql(window_days: int, max_evidence: int) -> str:
    """The step's outbound actions with the customers in them that the employee's own
    case-less look-ups at or before them (over the ``window_days`` before the step's day,
    and today) returned: ``employee_id, peer_group, event_id, time, action, destination,
    size, customers (sorted), covered, copied (those customers, sorted), fresh, first_time,
    looked_events, copy_events``. ``fresh``: how many of the covered customers no earlier
    action of the employee in the same window sent (``copy_events``, earlier days from
    ``own_copy_days``, today from the step), in (time, event id) order, so a replay and a
    day cut into steps count the same repeats."""
    w = int(window_days)
    return f"""
WITH outbound AS (
  SELECT o.employee_id, o.peer_group, o.event_id, o.time, o.action, o.destination,
         greatest(o.record_count, len(list_distinct(o.customer_ids))) AS size,
         list_sort(list_distinct(o.customer_ids)) AS customers
  FROM step_events o
  WHERE o.in_step AND o.action IN {OUTBOUND} AND o.record_count > 0
    AND len(o.customer_ids) > 0
),
sent AS (
  SELECT employee_id, event_id, time, unnest(customers) AS customer_id FROM outbound
),
looked AS (  -- earlier days from the history, today from the step (in event time)
  SELECT r.employee_id, r.customer_id, r.time, r.event_id FROM revisit_days r
  WHERE r.day >= $day - INTERVAL {w} DAY AND r.day < $day
    AND r.employee_id IN (SELECT employee_id FROM outbound)
  UNION ALL
  SELECT t.employee_id, t.customer_id, t.time, t.event_id FROM step_touch t
  WHERE t.in_step AND {CASELESS_LOOKUP}
),
covered AS (
  SELECT s.event_id, any_value(s.employee_id) AS employee_id, any_value(s.time) AS time,
         count(DISTINCT s.customer_id) AS covered,
         list(DISTINCT s.customer_id ORDER BY s.customer_id) AS copied,
         min(l.time) AS first_time, {capped_list("l.event_id", max_evidence)} AS looked_events
  FROM sent s
  JOIN looked l ON l.employee_id = s.employee_id AND l.customer_id = s.customer_id
   AND l.time <= s.time
  GROUP BY s.event_id
),
pairs AS (SELECT employee_id, event_id, time, unnest(copied) AS customer_id FROM covered),
earlier AS (  -- the copies before: earlier days of the window, and the step's own
  SELECT d.employee_id, d.event_id, d.time, unnest(d.copied) AS customer_id
  FROM own_copy_days d
  WHERE d.day >= $day - INTERVAL {w} DAY AND d.day < $day
    AND d.employee_id IN (SELECT employee_id FROM outbound)
  UNION ALL
  SELECT employee_id, event_id, time, customer_id FROM pairs
),
repeated AS (  -- the covered customers an earlier copy already sent
  SELECT p.event_id, count(DISTINCT p.customer_id) AS repeated,
         {capped_list("e.event_id", max_evidence)} AS copy_events
  FROM pairs p
  JOIN earlier e ON e.employee_id = p.employee_id AND e.customer_id = p.customer_id
   AND (e.time < p.time OR (e.time = p.time AND e.event_id < p.event_id))
  GROUP BY p.event_id
)
SELECT o.employee_id, o.peer_group, o.event_id, o.time, o.action, o.destination, o.size,
       o.customers, c.covered, c.copied, c.covered - coalesce(r.repeated, 0) AS fresh,
       c.first_time, c.looked_events, coalesce(r.copy_events, []) AS copy_events
FROM outbound o JOIN covered c USING (event_id) LEFT JOIN repeated r USING (event_id)
"""


def build_own_copies(con, params: dict, window_days: int, max_evidence: int) -> None:
    """Write the step's outbound actions with what own look-ups they carried
    (:func:`covered_sql`) to ``step_own_copies``, once a step: the ``own_copies``
    detector judges them and :func:`record_own_copies` records them."""
    execute(
        con,
        f"CREATE OR REPLACE TEMP TABLE {STEP_COPIES} AS {covered_sql(window_days, max_evidence)}",
        params,
    )


def record_own_copies(con, params: dict) -> None:
    """Add this step's outbound actions that carried own case-less look-ups to the
    history (``own_copy_days``), from ``step_own_copies``."""
    execute(
        con,
        f"""INSERT INTO own_copy_days
              (employee_id, day, event_id, peer_group, time, size, covered, fresh, copied)
            SELECT employee_id, $day, event_id, peer_group, time, size, covered, fresh, copied
            FROM {STEP_COPIES}""",
        params,
    )
