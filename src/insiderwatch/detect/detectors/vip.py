from __future__ import annotations

import msgspec

from insiderwatch.detect.base import Detector, StepContext
from insiderwatch.detect.explain import team_family_sql
from insiderwatch.detect.public import PUBLIC_FIGURES
from insiderwatch.detect.ranges import NonNegative, Positive, Tail, check_order

# A look-up that opens the record: a view, or a search that found only them.
_OPENED = "(t.action <> 'search' OR t.breadth = 1)"


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    # A finding for the day's n-th VIP weighs by how rare n such look-ups are among the
    # peers' earlier days (the tail share t of days with at least n), on a log scale from
    # nothing at routine_tail to full weight at full_weight_tail: log(t / routine_tail) /
    # log(full_weight_tail / routine_tail). What the peers do on a tenth of their days is
    # their routine (a private-client desk's famous book) and no finding at all: a little
    # weight on each such day would add up, in a decaying risk score, to more than one
    # snoop's week. What they do on one day in a hundred weighs in full, and so does a VIP
    # look-up by someone whose peers never make one.
    points: NonNegative = 15.0
    full_weight_tail: Tail = 0.01
    routine_tail: Tail = 0.1
    # A small group's share is pulled towards its team family's (everyone serving the same
    # book: a VIP desk's supervisor sits with the desk), that towards the role's across
    # teams, and that towards the whole company's, as if that many more employee-days of
    # each wider level were seen.
    prior_days: Positive = 20.0
    # A figure the employee already looked up with no case on an earlier day of the
    # baseline window weighs this many times one looked up for the first time. A famous
    # customer who calls a general queue draws each agent once; coming back to her on
    # another day, with still no case, is the curiosity this detector is for ("repeated
    # look-ups of the same VIP by the same person are rarely work"). The earlier day
    # counts whether or not it had a finding: the first look-ups of a story come before
    # the figure is learned famous.
    return_weight: Positive = 1.5

    def __post_init__(self) -> None:
        check_order(self, "full_weight_tail", "routine_tail",
                    "the weight grows from nothing at routine_tail to full at "
                    "full_weight_tail")  # fmt: skip


