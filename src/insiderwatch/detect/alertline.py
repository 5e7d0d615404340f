"""The alert line per day: the fixed ``alert_score``, lowered to the analysts' capacity in
a quiet company.

A fixed line opens as many alerts as the company's findings happen to reach it: dozens a
week in a noisy company, none for weeks in a quiet one, where an insider's findings can
stay below it all the while although the analysts have room for a few alerts. So the line
of day d is the score that would have opened about ``alert_capacity_per_1k`` alerts per
1,000 employee-days over the trailing window of days *before* d (every employee's peak
score in the window, ranked; the k-th one, k = capacity x the window's employee-days /
1000), never below ``min_alert_score`` and never above ``alert_score``: it only lowers the
fixed line, and only where the window opened fewer alerts than the capacity.

The scores are the risk engine's (:mod:`~insiderwatch.detect.risk`: decayed points,
departing weight, suppressions; a critical finding counts as 100), recomputed here in one
query from the stored findings, so the line of a day depends on earlier days' findings
alone: a day's own findings never move its line, and replay and live agree. The lines
are kept in ``alert_lines``; :mod:`~insiderwatch.detect.history` rescores the employees
with findings on a day whose line a run changed.
"""

from __future__ import annotations

import datetime as dt
import math

import pyarrow as pa

from insiderwatch.detect.base import exact_sum
from insiderwatch.detect.config import DetectionConfig

TABLE = "alert_lines"
# Points older than this many half-lives weigh under 0.1% of what they brought: the
# scores leave them out, so a day's line reads a bounded stretch of findings.
_HORIZON_HALF_LIVES = 10

_DECAYED = "b.points * exp(-$decay_per_day * (epoch(a.time) - epoch(b.time)) / 86400)"
# Each finding's score just after it (the risk engine's formula; the decayed points summed
# in fixed point, so the same in any order), each employee's peak per day, and per day its
# line: the k-th highest employee peak over the window before it.
_LINES_SQL = f"""
WITH weighted AS (
  SELECT f.employee_id, f.day, f.time, f.critical,
         f.points * CASE WHEN date_diff('day', f.day, e.departs_on)
                              BETWEEN 0 AND $departing_days
                         THEN $departing_weight ELSE 1 END AS points
  FROM findings f LEFT JOIN employees e USING (employee_id)
  WHERE f.day >= $read_from AND f.day < $last_day
    AND NOT EXISTS (SELECT 1 FROM alert_line_suppressions s
                    WHERE s.employee_id = f.employee_id
                      AND (s.detector = '*' OR s.detector = f.detector)
                      AND f.day <= s.until)),
scores AS (
  SELECT a.employee_id, a.day,
         CASE WHEN a.critical THEN 100.0
              ELSE 100 * (1 - exp(-{exact_sum(_DECAYED)} / $scale)) END AS score
  FROM weighted a JOIN weighted b
    ON b.employee_id = a.employee_id AND b.time <= a.time
   AND b.time > a.time - to_days($horizon_days)
  GROUP BY a.employee_id, a.day, a.time, a.critical),
peaks AS (SELECT employee_id, day, max(score) AS peak FROM scores GROUP BY ALL),
days AS (
  SELECT DISTINCT day FROM findings WHERE day >= $since),
capacity AS (
  SELECT d.day, count(ed.employee_id) AS employee_days,
         CAST(floor($per_1k * count(ed.employee_id) / 1000) AS BIGINT) AS alerts
  FROM days d LEFT JOIN employee_days ed
    ON ed.day >= greatest(d.day - $window::INTEGER, $judged_from) AND ed.day < d.day
  GROUP BY d.day),
ranked AS (
  SELECT d.day, p.employee_id, max(p.peak) AS peak,
         row_number() OVER (PARTITION BY d.day ORDER BY max(p.peak) DESC, p.employee_id) AS n
  FROM days d JOIN peaks p
    ON p.day >= greatest(d.day - $window::INTEGER, $judged_from) AND p.day < d.day
  GROUP BY d.day, p.employee_id)
SELECT c.day, c.employee_days, c.alerts,
       -- rounded: a line read back compares equal to the one computed again
       round(CASE WHEN c.alerts = 0 THEN $alert_score
                  ELSE least($alert_score, greatest($floor, coalesce(r.peak, $floor))) END,
             6)::DOUBLE AS line
FROM capacity c LEFT JOIN ranked r ON r.day = c.day AND r.n = c.alerts
ORDER BY c.day
"""


