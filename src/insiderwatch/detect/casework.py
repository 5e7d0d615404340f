"""Learned casework: how each peer group works its cases, so no role name has to be known.

Two habits of case work explain access that the case's own customer does not:

* **Investigations.** Fraud and risk teams open a case about one customer and then look
  at many others under it: the accounts a search turns up, everyone at an address. Which
  groups work like that is learned, not configured: a peer group *investigates* when, in
  the baseline window before the step's day, at least ``investigation_min_staff`` of its
  staff viewed customers other than the case's own under a case id of their own, and such
  views are at least ``investigation_share`` of all the group's case-linked views. A
  support agent's case-linked views are of the case's customer; one insider who logs
  unrelated look-ups under his tickets is a sliver of his group's and cannot make his
  group investigate. For an investigating group a captured case id of the employee's own
  open case explains every customer looked at under it (``case_linked``) within the
  case scope its peers' own case work shows (:mod:`~insiderwatch.detect.casescope`),
  and a view of a customer the employee's own explained search returned in the last
  ``drilldown_hours`` is the investigation going on (``case_search``).
* **Portfolios.** Teams that serve particular sellers' buyers (seller support) show it in
  their cases: a seller whose buyers are at least ``portfolio_lift`` times more common
  among the team's cases than among all cases (and clearly above chance), in at least
  ``portfolio_min_cases`` of them, is in the team's portfolio, and the team's look-ups of that seller's buyers are
  explained (``portfolio``). A team that serves everyone has no seller above its share.

Staff of a peer group too small to learn from whose work resembles an investigating
group's (:mod:`~insiderwatch.detect.similar`: a fraud team's supervisor) investigate like
it (``case_linked:similar``, ``case_search:similar``).

Each step records its case-linked views per employee (``casework_days``, a row for every
employee with data access that day); learning reads earlier days only, and days on which
the employee had a critical finding teach nothing.
"""

from __future__ import annotations

from insiderwatch.detect.base import (
    DayWindow,
    execute,
    field_set,
    sql_list,
    sql_str,
    teaching_day_sql,
)
from insiderwatch.detect.casescope import scope_params
from insiderwatch.detect.config import DetectionConfig
from insiderwatch.detect.reasons import (
    ALLOWANCE,
    CALLBACK,
    CASE_LINKED,
    CASE_LINKED_SIMILAR,
    CASE_SEARCH,
    CASE_SEARCH_SIMILAR,
    OWN_CASE,
    ROUTINE,
    TEAM_CASE,
)
from insiderwatch.detect.reasons import PORTFOLIO as PORTFOLIO_REASON
from insiderwatch.detect.similar import learn_similar

# When each customer first bought from each team's portfolio sellers, learned once a day
# (:mod:`~insiderwatch.detect.daily`).
PORTFOLIO = "daily_team_buyers"

# What explains one customer shown by an access, in the order they are tried (the first
# explanations of :mod:`~insiderwatch.detect.explain`).
TOUCH_REASONS = (OWN_CASE, CALLBACK, TEAM_CASE, CASE_LINKED, CASE_LINKED_SIMILAR, PORTFOLIO_REASON)

# Investigating peer groups, learned from the case-linked views of earlier days.
INVESTIGATING_SQL = f"""
SELECT peer_group FROM casework_days r
WHERE r.day >= $b0 AND r.day < $day
  AND {teaching_day_sql("r")}
GROUP BY peer_group
HAVING count(DISTINCT employee_id) FILTER (WHERE linked_other > 0) >= $inv_staff
   AND sum(linked_other) > 0 AND sum(linked_other) >= $inv_share * sum(linked)
"""

# Each case of a span of days with the sellers its customer bought from before it opened,
# its employee's team, and whether that employee is of a configured portfolio role:
# ``{since}`` is the span's first instant, it ends at the step's start.
_TEAM_CASES_SQL = """
SELECT DISTINCT e.team, o.seller_id, c.case_id,
       list_contains($portfolio_roles::VARCHAR[], e.role) AS configured, c.opened_at
FROM cases c
JOIN employees e ON e.employee_id = c.employee_id
JOIN orders o ON o.customer_id = c.customer_id AND o.ordered_at <= c.opened_at
WHERE c.opened_at >= {since} AND c.opened_at < $s AND e.team IS NOT NULL
"""


