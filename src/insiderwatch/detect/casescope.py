"""Case scope: how far an investigating group's own case reaches, learned from its peers.

For an investigating group (:mod:`~insiderwatch.detect.casework`) a case id of the
employee's own open case explains every customer looked at under it (``case_linked``):
an investigation runs through the accounts its searches turn up. Taken literally, that
explains everything an investigator logs under any open case of theirs, including the
payment details of customers the case has nothing to do with. So the reach of a case is
learned per group from the peers' own case work, and a view beyond it is not explained
by the case (it falls to the allowance, or stays unexplained for the detectors;
``case_mismatch`` judges it against the peers' own such views):

* **Breadth.** A customer other than the case's whom none of the employee's own
  searches returned in the ``drilldown_hours`` before is *unsearched*. Per case and day,
  the group's staff view few such customers (a linked account opened from the case's
  page); the ``case_scope_quantile`` (99th percentile by default) of the peers' counts
  per case-day is the breadth. Past it, further unsearched customers under the same
  case that day are not explained by the case. Customers the searches returned stay
  explained whatever their number: a fraud ring's accounts come from searches, and are
  ``case_linked`` (or ``case_search``) as before.
* **Fields.** The field sets the group's staff expose of other customers under their
  cases: a set used by at least ``investigation_min_staff`` of them, and making at least
  ``case_scope_min_share`` of such views, is in scope; a view of another customer showing
  a set the group does not use under cases (payment details alone, say, in a group that
  opens full profiles) is not explained by the case.

Only the own case's customer is always covered. A group with fewer than
``case_scope_min_case_days`` case-days of such views in the baseline window (a fraud
team's two supervisors) takes the scope the investigating groups' case work shows
together: how far the company's investigations reach. Otherwise a group too small to
learn from would explain anything logged under its cases, and one of its two members
can make it investigate. With too few such case-days there as well, nothing is limited
(nor is a group configured as investigating but not learned to be). Staff who
investigate by resemblance (``case_linked:similar``) keep their reach.

Learned from earlier days only (``case_scope_days``), leaving out days on which the
employee had a critical finding; each step records its own views for later steps.
"""

from __future__ import annotations

from insiderwatch.detect.base import execute, sql_str, teaching_day_sql
from insiderwatch.detect.config import DetectionConfig
from insiderwatch.detect.reasons import CASE_LINKED

# The scope each investigating group with enough case history has, learned once a day
# (:mod:`~insiderwatch.detect.daily`).
CASE_SCOPE = "daily_case_scope"

# This step's views of another customer under a case of the employee's own: whether one
# of their searches returned the customer shortly before, and, for the others, the order
# in which each first appeared under that case today. Its own name: ``step_scope`` is the
# employees a partial-day run evaluates (detect/scope.py), read while the run forgets.
_SCOPE_SQL = """
CREATE OR REPLACE TEMP TABLE step_case_views AS
WITH other AS (
  SELECT t.event_id, any_value(t.employee_id) AS employee_id,
         any_value(t.peer_group) AS peer_group, t.customer_id, any_value(t.time) AS time,
         any_value(t.case_id) AS case_id,
         coalesce(array_to_string(list_sort(any_value(t.fields)), ','), '') AS fields
  FROM step_touch t JOIN step_cases c ON c.case_id = t.case_id AND c.employee_id = t.employee_id
  WHERE t.in_step AND t.action <> 'search'
  GROUP BY t.event_id, t.customer_id
  HAVING NOT bool_or(c.customer_id = t.customer_id)
),
searched AS (
  SELECT DISTINCT o.event_id, o.customer_id
  FROM other o JOIN step_touch s
    ON s.employee_id = o.employee_id AND s.customer_id = o.customer_id
   AND s.action = 'search' AND s.time <= o.time AND s.time >= o.time - to_hours($drill)
),
marked AS (
  SELECT o.*, s.event_id IS NOT NULL AS searched,
         min(o.time) OVER (PARTITION BY o.employee_id, o.case_id, o.customer_id,
                                        s.event_id IS NULL) AS first_time
  FROM other o LEFT JOIN searched s USING (event_id, customer_id)
)
SELECT *, CASE WHEN NOT searched
               THEN dense_rank() OVER (PARTITION BY employee_id, case_id, searched
                                       ORDER BY first_time, customer_id) END AS unsearched_rank
FROM marked
"""