def _suppressions(cfg: DetectionConfig) -> pa.Table:
    return pa.table({
        "employee_id": pa.array([s.employee_id for s in cfg.suppressions], pa.string()),
        "detector": pa.array([s.detector for s in cfg.suppressions], pa.string()),
        "until": pa.array([s.until for s in cfg.suppressions], pa.date32()),
    })  # fmt: skip


_EMPTY = pa.schema(
    [
        ("day", pa.date32()),
        ("employee_days", pa.int64()),
        ("alerts", pa.int64()),
        ("line", pa.float64()),
    ]
)


def computed_lines(con, cfg: DetectionConfig, since: dt.date | None) -> pa.Table:
    """The line of every day with findings from ``since`` on (None: every day), with the
    window's employee-days and the alerts the capacity allows there."""
    r = cfg.risk
    first, last, history_from = con.execute(
        "SELECT min(day), max(day), (SELECT min(day) FROM employee_days) FROM findings "
        "WHERE day >= coalesce(?::DATE, day)",
        [since],
    ).fetchall()[0]
    if first is None or r.alert_capacity_per_1k <= 0:
        return _EMPTY.empty_table()
    horizon = math.ceil(_HORIZON_HALF_LIVES * r.half_life_days)
    params = {
        "since": first,
        "last_day": last,  # the last day's line reads only the days before it
        "read_from": first - dt.timedelta(days=r.capacity_window_days + horizon),
        "departing_days": r.departing_window_days,
        "departing_weight": r.departing_weight,
        "decay_per_day": math.log(2) / r.half_life_days,
        "horizon_days": horizon,
        "scale": r.scale,
        "window": r.capacity_window_days,
        "per_1k": r.alert_capacity_per_1k,
        "alert_score": r.alert_score,
        "floor": min(r.min_alert_score, r.alert_score),
        # Learning days open no alert: they say nothing of how many a day would open.
        "judged_from": cfg.routine.judging_from(history_from),
    }
    con.register("alert_line_suppressions", _suppressions(cfg))
    try:
        rows = con.execute(_LINES_SQL, params).fetchall()  # a row per day: few
    finally:
        con.unregister("alert_line_suppressions")
    return pa.Table.from_pylist([dict(zip(_EMPTY.names, r, strict=True)) for r in rows], _EMPTY)


def update_lines(con, cfg: DetectionConfig, since: dt.date | None) -> list[dt.date]:
    """Recompute the stored lines from ``since`` on (None: all); the days whose line
    changed, appeared or went."""
    con.register("fresh_alert_lines", computed_lines(con, cfg, since))
    try:
        changed = con.execute(
            f"""WITH old AS (SELECT day, line FROM {TABLE} WHERE day >= coalesce($since, day)),
                     new AS (SELECT day, line FROM fresh_alert_lines)
                SELECT DISTINCT day FROM ((SELECT * FROM new EXCEPT SELECT * FROM old)
                                          UNION ALL (SELECT * FROM old EXCEPT SELECT * FROM new))
                ORDER BY day""",
            {"since": since},
        ).fetchall()
        con.execute(f"DELETE FROM {TABLE} WHERE day >= coalesce(?::DATE, day)", [since])
        con.execute(f"INSERT INTO {TABLE} SELECT day, employee_days, alerts, line "
                    "FROM fresh_alert_lines")  # fmt: skip
    finally:
        con.unregister("fresh_alert_lines")
    return [r[0] for r in changed]


def stored_lines(con) -> dict[dt.date, float]:
    """Each day's line as stored (a day without one keeps ``alert_score``)."""
    return dict(con.execute(f"SELECT day, line FROM {TABLE}").fetchall())
