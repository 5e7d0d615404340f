"""Relationship book: staff who look after a stable set of customers with no case at all.

Relationship managers, account managers, private bankers and key-account teams call their
own clients week after week without a ticket. The customer book
(:mod:`~insiderwatch.detect.book`) learns only from case work, so their repeated look-ups
of their own clients stay unexplained and fill the allowance and the VIP and volume
detectors. A snoop's pattern looks alike to the individual (the same person again and
again), so what explains it here is a trait of the *peer group*, learned from the
case-less look-ups of earlier days (``revisit_days``, :mod:`~insiderwatch.detect.revisits`)
over the baseline window:

* an employee's *own returns* are their case-less look-ups of customers they looked up on
  at least ``min_days`` separate days and whom no colleague of the group came back to on
  that many days (books do not overlap; a celebrity everyone returns to is nobody's);
* an employee *keeps a book* when they made at least ``min_lookups`` such look-ups (one
  per customer and day) and at least ``keeper_share`` of them were own returns;
* a group *works from books* when at least ``min_staff`` of its staff with case-less
  look-ups keep one, and they are at least ``group_share`` of them. One member, or a
  pair, can never make their group a book group; a group whose case-less look-ups are
  mostly one-off (a contact centre's) has no books.

In a book group, an employee's book is the customers they came back to on ``min_days``
days or more that no colleague came back to as often, and the desk's *shared clients*
they came back to on as many days: customers at least ``min_staff`` of the group came back
to and no staff of another group did (a private desk shares its clients; a customer in
the news draws returning strangers of other groups, and a one-day look-up never enters
anyone's book); a later targeted case-less look-up
(a view or search of at most ``targeted_max_customers`` customers) of them is
``book:relationship``, or ``book:desk`` where what the book holds of it are the desk's
shared clients alone (a search: none of the customers it found is an own client; another
look-up: not all are). A customer the employee never returned to is not in it, so a
relationship manager's look-ups outside their book stay with the detectors.

Never explained, as in the customer book: a customer who shares the employee's rare
surname or home postcode (:mod:`~insiderwatch.detect.kin`), a canary, anything sent out or broad. A VIP only where the group's
books hold VIPs the way peers' do: at least ``min_staff`` (and ``group_share`` of the
keepers) have one in their book, so one snoop's celebrity never makes them the group's.
Days with a critical finding never teach. The ``fixation`` detector still sees these
look-ups (they are recorded to ``revisit_days`` like the allowance's) and judges the
returns against the peers' rate, as before; and they still spend the look-up allowance
(:mod:`~insiderwatch.detect.allowance`): the book says whom, not how many, so explaining
one's own clients never leaves room in the allowance for strangers.
"""

from __future__ import annotations

from insiderwatch.detect.base import execute, sql_str, teaching_day_sql
from insiderwatch.detect.config import DetectionConfig
from insiderwatch.detect.kin import known_person_sql
from insiderwatch.detect.public import PUBLIC_FIGURES
from insiderwatch.detect.reasons import BOOK_DESK, BOOK_RELATIONSHIP
from insiderwatch.detect.routine import OUTBOUND

# A look-up of the desk's shared clients (several of the group came back to them, nobody
# outside it did) that are in the employee's book by coming back to them too, not as
# their own (BOOK_DESK): an investigator tells the desk's client from the employee's own.
EXPLANATIONS = (BOOK_RELATIONSHIP, BOOK_DESK)

# Each book group's books on a day, learned once a day (:mod:`~insiderwatch.detect.daily`):
# one row per employee and customer of their book, with whether the group's books hold
# VIPs the way peers' do (``vip_books``, the same for every row of a group) and whether
# the customer is in it as one of the desk's shared clients, not an own return (``shared``).
GROUP_BOOK = "daily_group_book"

