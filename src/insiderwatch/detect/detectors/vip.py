from __future__ import annotations

import msgspec

from insiderwatch.detect.base import Detector, StepContext


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    # A finding for the day's n-th VIP weighs by how rare n such look-ups are among the
    # peers' earlier days (the tail share t of days with at least n): log(t) / log(
    # full_weight_tail), capped at 1 (log-rarity, not a fixed number). Where VIP look-ups
    # without a case are the peers' everyday work (VIP care) a week of them stays light;
    # what the peers do on one day in a hundred weighs in full.
    points: float = 15.0
    full_weight_tail: float = 0.01
    floor_share: float = 0.1  # the least a finding weighs, as a share of points


class Vip(Detector):
    id = "vip"
    version = "2"
    title = "VIP account opened without a case"
    description = (
        "Unexplained targeted look-ups (a view or search showing at most "
        "targeted_max_customers customers) of customers flagged VIP (celebrities, "
        "executives, journalists): one finding per VIP and day, at the first look-up, "
        "weighted by how rare that many such look-ups in a day are among the peers' earlier "
        "days (log-rarity). A VIP among the rows of a broad search or export is not "
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
scored AS (  -- share of the peers' earlier employee-days with as many VIP look-ups
  SELECT l.employee_id, l.customer_id, l.time, l.event_id, l.nth,
         coalesce(count(p.v) FILTER (WHERE p.v >= l.nth) / nullif(count(p.v), 0), 0.0) AS tail
  FROM looks l
  LEFT JOIN (SELECT peer_group, unexplained_vip AS v FROM employee_days
             WHERE day >= $b0 AND day < $day) p USING (peer_group)
  GROUP BY ALL
)
SELECT employee_id, time, time AS first_time,
       {config.points} * CASE WHEN tail = 0 THEN 1.0 ELSE greatest(
         {config.floor_share}, least(1.0, ln(tail) / ln({config.full_weight_tail}))) END AS points,
       'medium' AS severity, FALSE AS critical,
       strftime($day, '%Y-%m-%d') || ':' || customer_id AS key,
       format('opened VIP customer {{}} with no case (VIP number {{}} today; more than on '
              || '{{}}% of peers'' days)', customer_id, nth, round(100 * (1 - tail))::INTEGER) AS reason,
       [event_id] AS event_ids, [customer_id] AS customer_ids
FROM scored
"""
