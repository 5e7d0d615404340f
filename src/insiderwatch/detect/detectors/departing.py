from __future__ import annotations

import msgspec

from insiderwatch.detect.base import Detector, StepContext, destination_class_sql, sql_str
from insiderwatch.detect.baseline import ThresholdConfig, baseline_tables, fmt_num, quantile_name
from insiderwatch.detect.ranges import AtLeastOne, Count, NonNegative, Quantile, Share
from insiderwatch.detect.reasons import HANDOVER, POLICY, ROUTINE
from insiderwatch.detect.routine import OUTBOUND, own_flow_sql, same_flow_sql


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    window_days: AtLeastOne = 28
    outbound_points: NonNegative = 20.0
    # Unexplained customers looked up in a day before leaving: never fewer than this, nor
    # than the peer group's high quantile of its days or the leaver's own usual day
    # (median + mad_k MADs, days this detector flagged left out), both learned from the
    # baseline window's days before the step's.
    min_customers: Count = 10
    peer_quantile: Quantile = 0.95
    mad_k: NonNegative = 3.0
    min_own_days: AtLeastOne = 5  # fewer days of their own: the peers' line and the floor only
    min_peer_days: AtLeastOne = 20  # employee-days of the peer group before its line counts
    min_history_days: AtLeastOne = 5  # distinct days of it
    # Bulk exports count even when a portfolio or case explains viewing the customers
    # (not a role policy's routine extracts, nor ones to allowed company services).
    bulk_records: AtLeastOne = 20
    volume_points: NonNegative = 12.0
    # A send to a destination the leaver's peer group (or their own account) has as a
    # routine flow of that app and action today weighs this share of outbound_points: an
    # analyst's export to the team's data lake in their last weeks is their job, and
    # whether it went beyond the routine in size, hours or fields is what exfiltration
    # judges. A send anywhere else (personal mail, a USB stick, a drive nobody in the group
    # uses) keeps its full weight.
    routine_weight: Share = 0.25


