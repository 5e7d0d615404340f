"""A crowd of strangers at one customer's record: curiosity about someone in the news.

When a customer is in the headlines, several staff of different teams each open her
record with no case on a few days; none of them serves her. One look-up each is within
every allowance, and the famous customer may be on no VIP list. What stands out is the
crowd: how many distinct *strangers* (staff who looked the customer up with no case
and had no case of theirs in the window, no service account the routine knows) came
to one customer within ``window_days``, against how many strangers customers of this
company usually draw in as many days.

Each day learns, once, from the ``window_days`` before it: the strangers per customer
looked up with no case (revisits' case-less look-up, less the team portfolio's and the
relationship book's, which explain a look-up by whom it is about), and the company's
*line*: more strangers than the ``quantile`` of that distribution, than Poisson chance
puts on any customer (a company with that many customer-stranger pairs spread over its
customers expects fewer than ``chance`` of them to draw as many), and at least
``min_staff``. A customer whose strangers already reached the line in the baseline before
the window (a popular account calling a general queue, a well-known client) is no story.

The step counts, per customer, the strangers of the window and of the day up to each
look-up; the moment the crowd reaches the line, with staff of at least ``min_groups``
peer groups, every stranger in it gets a finding (at that moment: nothing later is
used), and each stranger who comes to her later in the window gets one at their look-up.
A finding weighs ``points``, more for what a snoop does (a name search that found her,
contact details opened, coming back on more days of the window): ``extra`` each, up to
``max_weight`` times ``points``.
"""

from __future__ import annotations

import msgspec

from insiderwatch.detect.base import Detector, StepContext, capped_list, sql_list, sql_str
from insiderwatch.detect.book import CASE_REASONS
from insiderwatch.detect.explain import PEER_GROUP
from insiderwatch.detect.ranges import AtLeastOne, NonNegative, Positive, Quantile, Share, Tail
from insiderwatch.detect.reasons import CASE_LINKED, PORTFOLIO
from insiderwatch.detect.revisits import RELATIONSHIP_BOOKS, caseless_lookup_sql


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    window_days: AtLeastOne = 10  # how long a story runs: the strangers counted together
    quantile: Quantile = 0.999  # of strangers per customer in as many days
    chance: Tail = 0.01  # customers expected to draw the line's crowd by chance
    min_staff: AtLeastOne = 3
    min_groups: AtLeastOne = 2  # a general queue's agents are one group
    # Of the staff who came to the customer in the window, the strangers' share at least:
    # a customer worked under many cases draws a few case-less look-ups from its queues.
    min_share: Share = 0.75
    points: NonNegative = 30.0
    extra: NonNegative = 0.25  # per sign of snooping: name search, contact, each more day
    max_weight: Positive = 2.0
    max_evidence: AtLeastOne = 50


EARLIER = "daily_crowd_earlier"  # the window's case-less look-ups before the day
LINE = "daily_crowd_line"  # the day's line: strangers a customer draws by chance or routine
STANDING = "daily_crowd_standing"  # customers with a crowd before the window: no story

# A look-up explained by whom it is about (a seller's buyers, a desk's shared clients)
# is no stranger's.
# Only a look-up that opens her record counts: a view, or a search that found only her (a
# search listing her among others opens nobody's).
_CASELESS = (
    caseless_lookup_sql(
        "a.action", "len(a.customer_ids)", "x.explanation",
        excluding=(PORTFOLIO, *RELATIONSHIP_BOOKS),
    )
    + " AND (a.action <> 'search' OR len(a.customer_ids) = 1)"
)  # fmt: skip
# A touch that made the customer the employee's own: a case about them.
_SERVED = (
    f"(list_contains({sql_list(CASE_REASONS)}, x.explanation) "
    f"OR starts_with(x.explanation, {sql_str(CASE_LINKED)}))"
)
_MACHINES = """SELECT DISTINCT substr(grp, 6) AS employee_id FROM routine_flows
  WHERE day = $day AND machine"""


def _looks_sql(days: str, times: str, condition: str) -> str:
    """Touches (employee, group, day, time, event, customer, search, contact) of the
    explained ``days`` within ``times`` that meet ``condition``."""
    return f"""SELECT a.employee_id, {PEER_GROUP} AS peer_group, x.day, a.time, a.event_id,
    unnest(a.customer_ids) AS customer_id, a.action = 'search' AS searched,
    list_contains(a.fields, 'email') OR list_contains(a.fields, 'phone') AS contact
  FROM access a JOIN access_explained x USING (event_id)
  LEFT JOIN employees e ON e.employee_id = a.employee_id
  WHERE {days} AND {times} AND {condition}"""


