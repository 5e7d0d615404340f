"""Copies, exports and prints made of the employee's own case-less look-ups.

The slow harvester's evidence is not how many customers they look up (benign peers
make as many case-less look-ups) but what they do with them: an outbound action, of any
size and to any destination, whose customers are mostly (``min_share``) the employee's
own earlier case-less look-ups in the trailing ``window_days``, at least
``min_customers`` of them not sent out by an earlier action of the window
(:mod:`~insiderwatch.detect.owncopies`): sending the same handful again is one copy, not
a new one each time. How rare that is, is learned from the earlier days of the baseline
window that could carry such a copy (``able``: a case-less look-up on the day or in the
``window_days`` before; staff who only work under cases, machines and policy roles never
make one, and their days would make every copy look rarer than it is): the share of the
peer group's other staff's such days with an action that newly carried at least as many
of their own case-less look-ups (``own_copy_days``); a peer's repeats add no day. Where
the group's other staff have fewer than ``min_peer_days`` of them (a team's only queue
manager, a group's first weeks), the employee's own earlier days (before the day judged)
stand in with theirs, so a lone employee whose work is copying is learned as such; one
who copies weekly is judged rare for about the first three copies (findings that add up
in the risk score; a first one in full opens an alert) and then learned as their habit, which without colleagues cannot be
told from work. That share is pulled towards the
company's (its other staff's days, one day added to the company's counts, so a company
with no such day still has a finite rarity) as if ``prior_days`` more employee-days of
it were seen: it weighs ``prior_days / (n + prior_days)`` against a group's n days. The
company's and each group's counts are made once a step; the employee's own are taken
out of both (where they stand in for the group, they are counted once, as theirs). It
fires at most ``max_tail``; a rarer
one weighs more, by its log-rarity as the VIP detector does (``log(t) /
log(full_weight_tail)``, capped at 1), times the share of the action its newly sent
look-ups make. In full (version 6: ``points`` 30, from 20) it opens an alert alone: a
careful harvester may look up a handful of customers in a week and copy them out once or
twice, and at 20 points a single copy, however rare, stayed under the alert line. One
finding per new copy, so weekly copies of new look-ups add up in the risk score (one
alert per episode) and repeats do not; the earlier copies of the same customers (the
repeats before it) are cited with it.
"""

from __future__ import annotations

import math

import msgspec

from insiderwatch.detect.base import Detector, StepContext
from insiderwatch.detect.owncopies import STEP_COPIES
from insiderwatch.detect.ranges import AtLeastOne, NonNegative, Positive, Share, Tail


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    window_days: AtLeastOne = 14  # of own case-less look-ups an action can carry
    min_customers: AtLeastOne = 3  # covered by them: a single customer just served is work
    min_share: Share = 0.5  # of the action's customers
    # The company's employee-days in the baseline window that could carry such a copy, to
    # judge at all; a peer group whose other staff have fewer adds the employee's own.
    min_peer_days: AtLeastOne = 20
    # Every group's share is pulled towards the company's, as if this many more
    # employee-days of it were seen: a queue's two managers, a kiosk team's first week,
    # a lone role's own first days weigh little; a group's many days outweigh it.
    prior_days: Positive = 20.0
    max_tail: Tail = 0.05  # share of the peers' days with such an action, to fire
    full_weight_tail: Tail = 0.01  # at or below it the finding weighs in full
    # In full, enough to open an alert alone (alert_score 50 needs about 28 points): a
    # copy nobody around makes, of several customers looked up with no case, is the
    # harvest leaving, and a careful harvester may make only one or two of them.
    points: NonNegative = 30.0
    max_evidence: AtLeastOne = 500