def _team_sellers_sql(cases: str) -> str:
    """Sellers over-represented among each team's past cases (``cases``: rows of
    :data:`_TEAM_CASES_SQL`; lift over all cases); teams of configured portfolio roles
    need no lift."""
    return f"""
SELECT team, seller_id FROM (
  SELECT team, seller_id, count(DISTINCT case_id) AS n, bool_or(configured) AS configured,
         sum(count(DISTINCT case_id)) OVER (PARTITION BY team) AS team_n,
         sum(count(DISTINCT case_id)) OVER (PARTITION BY seller_id) AS seller_n,
         sum(count(DISTINCT case_id)) OVER () AS all_n
  FROM ({cases})
  GROUP BY team, seller_id
) WHERE n >= $minc AND (configured OR (
  n * all_n >= $lift * team_n * seller_n
  -- and clearly above chance (3 standard deviations of a Poisson count), for small teams
  AND n - team_n * seller_n / all_n >= 3 * sqrt(team_n * seller_n / all_n)))
"""


# The teams' portfolio sellers, learned from the cases of the last ``$hist`` days.
TEAM_SELLERS_SQL = _team_sellers_sql(_TEAM_CASES_SQL.format(since="$s - to_days($hist)"))

# The cases of the history window, each day's kept from one day to the next (a
# DayWindow, :mod:`~insiderwatch.detect.daily`): a day joins only its own cases with the
# orders, where joining every case of the window cost two thirds of the learning.
TEAM_CASES = "daily_team_cases"


def team_cases_window(cfg: DetectionConfig) -> DayWindow:
    """The window of cases the portfolios are learned from (:data:`TEAM_CASES`)."""
    return DayWindow(
        days=cfg.explanation.portfolio_history_days,
        sql=_TEAM_CASES_SQL.format(since="$since"),
        placed="opened_at",
    )


# When each customer first bought from each team's portfolio, kept for the day: a live
# day's steps (a step a second) each scanned every order again to find the buyers among
# their own touches, a cost that grew with the orders table, not with what arrived. A
# replay's day is one step, which scanned them once anyway.
_PORTFOLIO_SQL = f"""
CREATE OR REPLACE TEMP TABLE {PORTFOLIO} AS
SELECT o.customer_id, ts.team, min(o.ordered_at) AS since
FROM orders o JOIN ({_team_sellers_sql(f"SELECT * FROM {TEAM_CASES}")}) ts USING (seller_id)
GROUP BY ALL
"""

# A view of a customer logged under the id of a real case (opened before it) that is about
# somebody else, which nothing explains but the allowance: what ``case_mismatch`` counts,
# and what every employee-day records for its peer line (over ``step_touch`` as ``t``).
# A search counts when none of the customers it returned is the case's (a name search
# lists namesakes beside the case's customer: those are not the mismatch), and also when
# only the group's routine explained it: the routine says such searches are usual in
# breadth and fields, while the case id says why these customers were looked at, and
# no case explained them (case reasons come first).
MISMATCHED_TOUCH = f"""
t.in_step AND coalesce(t.case_id, '') <> ''
AND (NOT t.explained OR starts_with(t.explanation, {sql_str(ALLOWANCE)})
     OR (t.action = 'search' AND starts_with(t.explanation, {sql_str(ROUTINE)})))
AND EXISTS (SELECT 1 FROM step_cases k WHERE k.case_id = t.case_id AND k.opened_at <= t.time)
AND NOT EXISTS (SELECT 1 FROM step_cases k
                WHERE k.case_id = t.case_id AND k.customer_id = t.customer_id)
AND (t.action <> 'search' OR NOT EXISTS (
  SELECT 1 FROM step_touch o JOIN step_cases k ON k.customer_id = o.customer_id
  WHERE o.event_id = t.event_id AND k.case_id = t.case_id))
"""

# Every employee's day of data access this step: views under a case id of their own
# (searches list namesakes; views show whom the case is about), the history investigating
# groups are learned from; the customers looked up under a case about someone else that
# nothing but the allowance explained (``MISMATCHED_TOUCH``; zero on most days, so a group
# whose staff never do it has a line too); and whether the group investigated that day
# (case_mismatch compares like with like).
_RECORD_SQL = f"""
INSERT INTO casework_days
WITH own AS (
  SELECT t.employee_id, count(*) AS linked,
         count(*) FILTER (WHERE c.customer_id <> t.customer_id) AS linked_other
  FROM step_touch t JOIN step_cases c ON c.case_id = t.case_id AND c.employee_id = t.employee_id
  WHERE t.in_step AND t.action <> 'search'
  GROUP BY t.employee_id
),
mismatched AS (
  SELECT t.employee_id, count(DISTINCT t.customer_id) AS customers
  FROM step_touch t WHERE {MISMATCHED_TOUCH} GROUP BY t.employee_id
),
mismatched_sets AS (  -- the same customers per field set shown
  SELECT employee_id, list({{'fields': fields, 'customers': customers}} ORDER BY fields) AS sets
  FROM (
    SELECT t.employee_id, {field_set("t.fields")} AS fields,
           count(DISTINCT t.customer_id) AS customers
    FROM step_touch t WHERE {MISMATCHED_TOUCH} GROUP BY ALL
  ) GROUP BY employee_id
)
-- in casework_days' column order
SELECT e.employee_id, $day, any_value(e.peer_group), coalesce(any_value(o.linked), 0),
       coalesce(any_value(o.linked_other), 0), coalesce(any_value(m.customers), 0),
       list_contains($investigating::VARCHAR[], any_value(e.peer_group)),
       coalesce(any_value(s.sets), [])
FROM step_events e LEFT JOIN own o USING (employee_id) LEFT JOIN mismatched m USING (employee_id)
LEFT JOIN mismatched_sets s USING (employee_id)
WHERE e.in_step AND e.action <> 'login'
GROUP BY e.employee_id
"""

