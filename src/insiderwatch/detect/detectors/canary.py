from __future__ import annotations

import msgspec

from insiderwatch.detect.base import Detector, StepContext
from insiderwatch.detect.ranges import NonNegative


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    points: NonNegative = 100.0


class Canary(Detector):
    id = "canary"
    version = "1"
    during_learning = True
    title = "Decoy customer record touched"
    description = (
        "Any access to a canary (a decoy customer planted by the security team, listed in "
        "the canaries table), by anyone, in any tool, even inside search results, is a "
        "critical finding."
    )
    why = (
        "No real work reaches a decoy: it has no orders, no contacts, no cases. Touching "
        "it means sweeping through customers (or testing the monitoring)."
    )
    false_positives = (
        "A canary planted where legitimate processes read it (an indexing job, an export "
        "of all customers): plant them only where people must go looking."
    )
    investigate = (
        "Critical: contain first. Find how the employee reached the decoy (which search), "
        "everything else that search returned, and whether the decoy's monitored mailbox "
        "or phone number has received contact since."
    )
    Config = Config

    def sql(self, ctx: StepContext, config: Config) -> str:
        return f"""
WITH touched AS (
  SELECT e.employee_id, e.time, e.event_id, unnest(e.customer_ids) AS customer_id
  FROM step_events e WHERE e.in_step
)
SELECT t.employee_id, min(t.time) AS time, min(t.time) AS first_time,
       {config.points} AS points, 'critical' AS severity, TRUE AS critical,
       strftime($day, '%Y-%m-%d') || ':' || t.customer_id AS key,
       format('touched decoy customer record {{}} planted by security; no legitimate work '
              'reaches it', t.customer_id) AS reason,
       [arg_min(t.event_id, (t.time, t.event_id))] AS event_ids, [t.customer_id] AS customer_ids
FROM touched t JOIN canaries c USING (customer_id)
GROUP BY t.employee_id, t.customer_id
"""
