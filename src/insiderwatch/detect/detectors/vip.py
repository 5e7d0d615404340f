from __future__ import annotations

import msgspec

from insiderwatch.detect.base import Detector, StepContext


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    points: float = 15.0
    # Points shrink where no-case VIP look-ups are the peers' everyday work (VIP care):
    # points / (1 + damping * peers' daily rate).
    damping: float = 10.0


class Vip(Detector):
    id = "vip"
    version = "1"
    title = "VIP account opened without a case"
    description = (
        "Unexplained targeted look-ups (a view or search showing at most "
        "targeted_max_customers customers) of customers flagged VIP (celebrities, "
        "executives, journalists): one finding per VIP and day, at the first look-up, "
        "weighing less where such look-ups are the peers' everyday work. A VIP among the "
        "rows of a broad search or export is not singled out."
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
WITH peers AS (
  SELECT peer_group, avg(unexplained_vip) AS rate FROM employee_days
  WHERE day >= $b0 AND day < $day GROUP BY ALL
)
SELECT t.employee_id, min(t.time) AS time, min(t.time) AS first_time,
       {config.points} / (1 + {config.damping} * coalesce(any_value(p.rate), 0)) AS points,
       'medium' AS severity, FALSE AS critical,
       strftime($day, '%Y-%m-%d') || ':' || t.customer_id AS key,
       format('opened VIP customer {{}} with no case', t.customer_id) AS reason,
       [arg_min(t.event_id, t.time)] AS event_ids, [t.customer_id] AS customer_ids
FROM step_touch t JOIN customers c USING (customer_id)
LEFT JOIN peers p ON p.peer_group = t.peer_group
WHERE t.in_step AND NOT t.explained AND c.is_vip AND t.breadth <= $targeted
GROUP BY t.employee_id, t.customer_id
"""