_LEARN_SQL = f"""
CREATE OR REPLACE TEMP TABLE {{into}} AS
WITH hist AS (  -- the window's case-less look-ups: days per staff and customer
  SELECT r.peer_group, r.employee_id, r.customer_id, count(*) AS days
  FROM revisit_days r
  WHERE r.day >= $b0 AND r.day < $day
    AND {teaching_day_sql("r")}
  GROUP BY ALL
),
returners AS (  -- how many of the group came back to each customer
  SELECT peer_group, customer_id, count(*) AS staff FROM hist
  WHERE days >= $gb_days GROUP BY ALL
),
desk AS (  -- the desk's shared clients: several of one group come back to them and
           -- nobody outside it does (a celebrity draws returning strangers of other groups)
  SELECT r.peer_group, r.customer_id FROM returners r
  WHERE r.staff >= $gb_staff
    AND NOT EXISTS (SELECT 1 FROM returners o
                    WHERE o.customer_id = r.customer_id AND o.peer_group <> r.peer_group)
),
own AS (
  SELECT h.*, h.days >= $gb_days AND r.staff = 1 AS own_return
  FROM hist h LEFT JOIN returners r USING (peer_group, customer_id)
),
keepers AS (
  SELECT peer_group, employee_id,
         sum(days) >= $gb_lookups
           AND sum(days) FILTER (WHERE own_return) >= $gb_keeper * sum(days) AS keeps
  FROM own GROUP BY ALL
),
groups AS (
  SELECT peer_group, count(*) FILTER (WHERE keeps) AS keepers FROM keepers
  GROUP BY peer_group
  HAVING count(*) FILTER (WHERE keeps) >= greatest($gb_staff, $gb_share * count(*))
),
books AS (
  SELECT o.peer_group, o.employee_id, o.customer_id, f.customer_id IS NOT NULL AS vip,
         NOT o.own_return AS shared
  FROM own o JOIN groups USING (peer_group)
  LEFT JOIN desk d USING (peer_group, customer_id)
  LEFT JOIN {{figures}} f USING (customer_id)  -- flagged or learned from look-ups
  WHERE o.own_return OR (o.days >= $gb_days AND d.customer_id IS NOT NULL)
),
vip_groups AS (  -- groups whose books hold VIPs the way peers' do
  SELECT b.peer_group FROM books b JOIN groups g USING (peer_group)
  WHERE b.vip GROUP BY b.peer_group, g.keepers
  HAVING count(DISTINCT b.employee_id) >= greatest($gb_staff, $gb_share * g.keepers)
)
SELECT b.peer_group, b.employee_id, b.customer_id, v.peer_group IS NOT NULL AS vip_books,
       b.shared
FROM books b LEFT JOIN vip_groups v USING (peer_group)
"""

_EXPLAIN_SQL = f"""
UPDATE step_events e SET explanation = x.why, explained = TRUE
FROM (
  WITH cand AS (  -- this step's targeted look-ups nothing explained yet (not
                 -- CASELESS_LOOKUP: the book explains any targeted access but a send,
                 -- and runs before the allowance, which then counts what it explained)
    SELECT t.event_id, t.employee_id, t.peer_group, t.customer_id, s.action,
           s.surname, s.home_postcode
    FROM step_touch t JOIN step_events s USING (event_id)
    WHERE s.in_step AND s.fresh AND NOT s.explained AND s.policy IS NULL
      AND s.action <> 'login' AND s.action NOT IN {OUTBOUND}
      AND len(s.customer_ids) BETWEEN 1 AND $targeted
  ),
  vip_groups AS (SELECT DISTINCT peer_group FROM {GROUP_BOOK} WHERE vip_books)
  SELECT x.event_id,
         CASE WHEN CASE WHEN x.action = 'search' THEN bool_or(b.customer_id IS NOT NULL
                                                              AND NOT b.shared)
                        ELSE bool_and(b.customer_id IS NOT NULL AND NOT b.shared) END
              THEN {sql_str(BOOK_RELATIONSHIP)} ELSE {sql_str(BOOK_DESK)} END AS why
  FROM cand x
  LEFT JOIN {GROUP_BOOK} b USING (peer_group, employee_id, customer_id)
  LEFT JOIN customers c ON c.customer_id = x.customer_id
  LEFT JOIN canaries k ON k.customer_id = x.customer_id
  LEFT JOIN {PUBLIC_FIGURES} f ON f.customer_id = x.customer_id
  LEFT JOIN vip_groups v ON v.peer_group = x.peer_group
  GROUP BY x.event_id, x.action
  HAVING NOT bool_or(  -- a relative, a neighbour, a canary, a public figure (flagged or
                       -- learned) where books have none
           k.customer_id IS NOT NULL
           OR {known_person_sql("c", "x")}
           OR (f.customer_id IS NOT NULL AND v.peer_group IS NULL))
     AND CASE WHEN x.action = 'search' THEN bool_or(b.customer_id IS NOT NULL)
              ELSE bool_and(b.customer_id IS NOT NULL) END
) x
WHERE e.event_id = x.event_id
"""


def _settings(cfg: DetectionConfig) -> dict:
    g = cfg.book.relationship
    return {"gb_days": g.min_days, "gb_lookups": g.min_lookups, "gb_keeper": g.keeper_share,
            "gb_staff": g.min_staff, "gb_share": g.group_share}  # fmt: skip


def learn_group_books(
    con, cfg: DetectionConfig, params: dict, *, into: str = GROUP_BOOK,
    figures: str = PUBLIC_FIGURES,
) -> None:  # fmt: skip
    """Write the books of every group that works from books on ``$day``, from the earlier
    days of the window, to the temp table ``into`` (the day's public figures read from
    ``figures``)."""
    execute(con, _LEARN_SQL.format(into=into, figures=figures), {**params, **_settings(cfg)})


def explain_by_group_book(con, cfg: DetectionConfig, params: dict) -> None:
    """Explain this step's case-less look-ups of the customers in the employee's
    relationship book (learned for the day: :func:`learn_group_books`), where the peer
    group works from books."""
    if cfg.book.relationship.enabled:
        execute(con, _EXPLAIN_SQL, params)
