from __future__ import annotations

import msgspec

from insiderwatch.detect.base import Detector, StepContext, destination_class_sql


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    window_days: int = 28
    outbound_points: float = 20.0
    min_customers: int = 10  # unexplained customers in a day before leaving
    # Bulk exports count even when a portfolio or case explains viewing the customers
    # (not a role policy's routine extracts, nor ones to allowed company services).
    bulk_records: int = 20
    volume_points: float = 12.0


class Departing(Detector):
    id = "departing"
    version = "1"
    title = "Taking data before leaving"
    description = (
        "For staff with a known departure date in the next weeks: any unexplained export, "
        "download, print or copy (wherever it goes), any bulk one even when viewing the "
        "customers is explained by a case or portfolio, and unexplained look-ups of more than "
        "a handful of customers in a day. The risk engine also weighs all their findings "
        "more."
    )
    why = (
        "Leavers take customer lists to their next employer or to sell: most data theft "
        "by staff happens in the month before they go."
    )
    false_positives = (
        "Hand-over work (exports for the successor) done without a case that goes "
        "somewhere the team does not routinely send its work, or includes customers the "
        "leaver never served under a case (a handover of their own book to the team's "
        "usual destination is explained); ask the manager and suppress with a reason."
    )
    investigate = (
        "Compare with the hand-over plan; check where exports went; act before the last "
        "day (HR and legal), and revoke access on the day."
    )
    Config = Config

    def sql(self, ctx: StepContext, config: Config) -> str:
        c = config
        dest_class = destination_class_sql(ctx.config)
        return f"""
WITH leaving AS (
  SELECT * FROM step_events
  WHERE in_step AND departs_on IS NOT NULL
    AND departs_on >= $day AND departs_on <= $day + to_days({c.window_days})
),
outbound AS (
  SELECT employee_id, time, time AS first_time, {c.outbound_points} AS points,
         'high' AS severity, FALSE AS critical, event_id AS key,
         format('{{}} {{}} customer record(s) to {{}}{{}}, {{}} day(s) before leaving on {{}}',
                action, record_count, coalesce(destination, 'an unknown destination'),
                CASE WHEN explained THEN '' ELSE ' with no case' END,
                departs_on - $day, departs_on) AS reason,
         [event_id] AS event_ids, customer_ids
  FROM leaving
  WHERE action IN ('export', 'download', 'print', 'copy', 'message') AND record_count > 0
    AND (NOT explained
         OR (record_count >= {c.bulk_records} AND NOT starts_with(explanation, 'policy:')
             AND coalesce(explanation, '') NOT IN ('routine', 'handover')
             AND {dest_class} IS DISTINCT FROM 'allowed'))
),
touched AS (
  SELECT l.employee_id, l.departs_on, c.customer_id, min(l.time) AS time,
         arg_min(l.event_id, (l.time, l.event_id)) AS event_id
  FROM leaving l CROSS JOIN unnest(l.customer_ids) AS c(customer_id)
  WHERE l.action IN ('search', 'view') AND NOT l.explained
  GROUP BY ALL
),
ranked AS (
  SELECT *, row_number() OVER (PARTITION BY employee_id ORDER BY time, customer_id) AS rn
  FROM touched
),
volume AS (
  SELECT employee_id, max(time) AS time, min(time) AS first_time, {c.volume_points} AS points,
         'medium' AS severity, FALSE AS critical, strftime($day, '%Y-%m-%d') AS key,
         format('looked up {{}} customers with no case, {{}} day(s) before leaving on {{}}',
                max(rn), any_value(departs_on) - $day, any_value(departs_on)) AS reason,
         list(DISTINCT event_id) AS event_ids, list(DISTINCT customer_id) AS customer_ids
  FROM ranked WHERE rn <= {c.min_customers}
  GROUP BY employee_id HAVING max(rn) >= {c.min_customers}
)
SELECT * FROM outbound UNION ALL SELECT * FROM volume
"""
