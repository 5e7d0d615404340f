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

from collections.abc import Collection

from insiderwatch.detect.base import OPENING_ACTIONS, sql_str
from insiderwatch.detect.dayrows import write_day_rows
from insiderwatch.detect.groupbook import EXPLANATIONS as RELATIONSHIP_BOOKS
from insiderwatch.detect.reasons import ALLOWANCE, FOLLOWUP, PORTFOLIO
from insiderwatch.detect.routine import KNOWN_MACHINES

# The explanations that still leave a targeted look-up case-less: what explains a
# population rather than a person: the allowance (an amount of look-ups, at every level:
# a prefix of allowance:role and the rest) or the team's portfolio (a seller's buyers);
# the relationship book, which is learned from these very returns (so it keeps its
# customers) and leaves judging them against the peers' rate to fixation; and a follow-up,
# which only says the same person was opened again (detect/followup.py). Routine never
# explains a person's look-up of particular customers, nor does a case.
CASELESS_REASONS = (ALLOWANCE, PORTFOLIO, *RELATIONSHIP_BOOKS, FOLLOWUP)


def caseless_lookup_sql(
    action: str = "t.action",
    breadth: str | None = "t.breadth",
    explanation: str = "t.explanation",
    *,
    excluding: Collection[str] = (),
    actions: Collection[str] = OPENING_ACTIONS,
) -> str:
    """The one definition of a case-less look-up, as a SQL condition on a row whose
    ``action``, number of customers shown (``breadth``) and ``explanation`` are the
    expressions given (by default ``step_touch`` as ``t``).

    A view or search of 1 to ``$targeted`` customers (any number where ``breadth`` is
    None) that nothing explained (NULL: ``explained`` is ``explanation IS NOT NULL`` in
    the step tables, and ``access_explained`` keeps only the explanation) or only one of
    :data:`CASELESS_REASONS` did, less those in ``excluding``: what a caller counts as
    explained, each for a reason it states beside the call. ``actions``: the actions that
    look a customer up (the allowance also spends on case-less updates, which open the
    record as a view does).

    The allowance spends on these look-ups, revisits records them, and shared_harvest
    and exfiltration match them with a list that left: spelled once, so an explanation
    that leaves a look-up case-less (as ``followup`` did) is added here, not in each.
    """
    if unknown := set(excluding) - set(CASELESS_REASONS):
        raise ValueError(f"not a case-less look-up's explanation: {sorted(unknown)}")
    reasons = [r for r in CASELESS_REASONS if r not in excluding]
    terms = [f"{explanation} IS NULL"]
    if ALLOWANCE in reasons:
        terms.append(f"starts_with({explanation}, {sql_str(ALLOWANCE)})")
    if exact := [sql_str(r) for r in reasons if r != ALLOWANCE]:
        terms.append(f"{explanation} IN ({', '.join(exact)})")
    targeted = "" if breadth is None else f" AND {breadth} BETWEEN 1 AND $targeted"
    opening = ", ".join(sql_str(a) for a in actions)
    return f"({action} IN ({opening}){targeted} AND ({' OR '.join(terms)}))"


# A touch of step_touch that is a case-less targeted look-up (fixation's returns and
# own_copies' copies count these too).
CASELESS_LOOKUP = caseless_lookup_sql()

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
    ``window_days`` before ``$day``: the amount of work the peers' returns are judged by.
    The service accounts the day's routine knows are left out, their look-ups and so
    their returns: a sync job that reads the same records every night sets no person's
    rate of coming back to a customer (three jobs made every return of three days or more
    in a company whose 280 people made none in 3,783 case-less look-ups)."""
    return f"""SELECT employee_id, arg_max(peer_group, day) AS peer_group, count(*) AS looks
  FROM revisit_days WHERE day >= $day - INTERVAL {int(window_days)} DAY AND day < $day
    AND employee_id NOT IN ({KNOWN_MACHINES})
  GROUP BY ALL"""


def window_returns_sql(window_days: int, min_days: int) -> str:
    """Per employee and customer looked up with no case on at least ``min_days`` separate
    days of that window, the number of days (employee_id, days)."""
    return f"""SELECT employee_id, count(*) AS days
  FROM revisit_days WHERE day >= $day - INTERVAL {int(window_days)} DAY AND day < $day
  GROUP BY employee_id, customer_id HAVING count(*) >= {int(min_days)}"""