# The scope each investigating group has on $day: its own where its case history is long
# enough, else the one the investigating groups' case history shows together (``pooled``);
# with the case-days and staff it was learned from (what calibrate shows).
_LEARN_SQL = f"""
CREATE OR REPLACE TEMP TABLE {{into}} AS
WITH hist AS (
  SELECT s.* FROM case_scope_days s
  WHERE s.day >= $b0 AND s.day < $day
    AND {teaching_day_sql("s")}
),
levels AS (  -- each group's history, and the investigating groups' together ('')
  SELECT peer_group AS grp, * FROM hist
  UNION ALL
  SELECT '' AS grp, * FROM hist WHERE list_contains($investigating::VARCHAR[], peer_group)
),
sets AS (  -- the field sets in scope: shown by enough staff, in enough such views
  SELECT grp, fields FROM (
    SELECT grp, fields, count(DISTINCT employee_id) AS staff, sum(views) AS views,
           sum(sum(views)) OVER (PARTITION BY grp) AS all_views
    FROM levels GROUP BY grp, fields
  ) WHERE staff >= $inv_staff AND views >= $scope_share * all_views
),
case_days AS (  -- unsearched customers per case and day (once per field set shown), of
  -- the sets in scope: views the case could never explain teach no breadth
  SELECT grp, employee_id, day, case_id, sum(unsearched) AS unsearched
  FROM levels SEMI JOIN sets USING (grp, fields) GROUP BY ALL
),
breadth AS (
  SELECT grp, count(*) AS case_days, count(DISTINCT employee_id) AS staff,
         quantile_disc(unsearched, $scope_q) AS breadth
  FROM case_days GROUP BY grp HAVING count(*) >= $scope_days
),
scopes AS (
  SELECT grp, b.breadth, b.case_days, b.staff, list(s.fields ORDER BY s.fields) AS field_sets
  FROM breadth b JOIN sets s USING (grp) GROUP BY grp, b.breadth, b.case_days, b.staff
)
SELECT g.peer_group, x.breadth, x.case_days, x.staff, x.field_sets, x.grp = '' AS pooled
FROM (SELECT unnest($investigating::VARCHAR[]) AS peer_group) g
JOIN scopes x
  ON x.grp = g.peer_group OR (x.grp = '' AND g.peer_group NOT IN (SELECT grp FROM scopes))
"""

# A view past the learned scope is not explained by the case (the touch's other reasons
# come before case_linked, so a customer of the employee's own case keeps its own_case).
# Fresh touches only: a kept touch holds the reason an earlier step limited already.
_LIMIT_SQL = f"""
UPDATE step_touch t SET touch_explanation = NULL
FROM step_case_views s JOIN {CASE_SCOPE} g USING (peer_group)
WHERE t.event_id = s.event_id AND t.customer_id = s.customer_id AND t.fresh
  AND t.touch_explanation = {sql_str(CASE_LINKED)}
  AND (NOT list_contains(coalesce(g.field_sets, []), s.fields)
       OR coalesce(s.unsearched_rank > g.breadth, FALSE))
"""

_RECORD_SQL = """
INSERT INTO case_scope_days
SELECT employee_id, $day, case_id, fields, any_value(peer_group), count(*),
       count(DISTINCT customer_id) FILTER (WHERE NOT searched)
FROM step_case_views GROUP BY employee_id, case_id, fields
"""


def scope_params(cfg: DetectionConfig) -> dict:
    x = cfg.explanation
    return {
        "scope_q": x.case_scope_quantile,
        "scope_share": x.case_scope_min_share,
        "scope_days": x.case_scope_min_case_days,
    }


def limit_case_scope(con, params: dict) -> None:
    """Take ``case_linked`` off this step's views past their group's case scope learned
    for the day (``step_touch`` must hold the touch explanations; writes ``step_case_views``)."""
    execute(con, _SCOPE_SQL, params)
    if params["investigating"]:
        execute(con, _LIMIT_SQL, params)


def learn_case_scope(con, params: dict, into: str = "step_case_scope") -> None:
    """Write the temp table ``into`` (peer_group, breadth, case_days, staff, field_sets,
    pooled): the scope of each investigating group on ``$day``, its own or, with too
    little case history of its own, the investigating groups' together (``pooled``; the
    engine's is :data:`CASE_SCOPE`, learned once a day)."""
    execute(con, _LEARN_SQL.format(into=into), params)


def record_case_scope(con, params: dict) -> None:
    """Add this step's views under own cases to the history scopes are learned from."""
    execute(con, _RECORD_SQL, params)
