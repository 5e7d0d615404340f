from __future__ import annotations

import msgspec

from insiderwatch.detect.base import Detector, StepContext, destination_class_sql


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    external_points: float = 30.0
    internal_points: float = 10.0
    internal_min_records: int = 20  # a bulk print or local export without a reason
    lookback_hours: int = 24  # harvesting that an export may be carrying out
    sequence_min_customers: int = 20  # of the exported customers, looked up before
    max_evidence: int = 500


class Exfiltration(Detector):
    id = "exfiltration"
    version = "1"
    title = "Data leaving without a reason"
    description = (
        "Exports, downloads, prints, copies and messages of customer data: anything sent "
        "outside the company (USB, personal email, unknown domains or cloud services) is "
        "high, whatever case or policy explains looking at the customers; a bulk print or "
        "local export that nothing explains is medium. When the data "
        "follows unexplained look-ups of many customers in the hours before (harvest then "
        "export), the finding is critical."
    )
    why = (
        "Selling data means getting it out. Insiders use the export button, a download, "
        "the printer or their personal mailbox; the sequence 'collect, then export' is the "
        "classic pattern of data theft."
    )
    false_positives = (
        "Partner or cloud destinations the company uses but has not listed in "
        "destinations.allowed; legitimate reports exported by roles without a policy."
    )
    investigate = (
        "Check the destination (is it a company service?), the record count, and which "
        "customers were in it; contain first (suspend the account, block the destination) "
        "when the sequence is present, then scope the breach from the export's customers."
    )
    Config = Config

    def sql(self, ctx: StepContext, config: Config) -> str:
        c = config
        dest_class = destination_class_sql(ctx.config, "o.destination")
        return f"""
WITH outbound AS (
  SELECT o.*, {dest_class} AS dest_class
  FROM step_events o
  WHERE o.in_step AND o.action IN ('export', 'download', 'print', 'copy', 'message')
    AND o.record_count > 0
),
flagged AS (  -- a case explains looking at a customer, never sending them outside
  SELECT * FROM outbound
  WHERE dest_class = 'external'
     OR (NOT explained AND coalesce(dest_class, 'internal') = 'internal'
         AND record_count >= {c.internal_min_records})
),
carried AS (  -- customers in it that were looked up with no case in the hours before
  SELECT f.event_id, count(DISTINCT t.customer_id) AS carried, min(t.time) AS first_time,
         list(DISTINCT t.event_id)[1:{c.max_evidence}] AS harvest_events
  FROM flagged f
  JOIN step_touch t ON t.employee_id = f.employee_id AND NOT t.explained
   AND t.action IN ('search', 'view') AND t.time <= f.time
   AND t.time >= f.time - to_hours({c.lookback_hours})
   AND list_contains(f.customer_ids, t.customer_id)
  GROUP BY f.event_id
)
SELECT f.employee_id, f.time, coalesce(b.first_time, f.time) AS first_time,
       CASE WHEN f.dest_class = 'external' THEN {c.external_points} ELSE {c.internal_points} END
         * (1 + log10(greatest(f.record_count, 1)) / 2) AS points,
       CASE WHEN coalesce(b.carried, 0) >= {c.sequence_min_customers}
                 AND f.dest_class = 'external' THEN 'critical'
            WHEN f.dest_class = 'external' OR coalesce(b.carried, 0) >= {c.sequence_min_customers}
                 THEN 'high'
            ELSE 'medium' END AS severity,
       coalesce(b.carried, 0) >= {c.sequence_min_customers} AND f.dest_class = 'external'
         AS critical,
       f.event_id AS key,
       format('{{}} {{}} customer record(s) to {{}} ({{}}){{}}{{}}', f.action,
              f.record_count, coalesce(f.destination, 'an unknown destination'),
              coalesce(f.dest_class, 'unknown'),
              CASE WHEN f.explained THEN format(' (viewing them is explained: {{}})', f.explanation)
                   ELSE ' with no case' END,
              CASE WHEN coalesce(b.carried, 0) > 0
                   THEN format(', {{:.1f}} h after looking up {{}} of them with no case',
                               epoch(f.time - b.first_time) / 3600, b.carried)
                   ELSE '' END) AS reason,
       list_distinct(list_concat([f.event_id], coalesce(b.harvest_events, []))) AS event_ids,
       f.customer_ids[1:{c.max_evidence}] AS customer_ids
FROM flagged f LEFT JOIN carried b USING (event_id)
"""
