"""Look-ups logged under a real case that is about somebody else.

An insider who knows that look-ups without a case are counted types the id of a real,
open case into the tool: their own, a teammate's, anyone's. The case exists and is open,
so a check that "a case id was given" passes; but the case is about another customer.
Groups that investigate (fraud, risk) legitimately look at many customers under one case:
their own cases explain such views within the case scope their peers' work shows
(learned casework, ``case_linked``, :mod:`~insiderwatch.detect.casescope`). What no case
explained is judged here, for investigators too: the line is the peers' 99th percentile
of their own daily views of others under their cases that the case did not explain
(``casework_days.unscoped``). For everyone else a case id that does not fit the
customer is a reason that does not hold.
"""

from __future__ import annotations

import msgspec

from insiderwatch.detect.base import Detector, StepContext, capped_list
from insiderwatch.detect.baseline import fmt_num


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    floor: int = 2  # customers a day, never fewer
    peer_quantile: float = (
        0.99  # of the peers' daily views of others their own cases didn't explain
    )
    min_peer_days: int = 20  # employee-days of case-linked views: a group with fewer is not judged
    points: float = 12.0  # a day's look-ups under a reason that does not hold
    max_evidence: int = 200


class CaseMismatch(Detector):
    id = "case_mismatch"
    version = "1"
    title = "Look-ups under a case about someone else"
    description = (
        "Views of customers logged under the id of a real case (open when it was used, "
        "anyone's) that is about a different customer, which nothing else explains (the "
        "group's allowance aside); fires once a day when the day's count reaches the "
        "floor and passes the peers' 99th percentile of daily views of others under their "
        "own cases that the case did not explain (an investigating group's case explains "
        "what its learned case scope covers)."
    )
    why = (
        "Insiders who know that case-less look-ups are counted put a real ticket's id on "
        "them. The ticket is open and real; only the customer does not fit."
    )
    false_positives = (
        "A case about a household or a business whose members are other customers; a "
        "case id typed by mistake; investigation work in a group not yet learned as "
        "investigating (list it in investigation_roles)."
    )
    investigate = (
        "Compare each customer looked up with the case's customer and subject: related "
        "(same household, same order) or not; ask the case's owner whether the look-ups "
        "were part of it."
    )
    Config = Config

    def sql(self, ctx: StepContext, config: Config) -> str:
        c = config
        return f"""
WITH peer AS (  -- the peers' daily views of others under own cases their case didn't
  -- explain, on days the group worked as it does now (investigating or not)
  SELECT peer_group, quantile_cont(unscoped, {c.peer_quantile}) AS q FROM (
    SELECT *, arg_max(investigating, (day, investigating)) OVER (PARTITION BY peer_group) AS now
    FROM casework_days WHERE day >= $b0 AND day < $day
  ) WHERE investigating = now
  GROUP BY ALL HAVING count(*) >= {c.min_peer_days}
),
mismatched AS (  -- first view of each customer today under a case about someone else
  SELECT t.employee_id, any_value(t.peer_group) AS peer_group, t.customer_id,
         min(t.time) AS time, arg_min(t.event_id, (t.time, t.event_id)) AS event_id,
         arg_min(t.case_id, (t.time, t.event_id, t.case_id)) AS case_id
  FROM step_touch t
  WHERE t.in_step AND t.action <> 'search' AND coalesce(t.case_id, '') <> ''
    AND (NOT t.explained OR starts_with(t.explanation, 'allowance'))
    AND EXISTS (SELECT 1 FROM step_cases k WHERE k.case_id = t.case_id AND k.opened_at <= t.time)
    AND NOT EXISTS (SELECT 1 FROM step_cases k
                    WHERE k.case_id = t.case_id AND k.customer_id = t.customer_id)
  GROUP BY t.employee_id, t.customer_id
),
run AS (
  SELECT m.*, row_number() OVER (PARTITION BY m.employee_id ORDER BY m.time, m.customer_id)
           AS total,
         greatest({c.floor}, p.q + 1) AS threshold, p.q AS peer_q
  FROM mismatched m JOIN peer p USING (peer_group)  -- no history, no line to pass
),
crossing AS (
  SELECT employee_id, min(total) AS total FROM run WHERE total >= threshold GROUP BY ALL
)
SELECT r.employee_id, max(r.time) AS time, min(r.time) AS first_time, {c.points} AS points,
       'low' AS severity, FALSE AS critical, strftime($day, '%Y-%m-%d') AS key,
       format('looked up {{}} customers under cases about someone else (e.g. case {{}}) '
              'with no other reason by {{}} UTC; peers'' 99th percentile {{}} a day',
              {fmt_num("any_value(x.total)")}, arg_min(r.case_id, r.total),
              strftime(max(r.time), '%H:%M'), {fmt_num("any_value(r.peer_q)")}) AS reason,
       {capped_list("r.event_id", c.max_evidence)} AS event_ids,
       {capped_list("r.customer_id", c.max_evidence)} AS customer_ids
FROM run r JOIN crossing x ON x.employee_id = r.employee_id AND r.total <= x.total
GROUP BY r.employee_id
"""