# A fresh view of a customer the employee's own search, explained by a case reason,
# returned shortly before: an investigating group following its search results.
_DRILLDOWN_SQL = f"""
UPDATE step_events e SET explanation = x.explanation, explained = TRUE
FROM (
  WITH staff AS (
    SELECT * FROM step_events
    WHERE list_contains($investigating::VARCHAR[], peer_group)
       OR list_contains($investigating_staff::VARCHAR[], employee_id)
  ),
  views AS (
    SELECT event_id, employee_id, peer_group, time, unnest(customer_ids) AS customer_id
    FROM staff WHERE fresh AND NOT explained AND policy IS NULL AND action <> 'search'
  ),
  found AS (
    SELECT DISTINCT employee_id, customer_id, time FROM (
      SELECT employee_id, time, unnest(customer_ids) AS customer_id FROM staff
      WHERE action = 'search' AND policy IS NULL
        AND list_contains({sql_list(TOUCH_REASONS)}, explanation)
    )
  )
  SELECT v.event_id, CASE WHEN any_value(list_contains($investigating::VARCHAR[], v.peer_group))
                          THEN {sql_str(CASE_SEARCH)} ELSE {sql_str(CASE_SEARCH_SIMILAR)} END AS explanation
  FROM views v
  LEFT JOIN found f ON f.employee_id = v.employee_id AND f.customer_id = v.customer_id
     AND f.time <= v.time AND f.time >= v.time - to_hours($drill)
  GROUP BY v.event_id
  HAVING bool_and(f.employee_id IS NOT NULL)
) x
WHERE e.event_id = x.event_id
"""


def casework_params(con, cfg: DetectionConfig, step: dict, similar: str = "step_similar") -> dict:
    """The learned casework in force for a step: ``investigating`` peer groups, and the
    ``investigating_staff`` of groups too small to learn from whose work resembles one of
    them (:mod:`~insiderwatch.detect.similar`, which this writes to the temp table
    ``similar`` for the step), with the casework settings (:func:`casework_settings`)."""
    x = cfg.explanation
    params = {**step, "inv_staff": x.investigation_min_staff, "inv_share": x.investigation_share}
    groups = [g for (g,) in execute(con, INVESTIGATING_SQL, params).fetchall() if g is not None]
    learn_similar(con, cfg, step, into=similar)
    staff = con.execute(
        f"SELECT DISTINCT employee_id FROM {similar} WHERE list_contains(?, grp) ORDER BY ALL",
        [groups],
    ).fetchall()
    return {
        "investigating": groups,
        "investigating_staff": [e for (e,) in staff],
        **casework_settings(cfg),
    }


def casework_settings(cfg: DetectionConfig) -> dict:
    """The casework parameters a step's queries read from the configuration."""
    x = cfg.explanation
    return {
        "hist": x.portfolio_history_days,
        "minc": x.portfolio_min_cases,
        "portfolio_roles": list(x.portfolio_roles),
        "lift": x.portfolio_lift,
        "drill": x.drilldown_hours,
        "inv_staff": x.investigation_min_staff,
        **scope_params(cfg),
    }


def learn_portfolios(con, params: dict) -> None:
    """Write when each customer first bought from each team's portfolio sellers on
    ``$day`` (the step's start ``$s``): the touches a step explains as ``portfolio``.
    The window's cases (:data:`TEAM_CASES`) are made first."""
    execute(con, _PORTFOLIO_SQL, params)


def explain_drilldown(con, params: dict) -> None:
    """Explain investigating groups' views of their own explained searches' results."""
    if params["investigating"] or params["investigating_staff"]:
        execute(con, _DRILLDOWN_SQL, params)


def record_casework(con, params: dict) -> None:
    """Add this step's case-linked views to the history later steps learn from, with
    whether the group investigated that day (``$investigating``)."""
    execute(con, _RECORD_SQL, params)
