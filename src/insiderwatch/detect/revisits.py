"""Which customers each employee looks up with no case, day by day.

Coming back to one person again and again with no reason is what a snoop does (an
ex-partner, a neighbour, a famous customer): each look-up is small and may well be
within the peer group's look-up allowance (:mod:`~insiderwatch.detect.allowance`), which
explains an *amount* of case-less look-ups, not a return to the same person. So every
step records, per employee, customer and day, the first targeted look-up (a view or
search showing at most ``targeted_max_customers`` customers) that no case explained,
the allowance's and the team portfolio's included (each explains a population of
customers, not a return to one of them) and the relationship book's, to ``revisit_days``:
the history the ``fixation`` detector counts returns in, and learns from the peers how
often returns happen in ordinary work, and the relationship book
(:mod:`~insiderwatch.detect.groupbook`) learns its books from.
"""

from __future__ import annotations

from insiderwatch.detect.dayrows import write_day_rows

# A touch of step_touch that is a case-less targeted look-up: nothing explained it, or only
# what explains a population rather than a person did: the allowance (an amount of
# look-ups) or the team's portfolio (a seller's buyers); or the relationship book, which
# is learned from these very returns (so it keeps its customers) and leaves judging them
# against the peers' rate to fixation; or a follow-up, which only says the same person
# was opened again (detect/followup.py). Routine never explains a person's look-up of
# particular customers.
CASELESS_LOOKUP = """t.action IN ('view', 'search') AND t.breadth BETWEEN 1 AND $targeted
    AND (NOT t.explained OR starts_with(t.explanation, 'allowance')
         OR t.explanation IN ('portfolio', 'book:relationship', 'followup'))"""

_RECORD_SQL = f"""
SELECT t.employee_id, $day AS day, t.customer_id, any_value(t.peer_group) AS peer_group,
       min(t.time) AS time, arg_min(t.event_id, (t.time, t.event_id)) AS event_id
FROM step_touch t
WHERE t.in_step AND {CASELESS_LOOKUP}
GROUP BY t.employee_id, t.customer_id
"""


def record_revisits(con, params: dict) -> None:
    """Make the step's case-less look-ups per employee and customer the day's history
    (written by difference, :mod:`~insiderwatch.detect.dayrows`)."""
    write_day_rows(con, "revisit_days", ("employee_id", "day", "customer_id"), _RECORD_SQL, params)


def window_looks_sql(window_days: int) -> str:
    """Everyone's case-less look-ups (employee_id, peer_group, looks) over the
    ``window_days`` before ``$day``: the amount of work the peers' returns are judged by."""
    return f"""SELECT employee_id, arg_max(peer_group, day) AS peer_group, count(*) AS looks
  FROM revisit_days WHERE day >= $day - INTERVAL {int(window_days)} DAY AND day < $day GROUP BY ALL"""


def window_returns_sql(window_days: int, min_days: int) -> str:
    """Per employee and customer looked up with no case on at least ``min_days`` separate
    days of that window, the number of days (employee_id, days)."""
    return f"""SELECT employee_id, count(*) AS days
  FROM revisit_days WHERE day >= $day - INTERVAL {int(window_days)} DAY AND day < $day
  GROUP BY employee_id, customer_id HAVING count(*) >= {int(min_days)}"""
