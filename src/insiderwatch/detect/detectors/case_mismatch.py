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

A day is judged as a whole and by each field set it showed (version 5): the customers
shown with at least a set's fields against the peers' days counted the same way
(``casework_days.mismatched_sets``). A disputes team's real link analysis, several
customers a search under its cases showing address and payment details, lifts the whole
day's line to ten or more; a skim showing contact and payment details together, which
no colleague's search shows, is judged against the line of that set (zero) and not
hidden under it. Each multiple is one finding, from whichever line it crossed first. A
set's line is the most the peers' days reached with it: a day showing several sets has
as many chances to pass a 99th percentile by chance.

A set's finding weighs more for what it exposed (version 6): ``sensitive_weight`` where
the set holds contact details or an address (fixation's sensitive fields) and the set's
line is zero (at the default ``field_set_quantile`` of 1.0: no day of the peers' showed a
customer with those fields under a case about someone else). A group whose own work
shows such details under others' cases (a disputes team's link analysis: address and
payment) has a line above zero and gains nothing; a line borrowed from all staff working
alike is a guess and gains nothing either. A whole day's finding keeps its points: it
counts every field shown.
"""

from __future__ import annotations

import msgspec

from insiderwatch.detect.base import Detector, StepContext, capped_list, sql_list, sql_str
from insiderwatch.detect.baseline import fmt_num, quantile_name
from insiderwatch.detect.casework import MISMATCHED_TOUCH
from insiderwatch.detect.explain import SENSITIVE_FIELDS
from insiderwatch.detect.ranges import AtLeastOne, Count, NonNegative, Positive, Quantile


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    floor: Count = 2  # customers a day, never fewer
    peer_quantile: Quantile = 0.99  # of the peers' daily counts of such customers
    # The same for the counts of one field set: a day is judged by each set it showed as
    # well, so each set's line is the most the peers showed (1.0): with the 99th percentile
    # a day of five sets had five chances to pass one by chance.
    field_set_quantile: Quantile = 1.0
    # Employee-days in the baseline window a line needs: a group with fewer is judged
    # against all staff working alike; with fewer there too, nobody is judged.
    min_peer_days: AtLeastOne = 20
    points: NonNegative = 12.0  # a day's look-ups under a reason that does not hold, per level
    # Multiples of the line, each crossed a further finding: a heavy skim (fifty customers
    # under other people's cases where peers reach three) adds up in the risk score,
    # a light one just past the line does not.
    levels: list[Positive] = msgspec.field(default_factory=lambda: [1.0, 2.0, 4.0, 8.0])
    # A field set's finding that exposed contact details or an address, where the peers'
    # line of that set is zero (nobody in the group shows them under others' cases), as
    # fixation's sensitive_weight.
    sensitive_weight: NonNegative = 1.5
    max_evidence: AtLeastOne = 200


# A day of the history counted as today's day is judged (``judged`` as j,
# ``casework_days`` as h): all its mismatched customers, or those it showed with at least
# the judged set's fields (summed over the sets it showed: a customer shown in two such
# sets counts twice, so the line errs high).
_COUNT = """CASE WHEN j.field_set IS NULL THEN h.mismatched ELSE coalesce(list_sum(list_transform(
  list_filter(h.mismatched_sets,
              lambda s: list_has_all(string_split(s.fields, ','), j.field_set)),
  lambda s: s.customers)), 0) END"""


class CaseMismatch(Detector):
    id = "case_mismatch"
    version = "6"
    title = "Look-ups under a case about someone else"
    description = (
        "Views of customers logged under the id of a real case (open when it was used, "
        "anyone's) that is about a different customer, which nothing else explains (the "
        "group's allowance aside; an investigating group's case explains what its learned "
        "case scope covers), and searches under such a case that list none of its "
        "customers, which only the allowance or the routine explained; fires when the day's count reaches the floor and "
        "passes the 99th percentile of the same count on the peers' earlier days (the "
        "employee's own left out; all staff working alike for a group with too few), "
        "counted over the whole day or over the customers shown with at least one field "
        "set's fields (each set the day showed, against the most the peers' days counted "
        "alike reached); "
        "again at 2x, 4x and 8x a line learned from the peers. A field set's finding "
        "weighs 1.5 times where the set holds contact details or an address and the "
        "peers' line of that set is zero."
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
        line = (f"CASE WHEN j.field_set IS NULL THEN quantile_cont({_COUNT}, {q}) "
                f"ELSE quantile_cont({_COUNT}, {c.field_set_quantile}) END")  # fmt: skip
        return f"""