def _strangers_sql(looks: str, served: str) -> str:
    """Distinct (customer, employee) of ``looks`` by staff with no case of the customer
    (``served``) who are no service account."""
    return f"""SELECT DISTINCT l.customer_id, l.employee_id FROM ({looks}) l
  ANTI JOIN ({served}) s USING (employee_id, customer_id)
  ANTI JOIN ({_MACHINES}) m USING (employee_id)"""


_BOOK = "SELECT employee_id, customer_id FROM book_days WHERE day >= $b0 AND day < $day"


class Crowd(Detector):
    id = "crowd"
    version = "1"
    title = "One of a crowd of strangers at a customer's record"
    description = (
        "Targeted look-ups with no case of a customer whom, within window_days, more "
        "distinct staff with no case of theirs (of at least min_groups peer groups; no "
        "service account) looked up than customers of the company usually draw in as many "
        "days (above the quantile of strangers per customer, and above what Poisson chance "
        "gives any customer); customers who drew such a crowd before the window are "
        "left out. Every stranger in the crowd gets a finding when it reaches the line, "
        "each later one at their look-up; a name search, contact details and more days "
        "weigh more."
    )
    why = (
        "When a customer is in the news, staff of several teams each open her record out "
        "of curiosity: one look-up each, within every allowance, of someone on no VIP list. "
        "The crowd is what gives it away."
    )
    false_positives = (
        "An incident many teams looked into without opening cases; a customer who called "
        "several desks the same week and whose cases were not captured."
    )
    investigate = (
        "List the crowd (the reason names its size and the window): did a case, incident or "
        "call bring any of them to the customer? Is the customer in the news? Look at what "
        "each opened and whether they searched by name first."
    )
    Config = Config
    # A finding comes from other staff's look-ups too.
    scope = "company"

    def step_employees(self, ctx: StepContext, config: Config) -> str:
        # It reads the stored explanations of the day, not step rows: none beyond the
        # step's own.
        return "SELECT employee_id FROM employees WHERE FALSE"

    def daily(self, ctx: StepContext, config: Config) -> dict[str, str]:
        c = config
        since = f"$day - INTERVAL {c.window_days} DAY"
        earlier = _looks_sql(
            f"x.day >= {since} AND x.day < $day", f"a.time >= {since} AND a.time < $s", _CASELESS
        )
        per_customer = f"""SELECT customer_id, count(*) AS staff
  FROM ({_strangers_sql(f"SELECT * FROM {EARLIER}", _BOOK)}) GROUP BY customer_id"""
        before = f"""SELECT employee_id, customer_id FROM revisit_days
  WHERE day >= $b0 AND day < {since}"""
        return {
            EARLIER: earlier,
            LINE: f"""WITH p AS ({per_customer}),
m AS (SELECT coalesce(sum(staff), 0) / greatest((SELECT count(*) FROM customers), 1) AS mean,
             greatest((SELECT count(*) FROM customers), 1) AS n FROM p),
poisson AS (  -- the least k no more than `chance` customers reach by chance
  SELECT coalesce(min(j) + 1, 1000) AS k FROM (
    SELECT j, n * (1 - sum(exp(-mean + j * ln(greatest(mean, 1e-12)) - lgamma(j + 1)))
                       OVER (ORDER BY j)) AS expected
    FROM m, range(0, 60) r(j)
  ) WHERE expected < {c.chance}
)
SELECT greatest({c.min_staff}, floor(coalesce((SELECT quantile_cont(staff, {c.quantile})
                                               FROM p), 0))::BIGINT + 1,
                (SELECT k FROM poisson)) AS line""",
            STANDING: f"""SELECT customer_id FROM ({_strangers_sql(before, _BOOK)})
GROUP BY customer_id HAVING count(*) >= (SELECT line FROM {LINE})""",
        }

    def sql(self, ctx: StepContext, config: Config) -> str:
        c = config
        today = _looks_sql("x.day = $day", "a.time >= $s AND a.time < $e", _CASELESS)
        served_today = _looks_sql("x.day = $day", "a.time >= $s AND a.time < $e", _SERVED)
        served = f"{_BOOK} UNION ALL SELECT employee_id, customer_id FROM ({served_today})"
        return f"""
WITH looks AS (  -- strangers' case-less look-ups of the window, up to now
  SELECT l.* FROM (SELECT * FROM {EARLIER} UNION ALL {today}) l
  ANTI JOIN ({served}) s USING (employee_id, customer_id)
  ANTI JOIN ({_MACHINES}) m USING (employee_id)
  ANTI JOIN {STANDING} st USING (customer_id)
),
firsts AS (  -- when each stranger first came to each customer
  SELECT customer_id, employee_id, any_value(peer_group) AS peer_group, min(time) AS time,
         arg_min(event_id, (time, event_id)) AS event_id
  FROM looks GROUP BY customer_id, employee_id
),
busy AS (  -- customers whose strangers reach the line at all
  SELECT customer_id FROM firsts GROUP BY customer_id
  HAVING count(*) >= (SELECT line FROM {LINE})
     AND count(DISTINCT peer_group) >= {c.min_groups}
),
running AS (  -- the crowd as each stranger arrived
  SELECT f.customer_id, f.employee_id, f.time, f.event_id, count(*) AS staff,
         count(DISTINCT g.peer_group) AS groups
  FROM firsts f JOIN firsts g ON g.customer_id = f.customer_id AND g.time <= f.time
  WHERE f.customer_id IN (SELECT customer_id FROM busy)
  GROUP BY ALL
),
served_staff AS (  -- staff with a case of the crowded customers in the window, from when
                   -- (an earlier day's: from its start)
  SELECT customer_id, employee_id, min(time) AS time FROM (
    SELECT employee_id, customer_id, timezone('UTC', day::TIMESTAMP) AS time FROM book_days
    WHERE day >= $day - INTERVAL {c.window_days} DAY AND day < $day
    UNION ALL SELECT employee_id, customer_id, time FROM ({served_today})
  ) WHERE customer_id IN (SELECT customer_id FROM busy)
  GROUP BY customer_id, employee_id
),
crossed AS (  -- the moment each customer's crowd reached the line, of strangers who are
              -- at least `min_share` of everyone who came to them (a customer worked
              -- under many cases draws a few strangers from the same queues)
  SELECT customer_id, min(time) AS time, arg_min(event_id, (time, event_id)) AS event_id,
         arg_min(staff, (time, event_id)) AS staff, arg_min(groups, (time, event_id)) AS groups
  FROM (
    SELECT r.*, (SELECT count(*) FROM served_staff s
                 WHERE s.customer_id = r.customer_id AND s.time <= r.time) AS served
    FROM running r
  )
  WHERE staff >= (SELECT line FROM {LINE}) AND groups >= {c.min_groups}
    AND staff >= {c.min_share} * (staff + served)
  GROUP BY customer_id
),
due AS (  -- each stranger's finding of the day: when the crowd formed today, or at
          -- their own look-up today after it had
  SELECT l.employee_id, l.customer_id, x.staff, x.groups, x.time AS crossed_at,
         x.event_id AS crossing,
         CASE WHEN x.time >= $s THEN greatest(x.time, min(l.time) FILTER (WHERE l.day = $day))
              ELSE min(l.time) FILTER (WHERE l.day = $day) END AS fire_at
  FROM looks l JOIN crossed x USING (customer_id)
  GROUP BY l.employee_id, l.customer_id, x.staff, x.groups, x.time, x.event_id
  HAVING x.time >= $s OR bool_or(l.day = $day AND l.time >= x.time)
),
judged AS (
  SELECT d.employee_id, d.customer_id, d.staff, d.groups, d.fire_at, d.crossed_at,
         d.crossing, min(l.time) AS first_time,
         count(DISTINCT l.day) AS days, bool_or(l.searched) AS searched,
         bool_or(l.contact) AS contact,
         {capped_list("l.event_id", c.max_evidence)} AS event_ids
  FROM due d
  JOIN looks l ON l.employee_id = d.employee_id AND l.customer_id = d.customer_id
   AND l.time <= d.fire_at
  GROUP BY ALL
)
SELECT employee_id, fire_at AS time, first_time,
       {c.points} * least({c.max_weight}, 1 + {c.extra} * (searched::INT + contact::INT
                                                           + days - 1)) AS points,
       'medium' AS severity, FALSE AS critical,
       strftime($day, '%Y-%m-%d') || ':' || customer_id AS key,
       format('looked up customer {{}} with no case on {{}} day(s), one of {{}} staff of {{}} '
              || 'groups with no case of theirs who did within {c.window_days} days (customers '
              || 'here draw fewer than {{}} by chance or routine){{}}{{}}',
              customer_id, days, staff, groups, (SELECT line FROM {LINE}),
              CASE WHEN searched THEN '; searched first' ELSE '' END,
              CASE WHEN contact THEN '; contact details opened' ELSE '' END) AS reason,
       -- at the crowd's forming, the look-up that formed it (another's) is cited too
       list_distinct(CASE WHEN fire_at = crossed_at THEN list_append(event_ids, crossing)
                          ELSE event_ids END) AS event_ids,
       [customer_id] AS customer_ids
FROM judged
"""
