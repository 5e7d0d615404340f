from __future__ import annotations

from insiderwatch.detect.base import Detector, StepContext
from insiderwatch.detect.baseline import (
    ThresholdConfig,
    baseline_tables,
    fmt_num,
    running_excess_sql,
)
from insiderwatch.detect.ranges import NonNegative


class Config(ThresholdConfig, frozen=True, kw_only=True):
    floor: NonNegative = 8.0


class Volume(Detector):
    id = "volume"
    version = "1"
    title = "Unexplained access volume"
    description = (
        "Counts, in event time, the distinct customers an employee looked at today with no "
        "case or policy to explain it, and fires when the count passes both the employee's "
        "own usual day (median + 4 MAD) and the 99th percentile of peers (same role, same family of teams); "
        "again at 2x, 4x and 8x."
    )
    why = (
        "Harvesting contact lists means touching many customers nobody asked about. A "
        "volume far above the person's own habit and their peers' is the earliest and most "
        "general sign, whatever the tool or the motive."
    )
    false_positives = (
        "Surges (outages, recalls) raise everyone's volume: peers' quantile absorbs them. "
        "Work done in a tool that does not capture case ids, or cases logged late in another "
        "system; a new role whose peers differ."
    )
    investigate = (
        "Open the employee's timeline for the day: were the customers found by wide "
        "searches? Did an export, print or message follow? Ask the manager whether a task "
        "(a recall, a campaign) explains it, and add a policy or suppression if so."
    )
    Config = Config

    def daily(self, ctx: StepContext, config: Config) -> dict[str, str]:
        return baseline_tables(self.id, config, "unexplained_customers")

    def sql(self, ctx: StepContext, config: Config) -> str:
        contributions = """
SELECT employee_id, any_value(peer_group) AS peer_group, min(time) AS time,
       arg_min(event_id, (time, event_id)) AS event_id, customer_id, 1.0 AS value
FROM step_touch WHERE in_step AND NOT explained
GROUP BY employee_id, customer_id
"""
        describe = (
            "format('looked at {} customers with no case by {} UTC; usual day {}; "
            "peers'' 99th percentile {}', "
            f"{fmt_num('total')}, strftime(time, '%H:%M'), {fmt_num('own_median')}, "
            f"{fmt_num('peer_q')})"
        )
        return running_excess_sql(
            self.id, ctx, config, contributions, "unexplained_customers", describe
        )
