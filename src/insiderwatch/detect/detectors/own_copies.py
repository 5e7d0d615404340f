"""Copies, exports and prints made of the employee's own case-less look-ups.

The slow harvester's evidence is not how many customers they look up (benign peers
make as many case-less look-ups) but what they do with them: an outbound action, of any
size and to any destination, whose customers are mostly (``min_share``) the employee's
own earlier case-less look-ups in the trailing ``window_days``, at least
``min_customers`` of them not sent out by an earlier action of the window
(:mod:`~insiderwatch.detect.owncopies`): sending the same handful again is one copy, not
a new one each time. How rare that is, is learned from the peer group's earlier days
(``own_copy_days``, the employee's own left out): the share of the peers' employee-days
of the baseline window with an action that newly carried at least as many of their own
case-less look-ups; a peer's repeats add no day. A group's share is pulled towards the
company's (its other staff's days, one day added to both counts, so a company with no
such day still has a finite rarity) as if ``prior_days`` more employee-days of it were
seen: a team's only queue manager, or a group in its first weeks, is judged by what the
company's staff do instead of not at all, or at a share no rarer than one of its few
days. It fires at most ``max_tail``; a rarer
one weighs more, by its log-rarity as the VIP detector does (``log(t) /
log(full_weight_tail)``, capped at 1), times the share of the action its newly sent
look-ups make. One finding per new copy, so weekly copies of new look-ups add up in the
risk score (one alert per episode) and repeats do not; the earlier copies of the same
customers (the repeats before it) are cited with it.
"""

from __future__ import annotations

import math

import msgspec

from insiderwatch.detect.base import Detector, StepContext
from insiderwatch.detect.owncopies import STEP_COPIES


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    window_days: int = 14  # of own case-less look-ups an action can carry
    min_customers: int = 3  # covered by them: a single customer just served is work
    min_share: float = 0.5  # of the action's customers
    min_peer_days: int = 20  # the company's employee-days in the baseline window
    # A group with few days (a queue's two managers, a kiosk team's first week) is pulled
    # towards the company's share, as if this many more employee-days of it were seen.
    prior_days: float = 20.0
    max_tail: float = 0.05  # share of the peers' days with such an action, to fire
    full_weight_tail: float = 0.01  # at or below it the finding weighs in full
    points: float = 20.0
    max_evidence: int = 500


class OwnCopies(Detector):
    id = "own_copies"
    version = "4"
    title = "Sending out the customers one looked up with no case"
    description = (
        "An export, download, print, copy or message, of any size and to any destination, "
        "whose customers are mostly the employee's own look-ups with no case (allowed "
        "ones included) of the last two weeks, at or before it, several of them not sent "
        "out before; fires when the peer group's staff did so on few of their earlier "
        "days (a small group's share pulled towards the company's), weighing more the "
        "rarer and the larger the share of the action those new look-ups make. One "
        "finding per new copy, citing earlier copies of the same "
        "customers: weekly copies of new look-ups add up, sending one list again does not."
    )
    why = (
        "Careful harvesters look up a few customers a day, within every line and the "
        "group's allowance, then take exactly those out in small copies. Looking up is "
        "common; taking out several customers nobody asked one to look at is not."
    )
    false_positives = (
        "Work done outside the case system and sent on (a callback list the employee "
        "compiled for a colleague); a group whose staff routinely do so is learned as such "
        "and weighs little."
    )
    investigate = (
        "Compare the action's customers with the look-ups cited: when, what was opened "
        "(contact details), whether any case or request explains them; check where the "
        "copy went next and earlier copies of the same kind."
    )
    Config = Config
    # own_copy_days records how much of each action the window's look-ups covered.
    history_settings = ("window_days",)

    def sql(self, ctx: StepContext, config: Config) -> str:
        c = config
        log_full = math.log(c.full_weight_tail)
        return f"""
WITH judged AS (  -- mostly own look-ups, and enough of them sent for the first time
  SELECT *, fresh / size AS share
  FROM {STEP_COPIES}  -- covered_sql(window_days, max_evidence), made once a step
  WHERE fresh >= {c.min_customers} AND covered >= {c.min_share} * size
),
peer_days AS (  -- each colleague's employee-days of the baseline window
  SELECT employee_id, peer_group, count(*) AS days FROM employee_days
  WHERE day >= $b0 AND day < $day GROUP BY ALL
),
peer_copies AS (  -- each colleague's most newly-sent qualifying action per day of the window
  SELECT employee_id, day, arg_max(peer_group, fresh) AS peer_group, max(fresh) AS fresh
  FROM own_copy_days
  WHERE day >= $b0 AND day < $day AND covered >= {c.min_share} * size GROUP BY ALL
),
seen AS (  -- the others' days: the peer group's, and the whole company's
  SELECT j.event_id, coalesce(sum(p.days) FILTER (WHERE p.peer_group = j.peer_group), 0) AS n,
         coalesce(sum(p.days), 0) AS all_n
  FROM judged j LEFT JOIN peer_days p ON p.employee_id <> j.employee_id
  GROUP BY j.event_id
),
copied AS (  -- of those, the days with an action newly carrying as many own look-ups
  SELECT j.event_id, count(p.day) FILTER (WHERE p.peer_group = j.peer_group) AS k,
         count(p.day) AS all_k
  FROM judged j
  LEFT JOIN peer_copies p ON p.employee_id <> j.employee_id AND p.fresh >= j.fresh
  GROUP BY j.event_id
),
rare AS (  -- the group's share pulled towards the company's (one day added to its counts)
  SELECT j.*, s.n, k.k, s.all_n, k.all_k,
         (k.k + {c.prior_days} * (k.all_k + 1) / (s.all_n + 1)) / (s.n + {c.prior_days}) AS tail
  FROM judged j JOIN seen s USING (event_id) JOIN copied k USING (event_id)
  WHERE s.all_n >= {c.min_peer_days}
)
SELECT r.employee_id, r.time, r.first_time,
       {c.points} * least(1.0, ln(r.tail) / {log_full}) * r.share AS points,
       CASE WHEN r.tail <= {c.full_weight_tail} THEN 'medium' ELSE 'low' END AS severity,
       FALSE AS critical, r.event_id AS key,
       format('{{}} {{}} customer record(s) to {{}}, {{}} of them looked up with no case in the '
              '{c.window_days} days before (from {{}}), {{}} of those sent out for the first '
              'time{{}}; the peer group''s staff did so on {{}} of {{}} earlier days, the '
              'company''s on {{}} of {{}}',
              r.action, r.size, coalesce(r.destination, 'an unknown destination'), r.covered,
              strftime(r.first_time, '%Y-%m-%d %H:%M'), r.fresh,
              CASE WHEN len(r.copy_events) > 0
                   THEN format(' (the rest sent before, in {{}} earlier action(s))',
                               len(r.copy_events)) ELSE '' END,
              r.k, r.n, r.all_k, r.all_n) AS reason,
       list_distinct(list_concat([r.event_id], r.looked_events, r.copy_events)) AS event_ids,
       r.customers[1:{c.max_evidence}] AS customer_ids
FROM rare r
WHERE r.tail <= {c.max_tail}
"""
