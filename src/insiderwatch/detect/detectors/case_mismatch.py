"""Look-ups logged under a real case that is about somebody else.

An insider who knows that look-ups without a case are counted types the id of a real,
open case into the tool: their own, a teammate's, anyone's. The case exists and is open,
so a check that "a case id was given" passes; but the case is about another customer.
Groups that investigate (fraud, risk) legitimately look at many customers under one case:
their own cases explain such views within the case scope their peers' work shows
(learned casework, ``case_linked``, :mod:`~insiderwatch.detect.casescope`). What no case
explained is judged here, for investigators too. The line is the 99th percentile of the
same daily count on the peers' earlier days (``casework_days.mismatched``, zero on most
days), the employee's own days left out: an insider who skims a few customers a day for
weeks would otherwise raise their own line until they pass under it. A group with too few
such days (a team's only supervisor) is judged against every group's days worked the same
way, investigating or not. Crossing twice, four and eight times that line are further
findings (as volume's), so a heavy skim outweighs one just past the line in the risk
score, while the line itself, and so what fires at all, stays as it was. Only a line
learned from the employee's own peers has multiples: the all-staff line is a guess for
a group too small to know, and a lone supervisor taking up casework passes it many times
over on a day of honest work.

Searches count too when none of the customers they listed is the case's (a name search
lists namesakes beside the case's customer; those are the case's work), even when the
group's routine explained them: a skim of payment details under one's own old cases is
a search of the routine's breadth and fields, and only the case id tells it apart.
"""

from __future__ import annotations

import msgspec

from insiderwatch.detect.base import Detector, StepContext, capped_list
from insiderwatch.detect.baseline import fmt_num
from insiderwatch.detect.casework import MISMATCHED_TOUCH


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    floor: int = 2  # customers a day, never fewer
    peer_quantile: float = 0.99  # of the peers' daily counts of such customers
    # Employee-days in the baseline window a line needs: a group with fewer is judged
    # against all staff working alike; with fewer there too, nobody is judged.
    min_peer_days: int = 20
    points: float = 12.0  # a day's look-ups under a reason that does not hold, per level
    # Multiples of the line, each crossed a further finding: a heavy skim (fifty customers
    # under other people's cases where peers reach three) adds up in the risk score,
    # a light one just past the line does not.
    levels: list[float] = msgspec.field(default_factory=lambda: [1.0, 2.0, 4.0, 8.0])
    max_evidence: int = 200


class CaseMismatch(Detector):
    id = "case_mismatch"
    version = "4"
    title = "Look-ups under a case about someone else"
    description = (
        "Views of customers logged under the id of a real case (open when it was used, "
        "anyone's) that is about a different customer, which nothing else explains (the "
        "group's allowance aside; an investigating group's case explains what its learned "
        "case scope covers), and searches under such a case that list none of its "
        "customers, which only the allowance or the routine explained; fires when the day's count reaches the floor and "
        "passes the 99th percentile of the same count on the peers' earlier days (the "
        "employee's own left out; all staff working alike for a group with too few); "
        "again at 2x, 4x and 8x a line learned from the peers."
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
        q, days = c.peer_quantile, c.min_peer_days
        return f"""
WITH mismatched AS (  -- first view of each customer today under a case about someone else
  SELECT t.employee_id, any_value(t.peer_group) AS peer_group, t.customer_id,
         min(t.time) AS time, arg_min(t.event_id, (t.time, t.event_id)) AS event_id,
         arg_min(t.case_id, (t.time, t.event_id, t.case_id)) AS case_id
  FROM step_touch t WHERE {MISMATCHED_TOUCH}
  GROUP BY t.employee_id, t.customer_id
),
judged AS (SELECT DISTINCT employee_id, peer_group FROM mismatched),
hist AS (  -- earlier days, with how each group works now (investigating or not)
  SELECT *, arg_max(investigating, (day, investigating)) OVER (PARTITION BY peer_group) AS now
  FROM casework_days WHERE day >= $b0 AND day < $day
),
peers AS (  -- the peers' days worked as the group works now, the employee's own left out
  SELECT j.employee_id, quantile_cont(h.mismatched, {q}) AS q
  FROM judged j JOIN hist h ON h.peer_group = j.peer_group AND h.employee_id <> j.employee_id
  WHERE h.investigating = h.now
  GROUP BY j.employee_id HAVING count(*) >= {days}
),
alike AS (  -- too few: every group's days worked the same way (a group new to the
  -- history is taken as not investigating)
  SELECT j.employee_id, quantile_cont(h.mismatched, {q}) AS q
  FROM (SELECT * FROM judged ANTI JOIN peers USING (employee_id)) j
  LEFT JOIN (SELECT DISTINCT peer_group, now FROM hist) g USING (peer_group)
  JOIN hist h ON h.investigating = coalesce(g.now, FALSE) AND h.employee_id <> j.employee_id
  GROUP BY j.employee_id HAVING count(*) >= {days}
),
line AS (
  SELECT employee_id, q, 'peers''' AS whose FROM peers
  UNION ALL
  SELECT employee_id, q, 'staff working alike:' FROM alike
),
run AS (
  SELECT m.*, row_number() OVER (PARTITION BY m.employee_id ORDER BY m.time, m.customer_id)
           AS total,
         greatest({c.floor}, l.q + 1) AS threshold, l.q AS peer_q, l.whose
  FROM mismatched m JOIN line l USING (employee_id)  -- no history, no line to pass
),
crossing AS (  -- the look-up that takes the day past each multiple of the line
  SELECT r.employee_id, lvl.level, min(r.total) AS total
  FROM run r CROSS JOIN (SELECT unnest({list(c.levels)}) AS level) lvl
  WHERE r.total >= r.threshold * lvl.level
    -- a line borrowed from all staff working alike is a guess for a group too small to
    -- know (a team's only supervisor taking up casework): past it is worth a look, not
    -- a multiple of it
    AND (lvl.level <= 1 OR r.whose = 'peers''')
  GROUP BY ALL
)
SELECT r.employee_id, max(r.time) AS time, min(r.time) AS first_time, {c.points} AS points,
       CASE WHEN x.level >= 4 THEN 'high' WHEN x.level >= 2 THEN 'medium' ELSE 'low' END
         AS severity,
       FALSE AS critical, strftime($day, '%Y-%m-%d') || ':x' || x.level::VARCHAR AS key,
       format('looked up {{}} customers under cases about someone else (e.g. case {{}}) '
              'with no other reason by {{}} UTC; {{}} 99th percentile {{}} a day',
              {fmt_num("any_value(x.total)")}, arg_min(r.case_id, r.total),
              strftime(max(r.time), '%H:%M'), any_value(r.whose),
              {fmt_num("any_value(r.peer_q)")}) AS reason,
       {capped_list("r.event_id", c.max_evidence)} AS event_ids,
       {capped_list("r.customer_id", c.max_evidence)} AS customer_ids
FROM run r JOIN crossing x ON x.employee_id = r.employee_id AND r.total <= x.total
GROUP BY r.employee_id, x.level
"""
