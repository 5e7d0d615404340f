"""Case-less look-ups that show a set of fields no colleague's look-ups show.

A counter drip sells contact details a few at a time: two to five customers a day, each
opened with no case, under every count line (the counter's own benign work leaves as many
look-ups unexplained) and within the group's allowance. What sets it apart is what it
opens: the contact details alone, where the colleagues open whole records (or the
payment details alone, where they open the order). The set of fields an access shows is
chosen by the screen, the report or the query used, so a peer group's sets are few and
shared: a set nobody else in the group showed with that action in the weeks before is a
way of looking people up of the employee's own.

Each day, an employee's case-less look-ups (:func:`~insiderwatch.detect.revisits.
caseless_lookup_sql`) showing such a set are counted by customer; the look-up that
reaches ``min_customers`` makes the finding of the day (its evidence the customers up to
it), of few points: one day is a new screen or a one-off
report, while days of it add up in the risk score. The group's sets are read from the
recorded routine history (``routine_days``, each distinct set an employee showed with an
action in a day), of the baseline window before today, from other members only and
without the days that had a critical finding: an employee's own habit does not make a
set the group's, nor does a colleague's harvest. A group with fewer than
``min_peers`` other members who looked anyone up in the window is not judged (every set of
a lone employee is nobody else's).
"""

from __future__ import annotations

import msgspec

from insiderwatch.detect.base import (
    Detector,
    StepContext,
    capped_list,
    field_set,
    opening_action_sql,
    teaching_day_sql,
)
from insiderwatch.detect.baseline import fmt_num
from insiderwatch.detect.ranges import AtLeastOne, NonNegative
from insiderwatch.detect.revisits import CASELESS_LOOKUP


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    min_customers: AtLeastOne = 2  # customers a day shown with a set no colleague shows
    # Other members of the group who looked anyone up in the baseline window: with fewer,
    # a set nobody else showed says nothing (a lone employee's every set is their own).
    min_peers: AtLeastOne = 3
    # A day's finding: one such day is a new screen; several add up in the risk score.
    points: NonNegative = 12.0
    max_evidence: AtLeastOne = 200


# Per peer group, action and field set shown in one access over the baseline window before
# today: how many members showed it, and one of them (a set one member showed is unusual
# for the others only).
SHOWN = "daily_unusual_fields_shown"
# Per peer group, the members who looked anyone up in the window.
LOOKERS = "daily_unusual_fields_lookers"


class UnusualFields(Detector):
    id = "unusual_fields"
    version = "1"
    title = "Look-ups showing fields no colleague's show"
    description = (
        "Counts, each day, the customers an employee looked up with no case (the "
        "allowance's look-ups included) with a set of fields that no other member of the "
        "peer group showed with that action in the baseline window (e.g. the contact "
        "details alone, where colleagues open whole records); fires once min_customers "
        "are reached, for groups with at least min_peers other members who looked "
        "customers up. A finding per day: several days add up."
    )
    why = (
        "Someone collecting contact details to sell opens just those, a few a day, under "
        "every count line; colleagues serving customers open the record their work needs. "
        "The fields chosen are what the purpose leaves in the log."
    )
    false_positives = (
        "A new screen, report or tool rolled out to one member first; a member of a group "
        "whose work differs from the rest (a specialist in a general team)."
    )
    investigate = (
        "List the look-ups with that set of fields: which customers, with or without "
        "anything linking them to the employee's work; ask whether a new tool or screen "
        "shows that set; check whether an export, message or copy followed."
    )
    Config = Config

    def daily(self, ctx: StepContext, config: Config) -> dict[str, str]:
        # The window before today is the same for every step of the day. A day with a
        # critical finding teaches nothing: a colleague's harvest does not make its set
        # of fields the group's.
        days = f"""FROM routine_days r
WHERE r.day >= $b0 AND r.day < $day AND {opening_action_sql("r.action")}
  AND r.peer_group IS NOT NULL AND {teaching_day_sql("r")}"""
        return {
            SHOWN: f"""
SELECT peer_group, action, shown, count(DISTINCT employee_id) AS staff,
       min(employee_id) AS one
FROM (SELECT r.peer_group, r.action, r.employee_id, unnest(r.field_sets) AS shown {days})
GROUP BY ALL""",
            LOOKERS: f"SELECT DISTINCT r.peer_group, r.employee_id {days}",
        }

    def sql(self, ctx: StepContext, config: Config) -> str:
        c = config
        return f"""
WITH looked AS (  -- today's case-less look-ups, each customer's with the set of fields shown
  SELECT t.employee_id, t.peer_group, t.action, {field_set("t.fields")} AS shown,
         t.customer_id, t.time, t.event_id
  FROM step_touch t WHERE t.in_step AND {CASELESS_LOOKUP}
),
judged AS (  -- groups with enough other members who looked customers up in the window
  SELECT l.employee_id, any_value(l.peer_group) AS peer_group, count(DISTINCT k.employee_id) AS peers
  FROM (SELECT DISTINCT employee_id, peer_group FROM looked) l
  JOIN {LOOKERS} k ON k.peer_group = l.peer_group AND k.employee_id <> l.employee_id
  GROUP BY l.employee_id HAVING count(DISTINCT k.employee_id) >= {c.min_peers}
),
unusual AS (  -- the look-ups showing a set no other member showed with that action
  SELECT l.*, j.peers FROM looked l JOIN judged j USING (employee_id)
  LEFT JOIN {SHOWN} s ON s.peer_group = l.peer_group AND s.action = l.action
   AND s.shown = l.shown
  WHERE s.staff IS NULL OR (s.staff = 1 AND s.one = l.employee_id)
),
firsts AS (  -- each customer's first such look-up today, counted in time order
  SELECT employee_id, customer_id, min(time) AS time,
         arg_min(event_id, (time, event_id)) AS event_id,
         arg_min(shown, (time, event_id)) AS shown, arg_min(action, (time, event_id)) AS action,
         any_value(peers) AS peers
  FROM unusual GROUP BY employee_id, customer_id
),
counted AS (  -- in time order: the day's finding is made by the look-up that reaches
             -- min_customers, and stays as it was made (a later step of the day, or a
             -- replay of the whole day, finds it with the same evidence and time)
  SELECT *, row_number() OVER (PARTITION BY employee_id ORDER BY time, customer_id) AS n
  FROM firsts
)
SELECT employee_id, max(time) AS time, min(time) AS first_time, {c.points} AS points,
       'low' AS severity, FALSE AS critical, strftime($day, '%Y-%m-%d') AS key,
       format('looked up {{}} customers with no case by {{}} UTC with a set of fields none of '
              'the {{}} colleagues who looked customers up in the window showed (the first in {{}} '
              'showing {{}})', {fmt_num("count(*)")}, strftime(max(time), '%H:%M'),
              any_value(peers), CASE arg_min(action, n) WHEN 'search' THEN 'searches'
                                 ELSE arg_min(action, n) || 's' END,
              CASE WHEN arg_min(shown, n) = '' THEN 'no fields'
                   ELSE replace(arg_min(shown, n), ',', ', ') END) AS reason,
       {capped_list("event_id", c.max_evidence)} AS event_ids,
       {capped_list("customer_id", c.max_evidence)} AS customer_ids
FROM counted WHERE n <= {c.min_customers}
GROUP BY employee_id HAVING count(*) >= {c.min_customers}
"""
