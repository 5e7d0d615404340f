"""Follow-up: the same customer opened again, the same day, after an explained look-up.

An engineer debugging one account opens it three or four times in an hour; an adviser
looks a client up, then opens the record again to check what was said. The allowance
(:mod:`~insiderwatch.detect.allowance`) spends only the first opening of such a session,
but explains none of it once the employee is past it, although the openings after an
explained one show nobody new. So, last of the explanations, a
targeted view or search with no case (at most ``targeted_max_customers`` customers) is
explained (``followup``) when every customer it shows was shown to the same employee
earlier the same day, alone, by an access that something else explained, with at least
the fields it shows now.

What keeps it from explaining anything new:

* only what another reason already explained is followed: a look-up nothing explained
  stays unexplained however often it is opened again; and never a relative or neighbour
  (the employee's home postcode, or a surname rare among customers: detect/kin.py), a canary or a public figure, whose own
  detectors judge every opening whatever explained the first;
* the earlier access showed that customer alone: opening one of the namesakes an
  allowed search listed is singling a person out (how an ex-partner is found), which
  only an investigating group's case explains (``case_search``);
* no more fields than the earlier access showed (a name found by an allowed search does
  not open the address), and no one else's look-up vouches for it;
* the learned routine is never followed: it vouches for a flow's breadth and fields, not
  for singling a person out of it;
* the same UTC day only, in time order (the least event id first at one instant): the
  step's rows before the day are kept for some employees alone, and what explains a row
  must not depend on what comes after it.

It runs after the allowance, which learns from every opening (``allowance_days.lookups``)
but spends only the first of a customer's openings that day: a reopening (the same test as
above) after an opening that spent the allowance, explained or not, spends nothing more. A
follow-up is still a case-less look-up for the history the ``fixation`` detector counts
returns in (:mod:`~insiderwatch.detect.revisits`).
"""

from __future__ import annotations

from insiderwatch.detect.base import execute, opening_action_sql, sql_str
from insiderwatch.detect.config import DetectionConfig
from insiderwatch.detect.kin import known_person_sql
from insiderwatch.detect.public import FIGURE_JOIN
from insiderwatch.detect.reasons import FOLLOWUP, ROUTINE

# Only openings: a view or search. An update or a send of the customer is more than
# looking again (an allowed view of someone, then a change of their email, is how an
# account is taken over).
_OPENING = f"""in_step AND policy IS NULL AND {opening_action_sql()}
      AND len(customer_ids) BETWEEN 1 AND $targeted"""
# A follow-up has no case: a case's look-ups are the case detectors' to judge
# (``case_mismatch`` counts a view under someone else's case however often it happens).
_CASELESS = "coalesce(case_id, '') = ''"

_EXPLAIN_SQL = f"""
UPDATE step_events e SET explanation = {sql_str(FOLLOWUP)}, explained = TRUE
FROM (
  WITH cand AS (  -- this step's targeted accesses nothing explained, per customer
    SELECT event_id, employee_id, time, fields, surname, home_postcode,
           unnest(customer_ids) AS customer_id
    FROM step_events WHERE {_OPENING} AND {_CASELESS} AND fresh AND NOT explained
  ),
  shown AS (  -- the day's accesses of one customer alone another reason explained
    SELECT event_id, employee_id, time, fields, customer_ids[1] AS customer_id
    FROM step_events
    WHERE {_OPENING} AND len(customer_ids) = 1 AND explained
      AND explanation <> {sql_str(FOLLOWUP)} AND NOT starts_with(explanation, {sql_str(ROUTINE)})
  ),
  followed AS (
    SELECT DISTINCT c.event_id, c.customer_id
    FROM cand c JOIN shown s USING (employee_id, customer_id)
    WHERE (s.time < c.time OR (s.time = c.time AND s.event_id < c.event_id))
      AND list_has_all(coalesce(s.fields, []), coalesce(c.fields, []))
  )
  SELECT c.event_id FROM cand c
  LEFT JOIN followed f USING (event_id, customer_id)
  LEFT JOIN customers cu ON cu.customer_id = c.customer_id
  LEFT JOIN canaries k ON k.customer_id = c.customer_id
  {FIGURE_JOIN.format("c.customer_id")}
  GROUP BY c.event_id
  HAVING bool_and(f.event_id IS NOT NULL)
     AND NOT bool_or(  -- a relative, a neighbour, a canary, a public figure: their own
                       -- detectors judge every opening, whatever explained the first
           k.customer_id IS NOT NULL OR pf.customer_id IS NOT NULL
           OR {known_person_sql("cu", "c")})
) x
WHERE e.event_id = x.event_id
"""


def explain_followups(con, cfg: DetectionConfig, params: dict) -> None:
    """Explain this step's targeted accesses that only open again, with no more fields,
    customers an explained access showed the same employee earlier the same day."""
    if cfg.explanation.followup:
        execute(con, _EXPLAIN_SQL, params)
