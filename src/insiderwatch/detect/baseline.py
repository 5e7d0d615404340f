"""A running daily measure compared with the employee's own history and their peers'.

Volume and sensitivity both ask "has today's unexplained access, so far, gone past what
is usual for this person and for people in the same role?". Usual is robust: the median
plus k scaled median absolute deviations of the employee's own earlier days (leaving out
days this detector flagged, so a slow harvest does not become the usual), and the
given quantile (99th by default) of the peers' earlier employee-days (the cold-start baseline, and a guard
against flagging someone for a normal busy day in a variable role). The measure is a
running sum in event time, so a finding fires at the very event that crosses the line
and never uses a later one; crossing twice, four and eight times the line are further
findings, so risk grows with the size of the harvest.
"""

from __future__ import annotations

import msgspec

from insiderwatch.detect.base import StepContext, capped_list, exact_sum, sql_str
from insiderwatch.detect.ranges import AtLeastOne, NonNegative, Positive, Quantile


class ThresholdConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    floor: NonNegative  # never flag below this
    mad_k: NonNegative = 4.0
    min_own_days: AtLeastOne = 5  # fewer days of history: peers only (cold start)
    # History needed before judging anyone (a learning period): on the first days of a
    # deployment the baselines are too thin, and guessing floods the queue.
    min_peer_days: AtLeastOne = 20  # employee-days of the peer group
    min_history_days: AtLeastOne = 5  # distinct days
    peer_quantile: Quantile = 0.99
    points: NonNegative = 12.0  # per level crossed
    levels: list[Positive] = msgspec.field(default_factory=lambda: [1.0, 2.0, 4.0, 8.0])
    max_evidence: AtLeastOne = 500


def running_excess_sql(
    detector: str,
    ctx: StepContext,
    cfg: ThresholdConfig,
    contributions: str,
    history_column: str,
    describe: str,
) -> str:
    """Findings when the running sum of ``contributions`` (rows: employee_id, peer_group, time,
    event_id, customer_id, value) crosses the employee's threshold.

    ``describe`` is a SQL expression over ``total``, ``own_median``, ``peer_q``,
    ``threshold`` and ``time`` (the crossing) giving the reason sentence.
    """
    levels = ", ".join(str(x) for x in cfg.levels)
    return f"""
WITH contrib AS ({contributions}),
own AS (SELECT * FROM {_table(detector, "own")}),
peer AS (SELECT * FROM {_table(detector, "peer")}),
thresholds AS (
  SELECT c.employee_id, any_value(o.own_median) AS own_median, any_value(o.own_days) AS own_days,
         any_value(p.peer_q) AS peer_q,
         greatest({cfg.floor},
                  coalesce(any_value(p.peer_q), 0),
                  CASE WHEN any_value(o.own_days) >= {cfg.min_own_days}
                       THEN any_value(o.own_median) + {cfg.mad_k} * 1.4826 * any_value(o.mad) + 1
                       ELSE 0 END) AS threshold
  FROM contrib c
  LEFT JOIN own o USING (employee_id)
  JOIN peer p ON p.peer_group = c.peer_group
  GROUP BY c.employee_id
),
run AS (
  SELECT c.*, row_number() OVER w AS rn, {exact_sum("c.value", over="w")} AS total
  FROM contrib c
  WINDOW w AS (PARTITION BY c.employee_id ORDER BY c.time, c.event_id, c.customer_id
               ROWS UNBOUNDED PRECEDING)
),
crossings AS (
  SELECT r.employee_id, lvl.level, min(r.rn) AS rn
  FROM run r JOIN thresholds t USING (employee_id)
  CROSS JOIN (SELECT unnest([{levels}]) AS level) lvl
  WHERE r.total >= t.threshold * lvl.level
  GROUP BY ALL
),
found AS (
  SELECT x.employee_id, x.level, x.rn, any_value(t.threshold) AS threshold,
         any_value(t.own_median) AS own_median, any_value(t.peer_q) AS peer_q,
         max(r.time) AS time, min(r.time) AS first_time,
         max(r.total) AS total,
         {capped_list("r.event_id", cfg.max_evidence)} AS event_ids,
         {capped_list("r.customer_id", cfg.max_evidence, "r.customer_id IS NOT NULL")}
           AS customer_ids
  FROM crossings x JOIN run r ON r.employee_id = x.employee_id AND r.rn <= x.rn
  JOIN thresholds t ON t.employee_id = x.employee_id
  GROUP BY x.employee_id, x.level, x.rn
)
SELECT employee_id, time, first_time, {cfg.points} AS points,
       CASE WHEN level >= 4 THEN 'high' WHEN level >= 2 THEN 'medium' ELSE 'low' END AS severity,
       FALSE AS critical,
       strftime($day, '%Y-%m-%d') || ':x' || level::VARCHAR AS key,
       {describe} AS reason,
       event_ids, customer_ids,
       {sql_str(history_column)} AS measure, total AS observed, threshold,
       own_median AS own_usual, peer_q AS peer_usual
FROM found
"""


