from __future__ import annotations

import msgspec

from insiderwatch.detect.base import Detector, StepContext


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    # A finding for the day's n-th VIP weighs points x the share of the peers' earlier
    # days with fewer than n such look-ups (a percentile, not a fixed number): where VIP
    # look-ups without a case are the peers' everyday work (VIP care) they weigh little.
    points: float = 15.0
    floor_share: float = 0.1  # the least a finding weighs, as a share of points


class Vip(Detector):
    id = "vip"
    version = "1"
    title = "VIP account opened without a case"
    description = (
        "Unexplained targeted look-ups (a view or search showing at most "
        "targeted_max_customers customers) of customers flagged VIP (celebrities, "
        "executives, journalists): one finding per VIP and day, at the first look-up, "
        "weighted by the share of the peers' earlier days with fewer such look-ups (a "
        "percentile among peers). A VIP among the rows of a broad search or export is not "
        "singled out."
    )
    why = (
        "Curiosity about famous customers is frequent, and their data is what the press "
        "and criminals pay for; VIP care teams have cases for their work."
    )
    false_positives = (
        "VIP care work done without a case id captured; a VIP who called a general queue "
        "and whose case was logged late."
    )
    investigate = (
        "Check whether any case or call explains the look-up; what was viewed; repeated "
        "look-ups of the same VIP by the same person are rarely work."
    )
    Config = Config

    def sql(self, ctx: StepContext, config: Config) -> str:
        return f"""
WITH looks AS (  -- the first targeted look-up of each VIP today, numbered in time order
  SELECT *, row_number() OVER (PARTITION BY employee_id ORDER BY time, customer_id) AS nth
  FROM (
    SELECT t.employee_id, any_value(t.peer_group) AS peer_group, t.customer_id,
           min(t.time) AS time, arg_min(t.event_id, t.time) AS event_id
    FROM step_touch t JOIN customers c USING (customer_id)
    WHERE t.in_step AND NOT t.explained AND c.is_vip AND t.breadth <= $targeted
    GROUP BY t.employee_id, t.customer_id
  )
),
scored AS (  -- share of the peers' earlier employee-days with fewer VIP look-ups
  SELECT l.employee_id, l.customer_id, l.time, l.event_id, l.nth,
         coalesce(count(p.v) FILTER (WHERE p.v < l.nth) / nullif(count(p.v), 0), 1.0) AS pct
  FROM looks l
  LEFT JOIN (SELECT peer_group, unexplained_vip AS v FROM employee_days
             WHERE day >= $b0 AND day < $day) p USING (peer_group)
  GROUP BY ALL
)
SELECT employee_id, time, time AS first_time,
       {config.points} * greatest(pct, {config.floor_share}) AS points,
       'medium' AS severity, FALSE AS critical,
       strftime($day, '%Y-%m-%d') || ':' || customer_id AS key,
       format('opened VIP customer {{}} with no case (VIP number {{}} today; more than on '
              || '{{}}% of peers'' days)', customer_id, nth, round(100 * pct)::INTEGER) AS reason,
       [event_id] AS event_ids, [customer_id] AS customer_ids
FROM scored
"""
