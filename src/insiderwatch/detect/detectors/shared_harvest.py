"""Colleagues who looked up, without a case, the customers someone else sent out.

Two insiders can split a harvest: each looks up a few customers a day, under every line,
and one of them sends the whole list out at the end. The list that left is the link:
when data leaves for a destination nothing explains (outside the company, or a bulk
copy no routine covers), the customers in it are matched with the case-less look-ups
other staff made in the weeks before. A colleague whose own look-ups without a case
account for at least ``min_shared`` of the customers that left, and for
``min_share`` of their case-less look-ups in the window, helped build the list, when
that is ``min_lift`` times what chance gives: their look-ups times the list's share of
what they could be expected to look up. That is the list's share of all customers (a
list of half the customers holds half of anyone's look-ups), or, where it is more, its
share of their peer group's shared clients: the customers at least ``min_peer_lookers``
of the rest of the group (the colleague, the sender and service accounts left out) looked
up with no case in the window's earlier days. A departing relationship manager's export
of the desk's clients holds most of what every colleague of the desk looks up without a
case, and is no harvest of theirs; a customer one other colleague alone looked up is no
shared client, so two accomplices of one group, each harvesting half of a list a third
sends, do not make each other's halves look like the group's. That share starts from the
company's, with the weight of one look-up of the list, so a group with few shared
clients leaves it near the company's.
"""

from __future__ import annotations

import msgspec

from insiderwatch.detect.base import (
    DayWindow,
    Detector,
    StepContext,
    capped_list,
    destination_class_sql,
    sql_str,
)
from insiderwatch.detect.ranges import AtLeastOne, NonNegative, Positive, Share
from insiderwatch.detect.reasons import ROUTINE
from insiderwatch.detect.revisits import PORTFOLIO, RELATIONSHIP_BOOKS, caseless_lookup_sql
from insiderwatch.detect.routine import KNOWN_MACHINES, OUTBOUND


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    window_days: AtLeastOne = 28  # look-ups this far back can have fed the list
    min_shared: AtLeastOne = 5  # of the customers sent out, looked up by the colleague
    min_share: Share = 0.25  # of the colleague's case-less look-ups in the window
    # Times more shared customers than chance gives (their look-ups x the list's share of
    # all customers): a list of half the customers shares half of anyone's look-ups.
    min_lift: Positive = 20.0
    # A customer is one of the colleague's group's shared clients when at least this many
    # of its people, the colleague and the sender left out, looked them up with no case:
    # a desk's clients are looked up by many of it, an accomplice's half of a list by one.
    min_peer_lookers: AtLeastOne = 2
    points: NonNegative = 40.0  # as much as the export itself: the same harvest
    max_evidence: AtLeastOne = 500


# The case-less look-ups of the window's days before the step's (learned once a day).
EARLIER = "daily_harvest_caseless"


# Not all of revisits' CASELESS_LOOKUP: a look-up the team portfolio or the relationship
# book explained is explained by whom it is about (the team's buyers, the employee's own
# clients), so it is no harvest for a list someone else sent.
_CASELESS = caseless_lookup_sql(
    "a.action", "len(a.customer_ids)", "x.explanation", excluding=(PORTFOLIO, *RELATIONSHIP_BOOKS)
)


def _caseless_sql(days: str, times: str) -> str:
    """Case-less targeted look-ups (employee_id, event_id, time, customer_id) of the
    explained ``days`` whose events are within ``times`` (the same span: the time bound
    lets the scan skip other days' segments)."""
    return f"""SELECT a.employee_id, a.event_id, a.time, unnest(a.customer_ids) AS customer_id
  FROM access a
  JOIN access_explained x USING (event_id)
  WHERE {days} AND {times}
    AND {_CASELESS}"""


