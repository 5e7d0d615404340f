from __future__ import annotations

import msgspec

from insiderwatch.detect.base import Detector, StepContext
from insiderwatch.detect.baseline import fmt_num
from insiderwatch.detect.ranges import AtLeastOne, NonNegative, Quantile


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    window_days: AtLeastOne = 7
    floor: NonNegative = 15.0
    mad_k: NonNegative = 4.0
    min_own_windows: AtLeastOne = 5
    peer_quantile: Quantile = 0.99
    min_peer_days: AtLeastOne = 20
    min_history_days: AtLeastOne = 5
    points: NonNegative = 12.0


# The days before the step's, learned once a day.
HISTORY = "daily_sustained_history"
OWN = "daily_sustained_own"
PEER = "daily_sustained_peer"
EARLIER = "daily_sustained_earlier"


class Sustained(Detector):
    id = "sustained"
    version = "1"
    title = "Contact details harvested a few at a time"
    description = (
        "Counts, over a rolling week, the customers whose email or phone the employee opened "
        "with no case (search results aside), and fires once a day when the week so far "
        "passes the employee's own usual week (median + 4 MAD) and the peers' 99th "
        "percentile of weeks."
    )
    why = (
        "Careful harvesters stay under any daily line: a handful of phone numbers a day, "
        "every day, adds up to a list worth selling within weeks. Only a longer window "
        "shows it."
    )
    false_positives = (
        "A week of work outside the case system (a migration, a campaign of callbacks); "
        "roles whose daily work is contact details without cases."
    )
    investigate = (
        "List the week's unexplained contact look-ups: random customers with nothing in "
        "common are the harvest pattern; compare with complaints about spam or scam calls."
    )
    Config = Config

    def daily(self, ctx: StepContext, config: Config) -> dict[str, str]:
        # The usual weeks, own and the peers', from the days before the step's.
        c = config
        w = c.window_days
        return {
            # trailing {w}-day sums ending on each earlier day of the baseline window
            HISTORY: f"""SELECT * FROM (
  SELECT employee_id, peer_group, day,
         sum(unexplained_contact) OVER (PARTITION BY employee_id ORDER BY day
           RANGE BETWEEN INTERVAL {w - 1} DAY PRECEDING AND CURRENT ROW) AS v
  FROM employee_days WHERE day >= $b0 - INTERVAL {w - 1} DAY AND day < $day
) WHERE day >= $b0""",
            OWN: f"""
WITH own_history AS (  -- weeks ending on a day this detector flagged are not the usual
  SELECT * FROM {HISTORY} h
  WHERE NOT EXISTS (SELECT 1 FROM findings f WHERE f.detector = 'sustained'
                    AND f.employee_id = h.employee_id AND f.day = h.day)
),
own AS (SELECT employee_id, count(*) AS n, median(v) AS med FROM own_history GROUP BY ALL)
SELECT o.*, m.mad FROM own o LEFT JOIN (
  SELECT h.employee_id, median(abs(h.v - o.med)) AS mad
  FROM own_history h JOIN own o USING (employee_id) GROUP BY ALL
) m USING (employee_id)""",
            PEER: f"""SELECT peer_group, quantile_cont(v, {c.peer_quantile}) AS q FROM {HISTORY}
  GROUP BY ALL
  HAVING count(*) >= {c.min_peer_days} AND count(DISTINCT day) >= {c.min_history_days}""",
            # the week's days before today
            EARLIER: f"""SELECT employee_id, sum(unexplained_contact) AS before
  FROM employee_days WHERE day > $day - INTERVAL {w} DAY AND day < $day GROUP BY ALL""",
        }

    def sql(self, ctx: StepContext, config: Config) -> str:
        c = config
        w = c.window_days
        return f"""
WITH own AS (SELECT * FROM {OWN}),
own_mad AS (SELECT employee_id, mad FROM {OWN}),
peer AS (SELECT * FROM {PEER}),
earlier AS (SELECT * FROM {EARLIER}),
today AS (
  SELECT employee_id, any_value(peer_group) AS peer_group, customer_id,
         min(time) AS time, arg_min(event_id, (time, event_id)) AS event_id
  FROM step_touch
  WHERE in_step AND NOT explained AND action <> 'search'
    AND (list_contains(fields, 'email') OR list_contains(fields, 'phone'))
  GROUP BY employee_id, customer_id
),
run AS (
  SELECT t.*, coalesce(e.before, 0)
           + row_number() OVER (PARTITION BY t.employee_id ORDER BY t.time, t.customer_id) AS total,
         coalesce(e.before, 0) AS before,
         greatest({c.floor}, p.q,
                  CASE WHEN o.n >= {c.min_own_windows} THEN o.med + {c.mad_k} * 1.4826 * m.mad + 1
                       ELSE 0 END) AS threshold,
         o.med AS own_median, p.q AS peer_q
  FROM today t
  JOIN peer p ON p.peer_group = t.peer_group
  LEFT JOIN earlier e USING (employee_id)
  LEFT JOIN own o USING (employee_id)
  LEFT JOIN own_mad m USING (employee_id)
),
crossing AS (SELECT employee_id, min(total) AS total FROM run WHERE total >= threshold GROUP BY ALL)
SELECT r.employee_id, max(r.time) AS time, min(r.time) AS first_time, {c.points} AS points,
       'medium' AS severity, FALSE AS critical, strftime($day, '%Y-%m-%d') AS key,
       format('opened the email or phone of {{}} customers with no case in {w} days ({{}} '
              'before today); usual week {{}}; peers'' 99th percentile {{}}',
              {fmt_num("any_value(x.total)")}, {fmt_num("any_value(r.before)")},
              {fmt_num("any_value(r.own_median)")}, {fmt_num("any_value(r.peer_q)")}) AS reason,
       list(DISTINCT r.event_id) AS event_ids, list(DISTINCT r.customer_id) AS customer_ids
FROM run r JOIN crossing x ON x.employee_id = r.employee_id AND r.total <= x.total
GROUP BY r.employee_id
"""
