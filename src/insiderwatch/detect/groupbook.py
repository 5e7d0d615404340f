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
days or more that no colleague came back to as often; a later targeted case-less look-up
(a view or search of at most ``targeted_max_customers`` customers) of them is
``book:relationship``. A customer the employee never returned to is not in it, so a
relationship manager's look-ups outside their book stay with the detectors.

Never explained, as in the customer book: a customer who shares the employee's surname
or home postcode, a canary, anything sent out or broad. A VIP only where the group's
books hold VIPs the way peers' do: at least ``min_staff`` (and ``group_share`` of the
keepers) have one in their book, so one snoop's celebrity never makes them the group's.
Days with a critical finding never teach. The ``fixation`` detector still sees these
look-ups (they are recorded to ``revisit_days`` like the allowance's) and judges the
returns against the peers' rate, as before; and they still spend the look-up allowance
(:mod:`~insiderwatch.detect.allowance`): the book says whom, not how many, so explaining
one's own clients never leaves room in the allowance for strangers.

**Desk pools.** Some desks do not split their clients: a relationship desk working a
shared pool, where several members come back to the same client on different days. No
customer is anyone's own there, so the book rule never fits and the group never becomes a
book group. For each group, learned from the same case-less look-ups of earlier days:

* a group *works as a desk* when at least ``[book.desk] group_share`` of its case-less
  look-ups (one per employee, customer and day) were returns, of customers the looker
  looked up on ``min_days`` days or more: its staff come back to their clients. Staff who
  touch a customer once (tellers serving walk-ins, a contact centre) are no desk;
* in a desk, a customer is in an employee's *pool* when at least ``min_staff`` *other*
  members looked them up on earlier days. Leave-one-out: an employee's own look-ups never
  put a customer in their pool, so one insider, or a pair, never pools anyone;
* a customer someone of *another* group came back to is no desk's own, nor is a public
  figure learned from a crowd of strangers in several groups
  (:mod:`~insiderwatch.detect.public`): many staff looking up a famous customer are not a
  desk. A customer the context flags VIP is in a pool only where at least
  ``group_share`` of the desk's pool are VIPs (a private-client desk serving its
  clients); elsewhere a VIP stays with the ``vip`` detector.