class SharedHarvest(Detector):
    id = "shared_harvest"
    version = "4"
    title = "Customers someone else sent out, looked up without a case"
    description = (
        "When customer data leaves for a destination nothing explains (outside the "
        "company, or a bulk copy no routine covers), finds the other staff who looked up "
        "those customers without a case in the weeks before: one whose case-less look-ups "
        "make up a good part of the list that left (at least min_shared customers, and "
        "min_share of their own case-less look-ups in the window) is flagged at the moment "
        "the data left, when that is far beyond chance (min_lift times what the list's share "
        "of all customers gives, or its share of the customers min_peer_lookers or more of "
        "the rest of the colleague's peer group looked up with no case, where that is "
        "more)."
    )
    why = (
        "Insiders who know the rules split the work: each collects a few customers a day "
        "and one sends the list out. The sender's export is caught; the list that left is "
        "what links the others to it."
    )
    false_positives = (
        "A colleague who legitimately handled the same customers without cases (a team "
        "working one incident) when the export is itself legitimate but not yet routine: "
        "review the export first; if it was sanctioned, both findings go. A list of the "
        "customers the colleague's whole peer group looks up without a case (a desk's "
        "shared clients) is judged by that group's look-ups and flags no one."
    )
    investigate = (
        "Start from the export named in the reason: who sent it, where, and which "
        "customers; then the colleague's look-ups of those customers (when, what was "
        "opened) and any contact between the two."
    )
    Config = Config
    # The colleague's finding comes from the sender's export.
    scope = "company"

    def step_employees(self, ctx: StepContext, config: Config) -> str:
        # The day's senders of a list long enough to count: their exports, explained as a
        # full redo would explain them. Colleagues' look-ups are read from the stored
        # explanations, which a step keeps current for everyone.
        return f"""SELECT DISTINCT employee_id FROM access
WHERE time >= $s AND time < $e AND action IN {OUTBOUND}
  AND len(customer_ids) >= {config.min_shared}"""

    def daily(self, ctx: StepContext, config: Config) -> dict[str, str | DayWindow]:
        # The window's earlier days: their explanations are final, and scanning them
        # again each step of a live day cost more than the rest of the query; carried
        # from day to day, only the day that joined the window is read.
        return {
            EARLIER: DayWindow(
                days=config.window_days - 1,
                sql=_caseless_sql(
                    "x.day >= $since AND x.day < $day", "a.time >= $since AND a.time < $s"
                ),
                placed="time",
            )
        }

    def sql(self, ctx: StepContext, config: Config) -> str:
        c = config
        today = _caseless_sql("x.day = $day", "a.time >= $s AND a.time < $e")
        # The same earlier days the colleague's own look-ups come from (EARLIER).
        earlier = f"day >= $day - INTERVAL {c.window_days - 1} DAY AND day < $day"
        earlier_r = f"r.day >= $day - INTERVAL {c.window_days - 1} DAY AND r.day < $day"
        dest_class = destination_class_sql(ctx.config, "o.destination")
        return f"""
WITH outbound AS (  -- data leaving today for a destination nothing explains
  SELECT o.event_id, o.employee_id AS sender, o.time, o.action, o.destination, o.customer_ids,
         len(o.customer_ids) / (SELECT greatest(count(*), 1) FROM customers) AS list_share
  FROM step_events o
  WHERE o.in_step AND o.action IN {OUTBOUND}
    AND len(o.customer_ids) >= {c.min_shared}
    AND o.explanation IS DISTINCT FROM {sql_str(ROUTINE)}
    AND ({dest_class} = 'external' OR NOT o.explained)
),
sent AS (
  SELECT event_id, sender, time, action, destination, list_share,
         unnest(customer_ids) AS customer_id
  FROM outbound
),
caseless AS (  -- everyone's case-less targeted look-ups in the window, up to now
  SELECT * FROM (
    SELECT * FROM {EARLIER}
    UNION ALL
    {today}
  ) WHERE EXISTS (SELECT 1 FROM outbound)
),
shared AS (  -- a colleague's look-ups, made before the data left, of customers in it
  SELECT s.event_id AS sent_event, any_value(s.sender) AS sender, any_value(s.time) AS time,
         any_value(s.action) AS action, any_value(s.destination) AS destination,
         any_value(s.list_share) AS list_share,
         l.employee_id, count(DISTINCT l.customer_id) AS shared,
         {capped_list("l.event_id", c.max_evidence)} AS event_ids,
         {capped_list("l.customer_id", c.max_evidence)} AS customer_ids,
         min(l.time) AS first_time
  FROM sent s JOIN caseless l ON l.customer_id = s.customer_id
   AND l.employee_id <> s.sender AND l.time <= s.time
  GROUP BY s.event_id, l.employee_id
  HAVING count(DISTINCT l.customer_id) >= {c.min_shared}
),
firsts AS (  -- when each colleague first looked up each customer in the window
  SELECT employee_id, customer_id, min(time) AS time FROM caseless
  WHERE employee_id IN (SELECT employee_id FROM shared)
  GROUP BY ALL
),
own AS (  -- each colleague's case-less look-ups in the window up to the moment it left:
          -- the customers first looked up by then (every look-up against every list that
          -- left cost most of the query)
  SELECT h.sent_event, h.employee_id, count(l.customer_id) AS looked
  FROM shared h JOIN firsts l ON l.employee_id = h.employee_id AND l.time <= h.time
  GROUP BY ALL
),
peer_group AS (  -- each colleague's peer group in the window's earlier days
  SELECT employee_id, arg_max(peer_group, day) AS peer_group FROM revisit_days
  WHERE {earlier} AND employee_id IN (SELECT employee_id FROM shared)
  GROUP BY ALL
),
pairs AS (  -- each colleague judged against a list, with their group and the sender
  SELECT DISTINCT h.sent_event, h.employee_id, h.sender, g.peer_group
  FROM shared h JOIN peer_group g USING (employee_id)
),
lookers AS (  -- per customer those groups' people looked up with no case, how many did
  SELECT peer_group, customer_id, count(DISTINCT employee_id) AS lookers
  FROM revisit_days
  WHERE {earlier} AND peer_group IN (SELECT peer_group FROM pairs)
    AND employee_id NOT IN ({KNOWN_MACHINES})
  GROUP BY ALL
),
listed AS (SELECT DISTINCT event_id AS sent_event, customer_id FROM sent),
group_clients AS (  -- per pair: the group's shared clients (looked up by min_peer_lookers
                    -- of its people or more), and how many the list holds
  SELECT p.sent_event, p.employee_id, count(*) AS clients, count(t.customer_id) AS in_list
  FROM pairs p
  JOIN lookers l ON l.peer_group = p.peer_group AND l.lookers >= {c.min_peer_lookers}
  LEFT JOIN listed t ON t.sent_event = p.sent_event AND t.customer_id = l.customer_id
  GROUP BY ALL
),
not_theirs AS (  -- of those, the clients that fall short once the colleague and the sender
                 -- are left out (only customers the two looked up can: a small set)
  SELECT p.sent_event, p.employee_id, l.customer_id,
         any_value(t.customer_id) IS NOT NULL AS in_list
  FROM pairs p
  JOIN revisit_days r ON r.employee_id IN (p.employee_id, p.sender)
   AND r.peer_group = p.peer_group AND {earlier_r}
   AND r.employee_id NOT IN ({KNOWN_MACHINES})
  JOIN lookers l ON l.peer_group = p.peer_group AND l.customer_id = r.customer_id
   AND l.lookers >= {c.min_peer_lookers}
  LEFT JOIN listed t ON t.sent_event = p.sent_event AND t.customer_id = l.customer_id
  GROUP BY p.sent_event, p.employee_id, l.customer_id, l.lookers
  HAVING l.lookers - count(DISTINCT r.employee_id) < {c.min_peer_lookers}
),
peer_chance AS (  -- the list's share of the rest of the group's shared clients
  SELECT g.sent_event, g.employee_id,
         g.clients - count(n.customer_id) AS clients,
         g.in_list - count(n.customer_id) FILTER (WHERE n.in_list) AS in_list
  FROM group_clients g
  LEFT JOIN not_theirs n USING (sent_event, employee_id)
  GROUP BY g.sent_event, g.employee_id, g.clients, g.in_list
),
judged AS (
  SELECT h.*, o.looked,
         row_number() OVER (PARTITION BY h.employee_id ORDER BY h.time, h.sent_event) AS n
  FROM shared h JOIN own o USING (sent_event, employee_id)
  LEFT JOIN peer_chance pc USING (sent_event, employee_id)
  WHERE h.shared >= {c.min_share} * o.looked
    AND h.shared >= {c.min_lift} * o.looked * greatest(
          h.list_share,
          (coalesce(pc.in_list, 0) + 1) / (coalesce(pc.clients, 0) + 1 / h.list_share))
)
SELECT employee_id, time, first_time, {c.points} AS points, 'high' AS severity,
       FALSE AS critical, sent_event AS key,
       format('looked up {{}} of the customers another employee then sent out ({{}} to {{}}, '
              'event {{}}) without a case; {{}} of their {{}} case-less look-ups in '
              '{c.window_days} days', shared, action, coalesce(destination, 'unknown'),
              sent_event, shared, looked) AS reason,
       list_append(event_ids, sent_event) AS event_ids, customer_ids
FROM judged WHERE n = 1
"""
