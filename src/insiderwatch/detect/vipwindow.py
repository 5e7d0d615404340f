"""The ``vip`` detector's window: how many distinct public figures an employee looked up
with no case over the last days, against the peers' same count over their own windows.

One VIP look-up on one day is what an agent who took a famous caller's call does, and in
a company where callers are found by a name search and opened with their contact details
a snoop's single look-up has exactly that shape. What the agent does not do is look up
several *different* VIPs within a fortnight: so the employee is judged, not the look-up.
Over ``window_days`` (today included, up to the moment of the look-up) each distinct
figure the employee looked up with no case counts once, divided among the staff who
looked them up with no case over the history there is (a VIP who calls a lot, whom many
agents open, counts little for each; one nobody else opens counts one). That count is
ranked against the peers' employee-days, each with the same count over its own window
(the employee's own left out; a small group's share pulled towards its team family's,
its role's and the company's, as the day's ``vip`` look-ups are).

Only the figures beyond the first ``min_vips`` add anything: one figure's look-up is the
day's ``vip`` finding's to judge, and lifting it over the alert line is what cost
precision before (docs/detections.md, vip "tried and dropped"). Each new figure's
finding weighs the rise in the window's rarity weight it brings, so the findings of one
window add up to ``window_points`` times the rarity of the largest count it reached,
however many figures were looked up on the way.

The history is ``revisit_days`` (each employee's first case-less targeted look-up of a
customer per day), less what a relationship book or a team's portfolio explained (a
desk's own clients) and the figures the employee served under a case in the span (their
client, no stranger's curiosity); everything is read from the days before today and
from today's rows up to the look-up, never later.
"""

from __future__ import annotations

from insiderwatch.detect.base import exact_sum
from insiderwatch.detect.groupbook import EXPLANATION as RELATIONSHIP_BOOK
from insiderwatch.detect.public import PUBLIC_FIGURES
from insiderwatch.detect.revisits import PORTFOLIO

# A team's family, as in peer groups ("vip-care-2" and "vip-care-7" are one family).
TEAM_FAMILY = "regexp_replace(coalesce({}, ''), '[-_ ]*[0-9]+$', '')"

LOOKS = "daily_vip_window_looks"  # figures looked up with no case, per employee and day
SHARERS = "daily_vip_window_sharers"  # how many staff looked each figure up so
PEER_WINDOWS = "daily_vip_window_days"  # everyone's earlier days with their window's count

# The explanations that make a look-up of a figure someone's work, not curiosity, though
# revisit_days keeps it (it records what explains a population, not a person).
_WORK = (RELATIONSHIP_BOOK, PORTFOLIO)


def daily_tables(window_days: int) -> dict[str, str]:
    """The temp tables (name: query) of the window learned from the days before today.
    The span read is the baseline window plus one window before it, so the peers'
    earliest baseline day has its whole window."""
    span = f"$b0 - INTERVAL {int(window_days) - 1} DAY"
    work = ", ".join(f"'{w}'" for w in _WORK)
    return {
        LOOKS: f"""
SELECT r.employee_id, r.day, r.customer_id, r.time, r.event_id
FROM revisit_days r JOIN {PUBLIC_FIGURES} pf USING (customer_id)
LEFT JOIN access_explained x ON x.event_id = r.event_id AND x.day = r.day
WHERE r.day >= {span} AND r.day < $day AND coalesce(x.explanation, '') NOT IN ({work})
  AND NOT EXISTS (SELECT 1 FROM book_days b WHERE b.employee_id = r.employee_id
                  AND b.customer_id = r.customer_id AND b.day >= {span} AND b.day < $day)""",
        SHARERS: f"""
SELECT customer_id, count(DISTINCT employee_id) AS staff FROM {LOOKS} GROUP BY customer_id""",
        PEER_WINDOWS: f"""
WITH pairs AS (  -- the distinct figures in each employee-day's window
  SELECT DISTINCT d.employee_id, d.day, l.customer_id
  FROM employee_days d JOIN {LOOKS} l ON l.employee_id = d.employee_id
   AND l.day > d.day - INTERVAL {int(window_days)} DAY AND l.day <= d.day
  WHERE d.day >= $b0 AND d.day < $day
),
counts AS (
  SELECT p.employee_id, p.day, {exact_sum("1.0 / s.staff")} AS c
  FROM pairs p JOIN {SHARERS} s USING (customer_id) GROUP BY ALL
)
SELECT d.employee_id, d.peer_group, d.role, {TEAM_FAMILY.format("d.team")} AS family,
       coalesce(c.c, 0.0) AS c
FROM employee_days d LEFT JOIN counts c USING (employee_id, day)
WHERE d.day >= $b0 AND d.day < $day
  -- whole windows only: one cut short by the start of the history holds fewer figures
  -- than a whole one would, and would make the first weeks' ordinary counts look rare
  AND d.day >= (SELECT min(day) FROM employee_days WHERE day < $day)
               + INTERVAL {int(window_days) - 1} DAY""",
    }


