from __future__ import annotations

from insiderwatch.detect.base import Detector, StepContext
from insiderwatch.detect.baseline import (
    ThresholdConfig,
    baseline_tables,
    fmt_num,
    running_excess_sql,
)
from insiderwatch.detect.explain import UNEXPLAINED_WIDE_SEARCH, UNLISTED_ROWS_WEIGHT
from insiderwatch.detect.ranges import NonNegative


class Config(ThresholdConfig, frozen=True, kw_only=True):
    floor: NonNegative = 20.0
    points: NonNegative = 8.0


class Sensitivity(Detector):
    id = "sensitivity"
    version = "1"
    title = "Sensitive data exposed without reason"
    description = (
        "Weighs each unexplained access by what it exposed (contact details together, "
        "payment, address weigh most; see docs) and by the rows a search returned beyond "
        "those listed, and fires when today's running total passes the employee's and "
        "peers' usual, like the volume detector."
    )
    why = (
        "Sellers and spammers buy email and phone numbers. A few looks at contact details "
        "every day is what slow harvesting looks like, even when the count of customers "
        "stays small."
    )
    false_positives = (
        "Roles whose work is contact details (callback teams, data protection requests); "
        "tools that show every field by default inflate the weight evenly, which the "
        "baselines absorb."
    )
    investigate = (
        "List the customers whose contact details were opened without a case; check "
        "whether they are connected (same seller, same region, alphabetical sweep) and "
        "whether any later turned up in a complaint about spam."
    )
    Config = Config

    def daily(self, ctx: StepContext, config: Config) -> dict[str, str]:
        return baseline_tables(self.id, config, "unexplained_weight")

    def sql(self, ctx: StepContext, config: Config) -> str:
        # Each customer counts once a day with the most sensitive set of fields it was
        # opened with so far; rows a search returned beyond its list add a little each.
        # max(weight), not any_value: touches with the same fields can weigh differently
        # and a replay must find the same findings every time. Ties in time are broken by
        # event id, in the order the running sum takes them, so each field set's share
        # never depends on the order the rows arrived in (a day cut into steps).
        contributions = f"""
WITH firsts AS (
  SELECT employee_id, any_value(peer_group) AS peer_group, customer_id, fields,
         min(time) AS time, arg_min(event_id, (time, event_id)) AS event_id, max(weight) AS weight
  FROM step_touch WHERE in_step AND NOT explained
  GROUP BY employee_id, customer_id, fields
),
ranked AS (
  SELECT *, max(weight) OVER (PARTITION BY employee_id, customer_id
                              ORDER BY time, event_id, fields
                              ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS before
  FROM firsts
)
SELECT employee_id, peer_group, time, event_id, customer_id,
       greatest(weight - coalesce(before, 0), 0) AS value
FROM ranked
UNION ALL
SELECT employee_id, peer_group, time, event_id, NULL AS customer_id,
       {UNLISTED_ROWS_WEIGHT} AS value
FROM step_events WHERE {UNEXPLAINED_WIDE_SEARCH}
"""
        describe = (
            "format('exposed sensitive data worth {} points with no case by {} UTC "
            "(contact details weigh most); usual day {}; peers'' 99th percentile {}', "
            f"{fmt_num('total')}, strftime(time, '%H:%M'), {fmt_num('own_median')}, "
            f"{fmt_num('peer_q')})"
        )
        return running_excess_sql(
            self.id, ctx, config, contributions, "unexplained_weight", describe
        )