class Departing(Detector):
    id = "departing"
    version = "3"
    title = "Taking data before leaving"
    description = (
        "For staff with a known departure date in the next weeks: any unexplained export, "
        "download, print or copy (wherever it goes), any bulk one even when viewing the "
        "customers is explained by a case or portfolio, and unexplained look-ups in a day "
        "of more customers than a handful, than the peer group's 95th percentile day and "
        "than the leaver's own usual day. A send to a destination the peer group has as a "
        "routine flow weighs routine_weight of one elsewhere. The risk engine also weighs "
        "all their findings more."
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

    def daily(self, ctx: StepContext, config: Config) -> dict[str, str]:
        # The peers' days this detector flagged are left out as the leaver's own are: a
        # group's leavers' harvest days would lift its 95th percentile over later ones.
        # The line is learned from the customers of unexplained look-ups, as the day is
        # counted: a back office's usual updates with no case raise no line of look-ups.
        return baseline_tables(
            self.id, _line_config(config), "unexplained_lookup_customers", peers_unflagged=True
        )

    def sql(self, ctx: StepContext, config: Config) -> str:
        c = config
        dest_class = destination_class_sql(ctx.config)
        peer_line = quantile_name(c.peer_quantile)
        return f"""
WITH leaving AS (
  SELECT * FROM step_events
  WHERE in_step AND departs_on IS NOT NULL
    AND departs_on >= $day AND departs_on <= $day + to_days({c.window_days})
),
routine AS (  -- today's routine flows: the group's, and service accounts' own ('self:')
  SELECT DISTINCT grp, app, action, destination FROM routine_flows WHERE day = $day
),
sends AS (
  SELECT l.*, EXISTS (
           SELECT 1 FROM routine r
           WHERE {own_flow_sql("r", "l.peer_group", "l.employee_id")}
             AND {same_flow_sql("r", "l")}) AS routine_dest
  FROM leaving l
  WHERE l.action IN {OUTBOUND} AND l.record_count > 0
),
outbound AS (
  SELECT employee_id, time, time AS first_time,
         {c.outbound_points} * CASE WHEN routine_dest THEN {c.routine_weight} ELSE 1.0 END
           AS points,
         CASE WHEN routine_dest THEN 'low' ELSE 'high' END AS severity, FALSE AS critical,
         event_id AS key,
         format('{{}} {{}} customer record(s) to {{}}{{}}, {{}} day(s) before leaving on {{}}{{}}',
                action, record_count, coalesce(destination, 'an unknown destination'),
                CASE WHEN explained THEN '' ELSE ' with no case' END,
                departs_on - $day, departs_on,
                CASE WHEN routine_dest
                     THEN '; where the peer group routinely sends: weighs {c.routine_weight:g}'
                     ELSE '' END) AS reason,
         [event_id] AS event_ids, customer_ids
  FROM sends
  WHERE (NOT explained
         OR (record_count >= {c.bulk_records} AND NOT starts_with(explanation, {sql_str(POLICY)})
             AND coalesce(explanation, '') NOT IN ({sql_str(ROUTINE)}, {sql_str(HANDOVER)})
             AND {dest_class} IS DISTINCT FROM 'allowed'))
),
touched AS (
  SELECT l.employee_id, l.departs_on, c.customer_id, min(l.time) AS time,
         arg_min(l.event_id, (l.time, l.event_id)) AS event_id
  FROM leaving l CROSS JOIN unnest(l.customer_ids) AS c(customer_id)
  WHERE l.action IN ('search', 'view') AND NOT l.explained
  GROUP BY ALL
),
lines AS (  -- the day's line: the floor, the peers' high day, the leaver's own usual day
  SELECT l.employee_id, any_value(p.peer_q) AS peer_q, any_value(o.own_median) AS own_median,
         ceil(greatest({c.min_customers}, coalesce(any_value(p.peer_q), 0),
                       CASE WHEN any_value(o.own_days) >= {c.min_own_days}
                            THEN any_value(o.own_median)
                                 + {c.mad_k} * 1.4826 * any_value(o.mad) + 1
                            ELSE 0 END)) AS line
  FROM leaving l
  LEFT JOIN daily_departing_own o USING (employee_id)
  LEFT JOIN daily_departing_peer p ON p.peer_group = l.peer_group
  GROUP BY l.employee_id
),
ranked AS (
  SELECT t.*, n.line, n.peer_q, n.own_median,
         row_number() OVER (PARTITION BY t.employee_id ORDER BY t.time, t.customer_id) AS rn
  FROM touched t JOIN lines n USING (employee_id)
),
volume AS (
  SELECT employee_id, max(time) AS time, min(time) AS first_time, {c.volume_points} AS points,
         'medium' AS severity, FALSE AS critical, strftime($day, '%Y-%m-%d') AS key,
         format('looked up {{}} customers with no case, {{}} day(s) before leaving on {{}} '
                '(line {{}}: peers'' {peer_line} day {{}}, own usual day {{}})',
                max(rn), any_value(departs_on) - $day, any_value(departs_on),
                {fmt_num("any_value(line)")}, {fmt_num("any_value(peer_q)")},
                {fmt_num("any_value(own_median)")}) AS reason,
         list(DISTINCT event_id) AS event_ids, list(DISTINCT customer_id) AS customer_ids
  FROM ranked WHERE rn <= line
  GROUP BY employee_id HAVING max(rn) >= any_value(line)
)
SELECT * FROM outbound UNION ALL SELECT * FROM volume
"""


def _line_config(c: Config) -> ThresholdConfig:
    """The look-up line's baseline settings in the shape :func:`baseline_tables` reads."""
    return ThresholdConfig(
        floor=float(c.min_customers),
        mad_k=c.mad_k,
        min_own_days=c.min_own_days,
        min_peer_days=c.min_peer_days,
        min_history_days=c.min_history_days,
        peer_quantile=c.peer_quantile,
    )
