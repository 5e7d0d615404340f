"""Behavioural peer groups: staff of a group too small to learn from take the habits of
the peer group whose work most resembles theirs.

What is usual is learned per peer group (role within the team family), and a group of
one or two (a team's only manager, a fraud team's supervisor) teaches nothing. What they
actually do does: each step compares every such employee's mix of accesses per (app,
action) over the baseline window with each peer group's large enough to learn from (at
least ``min_employees`` active staff), each member weighing the same: the groups with a
cosine of at least ``min_similarity`` are theirs by behaviour. A habit learned by such a
group applies to them, from the most similar group that has it: the look-up allowance
(:mod:`~insiderwatch.detect.allowance`), investigating
(:mod:`~insiderwatch.detect.casework`) and routine flows other than sending data out
(:mod:`~insiderwatch.detect.routine`); the explanation says so (``allowance:similar``,
``case_linked:similar``, ``case_search:similar``, ``routine:similar``).

Learned from earlier days only; days on which the employee had a critical finding teach
nothing, so a harvest that raised one cannot make its author resemble anybody.
"""

from __future__ import annotations

from insiderwatch.detect.base import execute, teaching_day_sql
from insiderwatch.detect.config import DetectionConfig

# The table a step reads (kept for the day, :mod:`~insiderwatch.detect.daily`).
SIMILAR = "daily_similar"

_SIMILAR_SQL = f"""
CREATE OR REPLACE TEMP TABLE {{into}} AS
WITH flows AS (
  SELECT r.* FROM routine_days r
  WHERE r.day >= $b0 AND r.day < $day
    AND {teaching_day_sql("r")}
),
mix AS (  -- each one's share of accesses per (app, action) in the window
  SELECT *, n / sum(n) OVER (PARTITION BY peer_group, employee_id) AS w FROM (
    SELECT peer_group, employee_id, app, action, sum(events) AS n FROM flows GROUP BY ALL
  )
),
sizes AS (
  SELECT peer_group, count(DISTINCT employee_id) AS staff
  FROM employee_days WHERE day >= $b0 AND day < $day GROUP BY ALL
),
groups AS (
  SELECT m.peer_group, m.app, m.action, sum(m.w) AS w
  FROM mix m JOIN sizes s USING (peer_group) WHERE s.staff >= $min_employees
  GROUP BY ALL
),
alone AS (
  SELECT m.* FROM mix m LEFT JOIN sizes s USING (peer_group)
  WHERE coalesce(s.staff, 0) < $min_employees
),
norms AS (
  SELECT 'group' AS kind, peer_group AS id, sqrt(sum(w * w)) AS norm FROM groups GROUP BY ALL
  UNION ALL
  SELECT 'staff', employee_id, sqrt(sum(w * w)) FROM alone GROUP BY ALL
),
similarity AS (
  SELECT s.employee_id, s.peer_group, g.peer_group AS grp,
         sum(s.w * g.w) / (any_value(ns.norm) * any_value(ng.norm)) AS cosine
  FROM alone s JOIN groups g USING (app, action)
  JOIN norms ns ON ns.kind = 'staff' AND ns.id = s.employee_id
  JOIN norms ng ON ng.kind = 'group' AND ng.id = g.peer_group
  GROUP BY ALL
)
SELECT * FROM similarity WHERE cosine >= $similar
"""


def learn_similar(con, cfg: DetectionConfig, params: dict, into: str = "step_similar") -> None:
    """Write the temp table ``into`` (employee_id, peer_group, grp, cosine): the staff of
    groups too small to learn from, with each peer group their work resembles on ``$day``
    (the engine's is :data:`SIMILAR`, learned once a day)."""
    r = cfg.routine
    execute(
        con,
        _SIMILAR_SQL.format(into=into),
        {**params, "min_employees": r.min_employees, "similar": r.min_similarity},
    )