def _tail(count: str, k: float) -> str:
    """SQL: the share of the others' employee-days whose window count reached ``count``
    (a column of the looks joined to the peers' windows ``d``), the group's pulled
    towards its team family's, that towards the role's, that towards the company's, as
    if ``k`` more days of each wider level were seen."""

    def level(where: str) -> tuple[str, str]:
        hit = f"d.c >= l.{count}" + (f" AND {where}" if where else "")
        days = f"count(d.c) FILTER (WHERE {where})" if where else "count(d.c)"
        return f"count(d.c) FILTER (WHERE {hit})", days

    (gk, gn), (fk, fn) = level("d.peer_group = l.peer_group"), level("d.family = l.family")
    (rk, rn), (ak, an) = level("d.role = l.role"), level("")
    company = f"{ak} / nullif({an}, 0)"  # NULL, and no finding, before any whole window
    role = f"({rk} + {k} * {company}) / ({rn} + {k})"
    family = f"({fk} + {k} * {role}) / ({fn} + {k})"
    return f"({gk} + {k} * {family}) / ({gn} + {k})"


def _weight(tail: str, count: str, config) -> str:
    """SQL: the rarity weight of a window count: nothing below ``min_vips`` or at the
    peers' routine tail, full at ``full_weight_tail`` or where no peer's window held
    as many."""
    log_scale = f"ln({tail} / {config.routine_tail}) / ln({config.full_weight_tail} / {config.routine_tail})"
    return f"""CASE WHEN {count} < {config.min_vips} OR {tail} IS NULL
                 OR {tail} >= {config.routine_tail} THEN 0.0
            WHEN {tail} = 0 THEN 1.0 ELSE least(1.0, {log_scale}) END"""


def findings_sql(config) -> str:
    """The window's findings, in the detector's finding columns: one at each figure new
    to the employee's window today, weighing the rise in rarity it brings."""
    w = int(config.window_days)
    k = config.prior_days
    return f"""
WITH earlier AS (  -- the figures of the employee's window before today, at their first look-up
  SELECT l.employee_id, l.customer_id, min(l.time) AS time,
         arg_min(l.event_id, (l.time, l.event_id)) AS event_id, 1.0 / any_value(s.staff) AS share
  FROM {LOOKS} l JOIN {SHARERS} s USING (customer_id)
  WHERE l.day > $day - INTERVAL {w} DAY
  GROUP BY l.employee_id, l.customer_id
),
today AS (  -- figures looked up today with no case, new to the window
  SELECT t.employee_id, t.customer_id, any_value(t.peer_group) AS peer_group,
         any_value(t.role) AS role, any_value({TEAM_FAMILY.format("t.team")}) AS family,
         min(t.time) AS time, arg_min(t.event_id, (t.time, t.event_id)) AS event_id,
         1.0 / (coalesce(any_value(s.staff), 0) + 1) AS share
  FROM step_touch t JOIN {PUBLIC_FIGURES} pf USING (customer_id)
  LEFT JOIN {SHARERS} s USING (customer_id)
  WHERE t.in_step AND NOT t.explained AND t.breadth <= $targeted
    AND NOT EXISTS (SELECT 1 FROM earlier e WHERE e.employee_id = t.employee_id
                    AND e.customer_id = t.customer_id)
    AND NOT EXISTS (SELECT 1 FROM book_days b WHERE b.employee_id = t.employee_id
                    AND b.customer_id = t.customer_id
                    AND b.day >= $b0 - INTERVAL {w - 1} DAY AND b.day < $day)
  GROUP BY t.employee_id, t.customer_id
),
members AS (
  SELECT employee_id, customer_id, time, event_id, share FROM earlier
  UNION ALL SELECT employee_id, customer_id, time, event_id, share FROM today
),
looks AS (  -- each new figure's window up to it: the count with it (c), without it (c0)
  SELECT t.employee_id, t.customer_id, t.peer_group, t.role, t.family, t.time, t.event_id,
         {exact_sum("m.share")} AS c, {exact_sum("m.share")} - any_value(t.share) AS c0,
         count(*) AS figures, min(m.time) AS first_time,
         list_reverse(list(m.event_id ORDER BY m.time DESC, m.event_id DESC)[1:10]) AS event_ids,
         list_reverse(list(m.customer_id ORDER BY m.time DESC, m.event_id DESC)[1:10])
           AS customer_ids
  FROM today t JOIN members m ON m.employee_id = t.employee_id
   AND (m.time < t.time OR (m.time = t.time AND m.customer_id <= t.customer_id))
  GROUP BY ALL
),
ranked AS (
  SELECT l.employee_id, l.customer_id, l.time, l.first_time, l.figures, l.c, l.c0,
         l.event_ids, l.customer_ids, {_tail("c", k)} AS tail, {_tail("c0", k)} AS tail0
  FROM looks l LEFT JOIN {PEER_WINDOWS} d ON d.employee_id <> l.employee_id
  WHERE l.c >= {config.min_vips}
  GROUP BY ALL
),
weighed AS (
  SELECT *, {_weight("tail", "c", config)} - {_weight("tail0", "c0", config)} AS rise
  FROM ranked
)
SELECT employee_id, time, first_time, {config.window_points} * rise AS points,
       'medium' AS severity, FALSE AS critical,
       strftime($day, '%Y-%m-%d') || ':window:' || customer_id AS key,
       format('looked up {{}} different VIPs or public figures with no case in {w} days '
              || '({{}} once each shared among the staff who also looked them up); '
              || 'more than in {{}}% of peers'' windows',
              figures, round(c, 1), round(100 * (1 - tail))::INTEGER) AS reason,
       event_ids, customer_ids
FROM weighed WHERE rise > 0
"""
