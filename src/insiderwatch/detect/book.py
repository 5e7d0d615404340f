"""Customer book: the customers an employee served under a case come back without one.

An account manager calls the clients she has handled before, an agent's customer writes
to her again a week after the case closed, an engineer checks the account whose bug he
fixed. None of that has a case, yet it is the employee's own book of customers, not a
look-up of a stranger. So each day learns every employee's book from history (once,
:mod:`~insiderwatch.detect.daily`): a customer
is in it when, on an earlier day of the baseline window, a case about that very customer
explained the employee's access to them (``own_case``, ``callback``, ``team_case``, or
``case_linked`` under that customer's case id). A later targeted, case-less access by the same employee to customers of their
book is explained (``book``).

What never enters a book, so that it cannot explain a snoop's returns to the same person:

* case-less look-ups of any kind (the allowance's, the book's own, unexplained ones):
  looking someone up again and again never makes them one's customer;
* customers a search returned beside the case's own (namesakes), and the customers of a
  team's portfolio (a relation to a seller, not to a person);
* days on which the employee had a critical finding.

And the book never explains a look-up of a customer who shares the employee's home
postcode or rare surname (:mod:`~insiderwatch.detect.kin`), or of a canary (what the relationship and canary detectors are for), nor
anything sent out (exports, downloads, prints, copies and messages: a handover has its own
rule, :mod:`~insiderwatch.detect.handover`), nor broad accesses (more than
``targeted_max_customers`` customers: the routine's domain). A search is explained when a
customer it returned is in the book and none is singled out as above; any other access
when all its customers are.

Each step records the customers its case reasons explained per employee to
``book_days``, the history later steps learn from; nothing the book explains is recorded.
"""

from __future__ import annotations

from insiderwatch.detect.base import execute, sql_list, sql_str, teaching_day_sql
from insiderwatch.detect.config import DetectionConfig
from insiderwatch.detect.dayrows import write_day_rows
from insiderwatch.detect.kin import known_person_sql
from insiderwatch.detect.reasons import BOOK as BOOK_REASON
from insiderwatch.detect.reasons import CALLBACK, CASE_LINKED, OWN_CASE, TEAM_CASE
from insiderwatch.detect.routine import OUTBOUND

# The touch reasons that make a customer the employee's own: a case about that customer.
CASE_REASONS = (OWN_CASE, CALLBACK, TEAM_CASE)

# The book in force on $day: customers case reasons explained to each employee on earlier
# days of the baseline window, days with a critical finding left out (the book explains
# from it, a leaver's handover lists from it, calibrate counts it).
BOOK_HISTORY_SQL = f"""
SELECT b.* FROM book_days b
WHERE b.day >= $b0 AND b.day < $day
  AND {teaching_day_sql("b")}
"""

# Each employee's book on a day, learned once a day (:mod:`~insiderwatch.detect.daily`).
BOOK = "daily_book"

_LEARN_SQL = f"""
CREATE OR REPLACE TEMP TABLE {BOOK} AS
SELECT DISTINCT b.employee_id, b.customer_id FROM ({BOOK_HISTORY_SQL}) b
"""

_EXPLAIN_SQL = f"""
UPDATE step_events e SET explanation = {sql_str(BOOK_REASON)}, explained = TRUE
FROM (
  SELECT t.event_id
  FROM step_touch t
  JOIN step_events s USING (event_id)
  LEFT JOIN {BOOK} b ON b.employee_id = t.employee_id AND b.customer_id = t.customer_id
  LEFT JOIN customers c ON c.customer_id = t.customer_id
  LEFT JOIN canaries k ON k.customer_id = t.customer_id
  WHERE s.in_step AND s.fresh AND NOT s.explained AND s.policy IS NULL
    AND s.action <> 'login' AND s.action NOT IN {OUTBOUND}
    AND len(s.customer_ids) BETWEEN 1 AND $targeted
  GROUP BY t.event_id, s.action, s.surname, s.home_postcode
  HAVING NOT bool_or(  -- a relative, a neighbour or a canary: never the book's
           k.customer_id IS NOT NULL
           OR {known_person_sql("c", "s")})
     AND CASE WHEN s.action = 'search' THEN bool_or(b.customer_id IS NOT NULL)
              ELSE bool_and(b.customer_id IS NOT NULL) END
) x
WHERE e.event_id = x.event_id
"""

# A case id explains every customer an investigating group looks at under it; only the
# case's own customer becomes the investigator's.
_RECORD_SQL = f"""
SELECT DISTINCT t.employee_id, $day AS day, t.customer_id FROM step_touch t
WHERE t.in_step
  AND (list_contains({sql_list(CASE_REASONS)}, t.touch_explanation)
       OR (starts_with(t.touch_explanation, {sql_str(CASE_LINKED)})
           AND EXISTS (SELECT 1 FROM step_cases c
                       WHERE c.case_id = t.case_id AND c.customer_id = t.customer_id)))
"""


def learn_books(con, params: dict) -> None:
    """Write every employee's book on ``$day``, from the earlier days of the window."""
    execute(con, _LEARN_SQL, params)


def explain_by_book(con, cfg: DetectionConfig, params: dict) -> None:
    """Explain this step's case-less look-ups of customers in the employee's book (learned
    for the day: :func:`learn_books`)."""
    if cfg.book.enabled:
        execute(con, _EXPLAIN_SQL, params)


def record_book(con, params: dict) -> None:
    """Make the customers this step's case reasons explained the employees' book of the
    day (written by difference, :mod:`~insiderwatch.detect.dayrows`)."""
    write_day_rows(con, "book_days", ("employee_id", "day", "customer_id"), _RECORD_SQL, params)