class OwnCopies(Detector):
    id = "own_copies"
    version = "6"
    needs_outbound = True  # judges the step's sends (step_own_copies), made of nothing else
    title = "Sending out the customers one looked up with no case"
    description = (
        "An export, download, print, copy or message, of any size and to any destination, "
        "whose customers are mostly the employee's own look-ups with no case (allowed "
        "ones included) of the last two weeks, at or before it, several of them not sent "
        "out before; fires when the peer group's staff did so on few of their earlier days "
        "that could (the employee's own too where the group has too few; every group's "
        "share pulled towards the company's), weighing more the "
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
        w = int(c.window_days)
        return f"""
WITH judged AS (  -- mostly own look-ups, and enough of them sent for the first time
  SELECT *, fresh / size AS share
  FROM {STEP_COPIES}  -- covered_sql(window_days, max_evidence), made once a step
  WHERE fresh >= {c.min_customers} AND covered >= {c.min_share} * size
),
looked_days AS (  -- the days each employee looked someone up with no case
  SELECT DISTINCT employee_id, day FROM revisit_days
  WHERE day >= $b0 - INTERVAL {w} DAY AND day < $day
),
able AS (  -- each employee's days of the baseline window that could carry such a copy:
           -- a case-less look-up on it or in the window_days before
  SELECT d.employee_id, d.peer_group, count(*) AS days
  FROM employee_days d ASOF JOIN looked_days l ON l.employee_id = d.employee_id AND d.day >= l.day
  WHERE d.day >= $b0 AND d.day < $day AND l.day >= d.day - INTERVAL {w} DAY
  GROUP BY ALL
),
copies AS (  -- each employee's most newly-sent qualifying action per day of the window
  SELECT employee_id, day, arg_max(peer_group, fresh) AS peer_group, max(fresh) AS fresh
  FROM own_copy_days
  WHERE day >= $b0 AND day < $day AND covered >= {c.min_share} * size GROUP BY ALL
),
levels AS (SELECT DISTINCT peer_group, fresh FROM judged),
totals AS (  -- everyone's days and copy-days, per judged group and size, counted once
  SELECT v.peer_group, v.fresh,
         coalesce((SELECT sum(days) FROM able a WHERE a.peer_group = v.peer_group), 0) AS group_n,
         coalesce((SELECT sum(days) FROM able), 0) AS all_n,
         (SELECT count(*) FROM copies p WHERE p.peer_group = v.peer_group AND p.fresh >= v.fresh)
           AS group_k,
         (SELECT count(*) FROM copies p WHERE p.fresh >= v.fresh) AS all_k
  FROM levels v
),
own AS (  -- the employee's own of those, in the group and in all
  SELECT j.event_id,
         coalesce((SELECT sum(days) FILTER (WHERE a.peer_group = j.peer_group) FROM able a
                   WHERE a.employee_id = j.employee_id), 0) AS own_group_n,
         coalesce((SELECT sum(days) FROM able a WHERE a.employee_id = j.employee_id), 0) AS own_n,
         (SELECT count(*) FILTER (WHERE p.peer_group = j.peer_group) FROM copies p
          WHERE p.employee_id = j.employee_id AND p.fresh >= j.fresh) AS own_group_k,
         (SELECT count(*) FROM copies p WHERE p.employee_id = j.employee_id AND p.fresh >= j.fresh)
           AS own_k
  FROM judged j
),
counts AS (  -- the others' days: the peer group's staff's, and the company's
  SELECT j.*, t.group_n - o.own_group_n AS n, t.group_k - o.own_group_k AS k,
         t.all_n - o.own_n AS all_n, t.all_k - o.own_k AS all_k, o.own_n, o.own_k,
         t.group_n - o.own_group_n < {c.min_peer_days} AS own_used
  FROM judged j JOIN own o USING (event_id) JOIN totals t USING (peer_group, fresh)
),
rare AS (  -- the group's share (with the employee's own earlier days where its other staff
           -- have too few) pulled towards the company's, one day added to the company's counts
  SELECT *,
         (k + CASE WHEN own_used THEN own_k ELSE 0 END
            + {c.prior_days} * (all_k + 1) / (all_n + 1))
         / (n + CASE WHEN own_used THEN own_n ELSE 0 END + {c.prior_days}) AS tail
  FROM counts
  WHERE all_n >= {c.min_peer_days}
)
SELECT r.employee_id, r.time, r.first_time,
       {c.points} * least(1.0, ln(r.tail) / {log_full}) * r.share AS points,
       CASE WHEN r.tail <= {c.full_weight_tail} THEN 'medium' ELSE 'low' END AS severity,
       FALSE AS critical, r.event_id AS key,
       format('{{}} {{}} customer record(s) to {{}}, {{}} of them looked up with no case in the '
              '{c.window_days} days before (from {{}}), {{}} of those sent out for the first '
              'time{{}}; the peer group''s other staff did so on {{}} of {{}} earlier days{{}}, '
              'the company''s on {{}} of {{}}',
              r.action, r.size, coalesce(r.destination, 'an unknown destination'), r.covered,
              strftime(r.first_time, '%Y-%m-%d %H:%M'), r.fresh,
              CASE WHEN len(r.copy_events) > 0
                   THEN format(' (the rest sent before, in {{}} earlier action(s))',
                               len(r.copy_events)) ELSE '' END,
              r.k, r.n,
              CASE WHEN r.own_used THEN format(', the employee on {{}} of {{}} of theirs',
                                               r.own_k, r.own_n) ELSE '' END,
              r.all_k, r.all_n) AS reason,
       list_distinct(list_concat([r.event_id], r.looked_events, r.copy_events)) AS event_ids,
       r.customers[1:{c.max_evidence}] AS customer_ids
FROM rare r
WHERE r.tail <= {c.max_tail}
"""