def baseline_tables(
    detector: str, cfg: ThresholdConfig, history_column: str, peers_unflagged: bool = False
) -> dict[str, str]:
    """The usual of :func:`running_excess_sql` (``Detector.daily``): each employee's
    own and each peer group's, from the days before the step's; the same all day.
    ``peers_unflagged``: the peers' days this detector flagged are left out too (a high
    quantile that a few flagged days would lift: the harvest days of a group's leavers)."""
    flagged = f"""NOT EXISTS (SELECT 1 FROM findings f WHERE f.detector = {sql_str(detector)}
                    AND f.employee_id = h.employee_id AND f.day = h.day)"""
    # the peers' days, as the query read before the option (its text is part of the
    # detectors' versions)
    peer_filter = " WHERE day >= $b0 AND day < $day"
    if peers_unflagged:
        peer_filter = f" h{peer_filter} AND {flagged}"
    return {
        _table(detector, "own"): f"""
WITH history AS (
  SELECT employee_id, day, {history_column} AS v FROM employee_days
  WHERE day >= $b0 AND day < $day
),
own_history AS (  -- days this detector flagged teach nothing about the usual
  SELECT * FROM history h
  WHERE {flagged}
),
own AS (
  SELECT employee_id, count(*) AS own_days, median(v) AS own_median FROM own_history GROUP BY ALL
)
SELECT o.*, m.mad FROM own o LEFT JOIN (
  SELECT h.employee_id, median(abs(h.v - o.own_median)) AS mad
  FROM own_history h JOIN own o USING (employee_id) GROUP BY ALL
) m USING (employee_id)""",
        _table(detector, "peer"): f"""
SELECT peer_group, quantile_cont({history_column}, {cfg.peer_quantile}) AS peer_q
FROM employee_days{peer_filter}
GROUP BY ALL
HAVING count(*) >= {cfg.min_peer_days} AND count(DISTINCT day) >= {cfg.min_history_days}""",
    }


def quantile_name(quantile: float) -> str:
    """How a finding's reason names the line a quantile of the peers' days sets."""
    return "highest" if quantile >= 1.0 else f"{quantile * 100:g}th percentile"


def _table(detector: str, part: str) -> str:
    return f"daily_{detector}_{part}"


def fmt_num(expr: str) -> str:
    """A number for a sentence: whole numbers without decimals, others with one."""
    value = f"({expr})::DOUBLE"
    return (
        f"CASE WHEN {expr} IS NULL THEN 'n/a' "
        f"WHEN {value} = round({value}) THEN format('{{:,}}', {value}::BIGINT) "
        f"ELSE format('{{:,.1f}}', {value}) END"
    )


__all__ = ["ThresholdConfig", "baseline_tables", "running_excess_sql", "fmt_num"]