In such a group a targeted access that is not a send (a view, a search, an update: the
desk's case-less work on its clients) of a customer in the employee's pool is
``book:desk``, guarded like the book (a relative, a neighbour, a canary never). An
insider's harvest of customers the desk never looked up stays unexplained. Like the
book's, these look-ups are still recorded (the pool is learned from them), still spend the
allowance and are still judged by ``fixation``.
"""

from __future__ import annotations

from insiderwatch.detect.base import execute
from insiderwatch.detect.config import DetectionConfig
from insiderwatch.detect.public import PUBLIC_FIGURES
from insiderwatch.detect.routine import OUTBOUND

EXPLANATION = "book:relationship"
DESK = "book:desk"

# Each book group's books on a day, learned once a day (:mod:`~insiderwatch.detect.daily`):
# one row per employee and customer of their book, with whether the group's books hold
# VIPs the way peers' do (``vip_books``, the same for every row of a group).
GROUP_BOOK = "daily_group_book"

_LEARN_SQL = f"""
CREATE OR REPLACE TEMP TABLE {GROUP_BOOK} AS
WITH hist AS (  -- the window's case-less look-ups: days per staff and customer
  SELECT r.peer_group, r.employee_id, r.customer_id, count(*) AS days
  FROM revisit_days r
  WHERE r.day >= $b0 AND r.day < $day
    AND NOT EXISTS (SELECT 1 FROM findings f WHERE f.employee_id = r.employee_id
                    AND f.day = r.day AND f.critical)
  GROUP BY ALL
),
returners AS (  -- how many of the group came back to each customer
  SELECT peer_group, customer_id, count(*) AS staff FROM hist
  WHERE days >= $gb_days GROUP BY ALL
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
  SELECT o.peer_group, o.employee_id, o.customer_id, f.customer_id IS NOT NULL AS vip
  FROM own o JOIN groups USING (peer_group)
  LEFT JOIN {PUBLIC_FIGURES} f USING (customer_id)  -- flagged or learned from look-ups
  WHERE o.own_return
),
vip_groups AS (  -- groups whose books hold VIPs the way peers' do
  SELECT b.peer_group FROM books b JOIN groups g USING (peer_group)
  WHERE b.vip GROUP BY b.peer_group, g.keepers
  HAVING count(DISTINCT b.employee_id) >= greatest($gb_staff, $gb_share * g.keepers)
)
SELECT b.peer_group, b.employee_id, b.customer_id, v.peer_group IS NOT NULL AS vip_books
FROM books b LEFT JOIN vip_groups v USING (peer_group)
"""

# Each desk's pool on a day: the customers at least min_staff of its staff looked up (with
# who did, so each employee's own look-ups are left out), none another group came back to
# and no public figure.
DESK_POOL = "daily_desk_pool"

_LEARN_POOL_SQL = f"""
CREATE OR REPLACE TEMP TABLE {DESK_POOL} AS
WITH hist AS (
  SELECT r.peer_group, r.employee_id, r.customer_id, count(*) AS days
  FROM revisit_days r
  WHERE r.day >= $b0 AND r.day < $day
    AND NOT EXISTS (SELECT 1 FROM findings f WHERE f.employee_id = r.employee_id
                    AND f.day = r.day AND f.critical)
  GROUP BY ALL
),
shared AS (  -- customers someone of more than one group came back to: no desk's own
  SELECT customer_id FROM hist WHERE days >= $gb_days
  GROUP BY customer_id HAVING count(DISTINCT peer_group) > 1
),
crowds AS (  -- public figures learned from several groups' strangers: never a desk's
  SELECT customer_id FROM {PUBLIC_FIGURES} WHERE staff IS NOT NULL
),
all_pool AS (  -- customers at least dp_staff of the group looked up, with who did
  SELECT h.peer_group, h.customer_id, list(h.employee_id) AS lookers, count(*) AS staff,
         any_value(f.customer_id IS NOT NULL) AS vip
  FROM hist h
  ANTI JOIN shared USING (customer_id)
  ANTI JOIN crowds USING (customer_id)
  LEFT JOIN {PUBLIC_FIGURES} f USING (customer_id)
  GROUP BY h.peer_group, h.customer_id HAVING count(*) >= $dp_staff
),
pool AS (  -- a flagged VIP only where the desk's pool is mostly VIPs (a private-client
           -- desk): elsewhere a VIP several colleagues looked up is the vip detector's
  SELECT a.* FROM all_pool a
  WHERE NOT a.vip OR (SELECT avg(b.vip::INT) FROM all_pool b
                      WHERE b.peer_group = a.peer_group) >= $dp_share
),
groups AS (  -- groups whose case-less look-ups are mostly returns, by enough of its staff
             -- to each of whom the pool reached
  SELECT h.peer_group FROM hist h LEFT JOIN pool p USING (peer_group, customer_id)
  GROUP BY h.peer_group
  HAVING sum(h.days) FILTER (WHERE h.days >= $gb_days) >= $dp_share * sum(h.days)
     AND count(DISTINCT h.employee_id) FILTER (WHERE p.staff - 1 >= $dp_staff) >= $gb_staff
)
SELECT p.* FROM pool p JOIN groups USING (peer_group)
"""

_EXPLAIN_POOL_SQL = f"""
UPDATE step_events e SET explanation = '{DESK}', explained = TRUE
FROM (
  WITH cand AS (
    SELECT t.event_id, t.employee_id, t.peer_group, t.customer_id, s.action,
           s.surname, s.home_postcode
    FROM step_touch t JOIN step_events s USING (event_id)
    WHERE s.in_step AND s.fresh AND NOT s.explained AND s.policy IS NULL
      AND s.action <> 'login' AND s.action NOT IN {OUTBOUND}
      AND len(s.customer_ids) BETWEEN 1 AND $targeted
  )
  SELECT x.event_id
  FROM cand x
  LEFT JOIN {DESK_POOL} p ON p.peer_group = x.peer_group AND p.customer_id = x.customer_id
   AND p.staff - CASE WHEN list_contains(p.lookers, x.employee_id) THEN 1 ELSE 0 END
       >= $dp_staff
  LEFT JOIN customers c ON c.customer_id = x.customer_id
  LEFT JOIN canaries k ON k.customer_id = x.customer_id
  LEFT JOIN {PUBLIC_FIGURES} f ON f.customer_id = x.customer_id
  GROUP BY x.event_id, x.action
  HAVING NOT bool_or(  -- a relative, a neighbour, a canary, a public figure outside the
                       -- pool (a pool holds flagged VIPs only where it is mostly VIPs)
           k.customer_id IS NOT NULL
           OR (c.surname <> '' AND lower(c.surname) = lower(x.surname))
           OR (c.postcode <> '' AND c.postcode = x.home_postcode)
           OR (f.customer_id IS NOT NULL AND p.customer_id IS NULL))
     AND CASE WHEN x.action = 'search' THEN bool_or(p.customer_id IS NOT NULL)
              ELSE bool_and(p.customer_id IS NOT NULL) END
) x
WHERE e.event_id = x.event_id
"""

_EXPLAIN_SQL = f"""
UPDATE step_events e SET explanation = '{EXPLANATION}', explained = TRUE
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
  SELECT x.event_id
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
           OR (c.surname <> '' AND lower(c.surname) = lower(x.surname))
           OR (c.postcode <> '' AND c.postcode = x.home_postcode)
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


def _pool_settings(cfg: DetectionConfig) -> dict:
    d = cfg.book.desk
    return {"dp_staff": d.min_staff, "dp_share": d.group_share}


def learn_group_books(con, cfg: DetectionConfig, params: dict) -> None:
    """Write the books of every group that works from books on ``$day``, and the pools of
    every group that works a pool, from the earlier days of the window."""
    execute(con, _LEARN_SQL, {**params, **_settings(cfg)})
    execute(con, _LEARN_POOL_SQL, {**params, **_settings(cfg), **_pool_settings(cfg)})


def explain_by_group_book(con, cfg: DetectionConfig, params: dict) -> None:
    """Explain this step's case-less look-ups of the customers in the employee's
    relationship book (learned for the day: :func:`learn_group_books`), where the peer
    group works from books."""
    if cfg.book.relationship.enabled:
        execute(con, _EXPLAIN_SQL, params)
        if cfg.book.desk.enabled:
            execute(con, _EXPLAIN_POOL_SQL, {**params, **_pool_settings(cfg)})
