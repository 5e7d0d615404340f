from __future__ import annotations

import msgspec

from insiderwatch.detect.base import Detector, StepContext, destination_class_sql, matches_any
from insiderwatch.detect.ranges import AtLeastOne, NonNegative
from insiderwatch.detect.routine import OUTBOUND


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    min_history_days: AtLeastOne = 5  # before that every device is new
    burst_customers: AtLeastOne = 10  # unexplained customers after the new device/address
    window_hours: AtLeastOne = 4
    points: NonNegative = 20.0
    unusual_hour_points: NonNegative = 10.0
    # Customer data then sent outside from the new device or address (a destination outside
    # the company that the peer group never sent to in the baseline window, or a personal
    # one) within the same hours: someone else at the keyboard taking the data away, not a
    # replaced laptop. A finding of its own at the first such send.
    sent_points: NonNegative = 30.0
    max_evidence: AtLeastOne = 500  # customers of the send cited, the least ids


class AccountMisuse(Detector):
    id = "account_misuse"
    version = "2"
    title = "New device or address, then a burst of access"
    description = (
        "A device or source address the employee has never used, followed within hours by "
        "unexplained access to many customers; more points when it happens outside the "
        "hours the employee usually works, and a second finding when customer data then "
        "leaves from that device or address to a destination outside the company that is "
        "personal or new to the peer group."
    )
    why = (
        "Stolen or shared credentials, and insiders working from a personal machine to "
        "avoid controls, show up as a new device at an odd hour that goes straight for "
        "customer data."
    )
    false_positives = (
        "A replaced laptop, travel, working from home; these rarely come with a burst of "
        "unexplained access, which is why both are required."
    )
    investigate = (
        "Ask IT whether the device is company-issued and the address expected; check the "
        "SSO log for the login; if neither, treat as compromised credentials: reset and "
        "review everything the session touched."
    )
    Config = Config

    def sql(self, ctx: StepContext, config: Config) -> str:
        c = config
        dest_class = destination_class_sql(ctx.config, "o.destination")
        outside = matches_any(ctx.config.destinations.outside, "o.destination")
        return f"""
WITH history AS (
  SELECT employee_id, count(*) AS days,
         quantile_disc(hour(first_time), 0.05) AS usual_start,
         quantile_disc(hour(last_time), 0.95) AS usual_end
  FROM employee_days WHERE day >= $b0 AND day < $day GROUP BY ALL
),
seen AS (
  SELECT e.employee_id, k.kind, k.value, min(e.time) AS t_new,
         arg_min(e.event_id, (e.time, e.event_id)) AS new_event
  FROM step_events e
  CROSS JOIN LATERAL (VALUES ('device', e.device_id), ('ip', e.src_ip)) k(kind, value)
  WHERE e.in_step AND k.value <> ''
  GROUP BY ALL
),
new_things AS (
  SELECT s.* , h.usual_start, h.usual_end
  FROM seen s JOIN history h USING (employee_id)
  WHERE h.days >= {c.min_history_days}
    AND NOT EXISTS (SELECT 1 FROM employee_footprint f WHERE f.employee_id = s.employee_id
                    AND f.kind = s.kind AND f.value = s.value AND f.first_seen < $s)
),
first_new AS (
  SELECT employee_id, min(t_new) AS t_new,  -- ties in time: the first kind, then value
         arg_min(kind || ' ' || value, (t_new, kind, value)) AS what,
         arg_min(new_event, (t_new, kind, value)) AS new_event,
         any_value(usual_start) AS usual_start,
         any_value(usual_end) AS usual_end
  FROM new_things GROUP BY employee_id
),
after AS (
  SELECT n.*, t.customer_id, t.time, t.event_id,
         row_number() OVER (PARTITION BY n.employee_id ORDER BY t.time, t.customer_id) AS rn
  FROM first_new n
  JOIN (SELECT employee_id, customer_id, min(time) AS time,
               arg_min(event_id, (time, event_id)) AS event_id
        FROM step_touch WHERE in_step AND NOT explained GROUP BY ALL) t
    ON t.employee_id = n.employee_id AND t.time >= n.t_new
   AND t.time <= n.t_new + to_hours({c.window_hours})
),
burst AS (
  SELECT employee_id, max(time) AS time, any_value(t_new) AS t_new, any_value(what) AS what,
         any_value(new_event) AS new_event,
         NOT (hour(any_value(t_new)) BETWEEN any_value(usual_start) AND any_value(usual_end))
           AS odd_hour,
         list(DISTINCT event_id) AS event_ids, list(DISTINCT customer_id) AS customer_ids
  FROM after WHERE rn <= {c.burst_customers}
  GROUP BY employee_id HAVING max(rn) >= {c.burst_customers}
),
known AS (  -- destinations the peer group sent data to in the baseline window
  SELECT DISTINCT peer_group, destination FROM routine_days
  WHERE day >= $b0 AND day < $day AND destination <> ''
),
sent AS (  -- the first send outside from a new device or address within the window: at
           -- the send, or at the burst when the send came first (a finding never cites
           -- what it has not yet seen)
  SELECT b.employee_id, greatest(b.time, arg_min(o.time, (o.time, o.event_id))) AS time,
         -- the device or address the send came from (not always the burst's first one)
         arg_min(n.t_new, (o.time, o.event_id, n.kind)) AS t_new,
         arg_min(n.kind || ' ' || n.value, (o.time, o.event_id, n.kind)) AS what,
         arg_min(n.new_event, (o.time, o.event_id, n.kind)) AS new_event,
         any_value(b.odd_hour) AS odd_hour,
         arg_min(o.event_id, (o.time, o.event_id)) AS event_id,
         arg_min(o.record_count, (o.time, o.event_id)) AS records,
         arg_min(o.destination, (o.time, o.event_id)) AS destination,
         arg_min(o.customer_ids, (o.time, o.event_id)) AS customer_ids
  FROM burst b
  JOIN step_events o ON o.employee_id = b.employee_id AND o.in_step
   AND o.action IN {OUTBOUND} AND o.record_count > 0
   AND o.time >= b.t_new AND o.time <= b.t_new + to_hours({c.window_hours})
  JOIN new_things n ON n.employee_id = o.employee_id
   AND ((n.kind = 'device' AND n.value = o.device_id) OR (n.kind = 'ip' AND n.value = o.src_ip))
  LEFT JOIN known k ON k.peer_group = o.peer_group AND k.destination = o.destination
  WHERE {dest_class} = 'external' AND ({outside} OR k.destination IS NULL)
  GROUP BY b.employee_id, b.time
)
SELECT employee_id, time, t_new AS first_time, {c.sent_points} AS points,
       'high' AS severity, FALSE AS critical,
       strftime($day, '%Y-%m-%d') || ':sent' AS key,
       format('{{}} customer record(s) sent to {{}} from a device or address first used at '
              || '{{}} UTC ({{}}){{}}', records, destination, strftime(t_new, '%H:%M'), what,
              CASE WHEN odd_hour THEN ', outside their usual hours' ELSE '' END) AS reason,
       list_distinct([new_event, event_id]) AS event_ids,
       list_sort(customer_ids)[1:{c.max_evidence}] AS customer_ids
FROM sent
UNION ALL
SELECT employee_id, time, t_new AS first_time,
       {c.points} + CASE WHEN odd_hour THEN {c.unusual_hour_points} ELSE 0 END AS points,
       CASE WHEN odd_hour THEN 'high' ELSE 'medium' END AS severity, FALSE AS critical,
       strftime($day, '%Y-%m-%d') AS key,
       format('first use of {{}} at {{}} UTC{{}}, then {{}} customers looked up with no case '
              'within {{}} h', what, strftime(t_new, '%H:%M'),
              CASE WHEN odd_hour THEN ' (outside their usual hours)' ELSE '' END,
              len(customer_ids), {c.window_hours}) AS reason,
       list_distinct(list_prepend(new_event, event_ids)) AS event_ids, customer_ids
FROM burst
"""