class Vip(Detector):
    id = "vip"
    version = "7"
    title = "VIP or public figure looked up without a case"
    description = (
        "Unexplained targeted look-ups (a view or search showing at most "
        "targeted_max_customers customers) of public figures: customers flagged VIP "
        "(celebrities, executives, journalists) and those learned famous from the days "
        "before (staff of several groups, none of whom served them under a case, kept "
        "looking them up with no case, more than the company's busiest callers get): one "
        "finding per figure and day, at the first look-up, "
        "weighted by how rare that many such look-ups in a day are among the peers' earlier "
        "days (the employee's own left out; a small group's pulled towards its team's, "
        "its role's and the company's), as likely r^n times as often for someone whose "
        "usual day holds r times the peers' work (counted no higher than the busiest "
        "peer's), nothing where the peers make as many on a tenth of their days. A "
        "figure only listed among others by a search weighs 1/breadth of one opened; "
        "among the rows of a broad search or export they are not singled out. A figure "
        "served under cases by more staff than the public_figures.contact_quantile of "
        "every customer anyone served weighs bar/served: look-ups of a customer in "
        "frequent contact with the company come from work too. A figure the employee "
        "already looked up with no case on an earlier day of the baseline window weighs "
        "return_weight times as much, and the finding cites each such day's first look-up."
    )
    why = (
        "Curiosity about famous customers is frequent, and their data is what the press "
        "and criminals pay for; VIP care teams have cases for their work."
    )
    false_positives = (
        "VIP care work done without a case id captured; a VIP who called a general queue "
        "and whose case was logged late (weighed down where many staff serve the figure)."
    )
    investigate = (
        "Check whether any case or call explains the look-up; what was viewed; repeated "
        "look-ups of the same VIP by the same person are rarely work."
    )
    Config = Config

    def sql(self, ctx: StepContext, config: Config) -> str:
        # Unexplained targeted touches, not revisits' CASELESS_LOOKUP: the allowance never
        # explains a figure, and a book that does (a desk that keeps VIPs) says who it is.
        k = config.prior_days
        return f"""
WITH looks AS (  -- the first targeted look-up of each public figure today, in time order
  SELECT *, row_number() OVER (PARTITION BY employee_id ORDER BY time, customer_id) AS nth
  FROM (
    SELECT t.employee_id, any_value(t.peer_group) AS peer_group, any_value(t.role) AS role,
           any_value({team_family_sql("t.team")}) AS family,
           -- opened today (a view, a search that found only them) or only listed among
           -- others by small searches: a name search and then the record is snooping, a
           -- famous name among a search's few results alone is less. An opened figure's
           -- finding is at (and cites) the first opening, never an earlier listing: the
           -- weight it carries is known only from then on.
           t.customer_id,
           coalesce(min(t.time) FILTER (WHERE {_OPENED}), min(t.time)) AS time,
           coalesce(arg_min(t.event_id, (t.time, t.event_id)) FILTER (WHERE {_OPENED}),
                    arg_min(t.event_id, (t.time, t.event_id))) AS event_id,
           bool_or({_OPENED}) AS opened, min(t.breadth) AS breadth,
           any_value(pf.flagged) AS flagged, any_value(pf.staff) AS staff,
           any_value(pf.groups) AS groups, any_value(pf.days) AS days,
           any_value(pf.served) AS served, any_value(pf.served_bar) AS served_bar
    FROM step_touch t JOIN {PUBLIC_FIGURES} pf USING (customer_id)
    WHERE t.in_step AND NOT t.explained AND t.breadth <= $targeted
    GROUP BY t.employee_id, t.customer_id
  )
),
back AS (  -- earlier days of the window on which the employee looked the figure up with
           -- no case (finding or not: a story's first look-ups precede its learning), with
           -- each day's first such look-up: the finding cites them
  SELECT r.employee_id, r.customer_id, count(*) AS days, min(r.time) AS since,
         list(r.event_id ORDER BY r.day) AS event_ids
  FROM revisit_days r SEMI JOIN looks l USING (employee_id, customer_id)
  WHERE r.day >= $b0 AND r.day < $day
  GROUP BY ALL
),
days AS (  -- everyone's earlier days, counted by VIP look-ups, with their accesses
  SELECT employee_id, peer_group, role, {team_family_sql("team")} AS family,
         unexplained_vip AS v, count(*) AS n, sum(data_events) AS work
  FROM employee_days WHERE day >= $b0 AND day < $day GROUP BY ALL
),
volume AS (  -- the employee's usual day of work against the peers' (theirs left out),
            -- and the busiest peer's: more work than theirs buys no more cover
  SELECT employee_id, customer_id,
         sum(work) FILTER (WHERE own) / sum(n) FILTER (WHERE own) AS own,
         sum(work) FILTER (WHERE NOT own) / sum(n) FILTER (WHERE NOT own) AS peers,
         max(work / n) FILTER (WHERE NOT own) AS busiest
  FROM (  -- each member of the peer group's days and work, once per look
    SELECT l.employee_id, l.customer_id, d.employee_id = l.employee_id AS own,
           sum(d.work) AS work, sum(d.n) AS n
    FROM looks l JOIN days d ON d.peer_group = l.peer_group
    GROUP BY l.employee_id, l.customer_id, d.employee_id
  ) GROUP BY employee_id, customer_id
),
counts AS (  -- others' days with at least as many: group, team family, role, company
  SELECT l.employee_id, l.customer_id, l.time, l.event_id, l.nth, l.opened, l.breadth,
         l.flagged, l.staff, l.groups, l.days, l.served, l.served_bar,
         coalesce(any_value(b.days), 0) AS back_days, any_value(b.since) AS back_since,
         coalesce(any_value(b.event_ids), []) AS back_events,
         coalesce(sum(d.n) FILTER (WHERE d.peer_group = l.peer_group), 0) AS grp_n,
         coalesce(sum(d.n) FILTER (WHERE d.peer_group = l.peer_group AND d.v >= l.nth), 0) AS grp_k,
         coalesce(sum(d.n) FILTER (WHERE d.family = l.family), 0) AS team_n,
         coalesce(sum(d.n) FILTER (WHERE d.family = l.family AND d.v >= l.nth), 0) AS team_k,
         coalesce(sum(d.n) FILTER (WHERE d.role = l.role), 0) AS role_n,
         coalesce(sum(d.n) FILTER (WHERE d.role = l.role AND d.v >= l.nth), 0) AS role_k,
         coalesce(sum(d.n), 0) AS all_n,
         coalesce(sum(d.n) FILTER (WHERE d.v >= l.nth), 0) AS all_k
  FROM looks l LEFT JOIN days d ON d.employee_id <> l.employee_id
  LEFT JOIN back b ON b.employee_id = l.employee_id AND b.customer_id = l.customer_id
  GROUP BY l.employee_id, l.customer_id, l.time, l.event_id, l.nth, l.opened, l.breadth,
           l.flagged, l.staff, l.groups, l.days, l.served, l.served_bar
),
pooled AS (  -- the tail share, each level's own days weighing against the wider level's
  SELECT *, (grp_k + {k} * team_tail) / (grp_n + {k}) AS peer_tail FROM (
    SELECT *, (team_k + {k} * role_tail) / (team_n + {k}) AS team_tail FROM (
      SELECT *, (role_k + {k} * all_tail) / (role_n + {k}) AS role_tail FROM (
        SELECT *, coalesce(all_k / nullif(all_n, 0), 0.0) AS all_tail FROM counts
      )
    )
  )
),
busy AS (  -- the employee's usual day of work over the peers' (r), at least one, their
           -- work counted no higher than the busiest peer's: padding buys no more cover
  SELECT p.*, greatest(1.0, coalesce(least(v.own, v.busiest) / nullif(v.peers, 0), 1.0)) AS r
  FROM pooled p
  LEFT JOIN volume v ON v.employee_id = p.employee_id AND v.customer_id = p.customer_id
),
scored AS (  -- figures met in the work come with it: a counter member who serves twice
             -- the peers' customers meets about twice the famous ones. While rare, n
             -- such look-ups are r^n times as likely at r times the work (Poisson), so
             -- the peers' tail t becomes 1 - (1 - t)^(r^n): a quiet member is judged as
             -- before, and where the peers never look figures up (t = 0) it stays 0
  SELECT *, 1 - pow(1 - peer_tail, pow(r, nth)) AS tail FROM busy
)
SELECT employee_id, time, coalesce(back_since, time) AS first_time,
       {config.points} * CASE WHEN opened THEN 1.0 ELSE 1.0 / breadth END
         * CASE WHEN tail = 0 THEN 1.0 ELSE least(1.0,
         ln(tail / {config.routine_tail}) / ln({config.full_weight_tail} / {config.routine_tail}))
         END
         -- a figure in frequent contact with the company draws look-ups from work too
         * CASE WHEN served > served_bar THEN served_bar / served ELSE 1.0 END
         -- a return to a figure, on another day and still with no case
         * CASE WHEN back_days > 0 THEN {config.return_weight} ELSE 1.0 END AS points,
       'medium' AS severity, FALSE AS critical,
       strftime($day, '%Y-%m-%d') || ':' || customer_id AS key,
       format('{{}} {{}} with no case ({{}} number {{}} today; more than on '
              || '{{}}% of peers'' days{{}})',
              CASE WHEN opened THEN 'opened' ELSE 'listed' END,
              CASE WHEN flagged THEN 'VIP customer ' || customer_id
                   ELSE format('customer {{}}, a public figure ({{}} staff of {{}} groups looked '
                               || 'them up with no case on {{}} days of the window)',
                               customer_id, staff, groups, days)
                   END,
              CASE WHEN flagged THEN 'VIP' ELSE 'public figure' END,
              nth, round(100 * (1 - tail))::INTEGER,
              CASE WHEN r > 1
                   THEN format(', scaled to their usual day of {{}} times the peers'' work',
                               round(r, 1))
                   ELSE '' END
              || CASE WHEN served > served_bar
                   THEN format('; {{}} staff served them under cases, more than the '
                               || 'company''s {{}}: weighs {{}}', served,
                               round(served_bar, 1), round(served_bar / served, 2))
                   ELSE '' END
              || CASE WHEN back_days > 0
                   THEN format('; back to them after {{}} earlier day{{}} of looking them up '
                               || 'with no case: weighs {config.return_weight:g}', back_days,
                               CASE WHEN back_days = 1 THEN '' ELSE 's' END)
                   ELSE '' END) AS reason,
       list_append(back_events, event_id) AS event_ids, [customer_id] AS customer_ids
FROM scored WHERE tail < {config.routine_tail}
"""