WITH mismatched AS (  -- each view today under a case about someone else, with its fields
  SELECT t.employee_id, t.peer_group, t.customer_id, t.time, t.event_id, t.case_id,
         list_sort(list_distinct(coalesce(t.fields, []))) AS fields
  FROM step_touch t WHERE {MISMATCHED_TOUCH}
),
judged AS (  -- a day is judged as a whole (no field set, NULL) and by each set it showed,
             -- from the first view showing it (``since``): until then no line of that set
             -- exists to cross, so a later step cannot date a finding before it
  SELECT employee_id, peer_group, NULL::VARCHAR[] AS field_set, min(time) AS since
  FROM mismatched GROUP BY employee_id, peer_group
  UNION ALL
  SELECT employee_id, peer_group, fields, min(time) FROM mismatched
  GROUP BY employee_id, peer_group, fields
),
counted AS (  -- first view of each customer today showing at least the set's fields
  SELECT j.employee_id, j.field_set, any_value(j.peer_group) AS peer_group,
         any_value(j.since) AS since, m.customer_id,
         min(m.time) AS time, arg_min(m.event_id, (m.time, m.event_id)) AS event_id,
         arg_min(m.case_id, (m.time, m.event_id, m.case_id)) AS case_id
  FROM judged j JOIN mismatched m ON m.employee_id = j.employee_id
   AND (j.field_set IS NULL OR list_has_all(m.fields, j.field_set))
  GROUP BY j.employee_id, j.field_set, m.customer_id
),
hist AS (  -- earlier days, with how each group works now (investigating or not)
  SELECT *, arg_max(investigating, (day, investigating)) OVER (PARTITION BY peer_group) AS now
  FROM casework_days WHERE day >= $b0 AND day < $day
),
peers AS (  -- the peers' days worked as the group works now, the employee's own left out,
  -- each counted as the day is judged (_COUNT)
  SELECT j.employee_id, j.field_set, {line} AS q
  FROM judged j JOIN hist h ON h.peer_group = j.peer_group AND h.employee_id <> j.employee_id
  WHERE h.investigating = h.now
  GROUP BY j.employee_id, j.field_set HAVING count(*) >= {days}
),
alike AS (  -- too few: every group's days worked the same way (a group new to the
  -- history is taken as not investigating)
  SELECT j.employee_id, j.field_set, {line} AS q
  FROM judged j ANTI JOIN peers p  -- (a whole day's field set is NULL: no USING)
    ON p.employee_id = j.employee_id AND p.field_set IS NOT DISTINCT FROM j.field_set
  LEFT JOIN (SELECT DISTINCT peer_group, now FROM hist) g ON g.peer_group = j.peer_group
  JOIN hist h ON h.investigating = coalesce(g.now, FALSE) AND h.employee_id <> j.employee_id
  GROUP BY j.employee_id, j.field_set HAVING count(*) >= {days}
),
line AS (
  SELECT employee_id, field_set, q, 'peers''' AS whose FROM peers
  UNION ALL
  SELECT employee_id, field_set, q, 'staff working alike:' FROM alike
),
run AS (
  SELECT m.*, row_number() OVER (PARTITION BY m.employee_id, m.field_set
                                 ORDER BY m.time, m.customer_id) AS total,
         greatest({c.floor}, l.q + 1) AS threshold, l.q AS peer_q, l.whose
  FROM counted m JOIN line l  -- no history, no line to pass
    ON l.employee_id = m.employee_id AND l.field_set IS NOT DISTINCT FROM m.field_set
),
crossing AS (  -- the look-up that takes the day past each multiple of a line
  SELECT r.employee_id, r.field_set, lvl.level, min(r.total) AS total
  FROM run r CROSS JOIN (SELECT unnest({list(c.levels)}) AS level) lvl
  WHERE r.total >= r.threshold * lvl.level AND r.time >= r.since
    -- a line borrowed from all staff working alike is a guess for a group too small to
    -- know (a team's only supervisor taking up casework): past it is worth a look, not
    -- a multiple of it
    AND (lvl.level <= 1 OR r.whose = 'peers''')
  GROUP BY ALL
),
first_crossing AS (  -- per multiple, the line (the whole day's or a set's) crossed first
  SELECT x.employee_id, x.level,
         arg_min(x.field_set, (r.time, x.field_set IS NOT NULL, x.field_set)) AS field_set,
         arg_min(x.total, (r.time, x.field_set IS NOT NULL, x.field_set)) AS total
  FROM crossing x JOIN run r ON r.employee_id = x.employee_id AND r.total = x.total
   AND r.field_set IS NOT DISTINCT FROM x.field_set
  GROUP BY ALL
)
SELECT r.employee_id, max(r.time) AS time, min(r.time) AS first_time,
       {c.points} * CASE WHEN any_value(x.field_set) IS NOT NULL AND any_value(r.whose) = 'peers'''
                          AND any_value(r.peer_q) = 0
                          AND list_has_any(any_value(x.field_set), {sql_list(SENSITIVE_FIELDS)})
                     THEN {c.sensitive_weight} ELSE 1.0 END AS points,
       CASE WHEN x.level >= 4 THEN 'high' WHEN x.level >= 2 THEN 'medium' ELSE 'low' END
         AS severity,
       FALSE AS critical, strftime($day, '%Y-%m-%d') || ':x' || x.level::VARCHAR AS key,
       format('looked up {{}} customers under cases about someone else (e.g. case {{}}){{}} '
              'with no other reason by {{}} UTC; {{}} {{}} {{}} a day',
              {fmt_num("any_value(x.total)")}, arg_min(r.case_id, r.total),
              CASE WHEN any_value(x.field_set) IS NULL THEN ''
                   ELSE ' showing ' || array_to_string(any_value(x.field_set), ', ') END,
              strftime(max(r.time), '%H:%M'), any_value(r.whose),
              CASE WHEN any_value(x.field_set) IS NULL THEN {sql_str(quantile_name(q))}
                   ELSE {sql_str(quantile_name(c.field_set_quantile))} END,
              {fmt_num("any_value(r.peer_q)")}) AS reason,
       {capped_list("r.event_id", c.max_evidence)} AS event_ids,
       {capped_list("r.customer_id", c.max_evidence)} AS customer_ids
FROM run r JOIN first_crossing x ON x.employee_id = r.employee_id AND r.total <= x.total
 AND r.field_set IS NOT DISTINCT FROM x.field_set
GROUP BY r.employee_id, x.level
"""
