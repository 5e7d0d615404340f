"""Case-less look-ups piling up over weeks, against the peers' pace per unit of work.

A careful harvester stays under every daily line and spends the peer group's allowance
within days; what gives them away is the total. Over a trailing window (four weeks by
default) this detector counts the employee's case-less look-ups (targeted views,
searches and updates that no case, policy or routine explained, allowed ones included:
the allowance's own measure, so VIPs, relatives and canaries stay with their own detectors)
and their work (every other access to data). The peer group's pace (look-ups per access, from
the other members' earlier days in the window) predicts how many look-ups that much work
brings; the spread of the peers around their own predictions (a quasi-Poisson
dispersion, from the median so one odd colleague does not widen it) says how surprising
the excess is. Staff who work more look more up, so the busiest agent is not flagged
for being busy; a look-up added to a normal day's work is.

A proportional pace is learned from the peers' usual amounts of work and does not hold
far below them: a colleague with a light fortnight (a newcomer ramping up, a part-timer,
an investigator between cases) still has a colleague's question or an account to check
each day, and a week of those over a dozen accesses looked like a harvester. So work is
counted as at least the group's lower quartile of work per day at work (``work_quantile``
of its staff's accesses per day with any) times the employee's days at work: below the
range the pace was learned on, the prediction stays where that range ends. A harvester
whose look-ups replace work is still judged against a normal day's work. The peers'
spread stays the one around the pace on their own work, so the floor only ever raises
the prediction for light workloads and never makes the line stricter for anyone.

The same is done for the *unsought* look-ups among them: records opened with no search of
the employee's finding that customer shortly before, the same day (``drilldown_hours``). A caller gives
a name and is searched for; a record opened straight from an id came from somewhere else
(a list, a link). Some groups do that all day (a desk calling its own client list), others
almost never, so only the group's own pace of it is the line; a drip of a few harvested
records a day within the group's usual number of look-ups still departs from the usual
way of reaching them. The finding takes the larger of the two surprises.

The finding fires at most once a day, at the look-up that takes the window's surprise
(a z-score) past ``min_z``, and weighs more the further past it goes, so weeks of
harvesting add up in the risk score while a colleague at the edge of the peers'
spread fires rarely and weakly. Only the peers' history is the baseline: the
employee's own weeks are not, because a slow harvester who starts early would teach
the detector that harvesting is their usual.
"""

from __future__ import annotations

import msgspec

from insiderwatch.detect.allowance import unsought_sql
from insiderwatch.detect.base import Detector, StepContext, capped_list
from insiderwatch.detect.baseline import fmt_num
from insiderwatch.detect.ranges import AtLeastOne, Count, NonNegative, Positive, Quantile

# The median of a chi-square variable with one degree of freedom: dividing the median
# squared Pearson residual by it estimates the dispersion (1 for a Poisson count).
_CHI2_MEDIAN = 0.455
# The group's pace of unsought look-ups per access, half a look-up added: a group none of
# whose staff ever opens a record unsearched still predicts a little, not nothing.
_UNSOUGHT_RATE = "(g.gu + 0.5) / g.gw"


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    window_days: AtLeastOne = 28
    min_z: NonNegative = 4.0  # surprise (in dispersion-scaled standard deviations) to fire
    min_lookups: Count = 10  # never below this many look-ups in the window
    min_peers: AtLeastOne = 5  # peers with work in the window besides the employee
    # work counts as at least this quantile of the group's staff's work per day at work
    work_quantile: Quantile = 0.25
    points: NonNegative = 6.0  # at min_z; more the further past it, up to max_weight times
    max_weight: Positive = 4.0
    max_evidence: AtLeastOne = 200


# The window's earlier days, learned once a day.
HIST = "daily_lookup_pace_history"
GROUPS = "daily_lookup_pace_groups"
SPREAD = "daily_lookup_pace_spread"


class LookupPace(Detector):
    id = "lookup_pace"
    version = "4"
    title = "Case-less look-ups piling up over weeks"
    description = (
        "Counts the employee's look-ups with no case over the last four weeks (allowed "
        "ones included), and among them the records opened with no search of theirs "
        "finding the customer first, against what the peer group's pace of each per "
        "access predicts for their amount of work (never less than the group's lower "
        "quartile of work per day at work), scaled by how much the peers themselves "
        "spread around that pace; fires once a day while either excess is improbable, "
        "weighing more the further past the line."
    )
    why = (
        "Insiders who know the rules take a few customers a day, under every daily line "
        "and within the group's allowance at first; over weeks the few add up to a list "
        "worth selling, and to a share of look-ups without a case no colleague has for the "
        "same amount of work."
    )
    false_positives = (
        "A task done outside the case system for weeks (a migration, a clean-up campaign); "
        "someone whose work differs from the rest of the peer group (a team's data "
        "protection contact): give them their own team or role, or suppress with a reason."
    )
    investigate = (
        "List the window's look-ups without a case: customers with nothing in common, "
        "spread evenly over the days, contact details opened, are the harvest pattern; "
        "ask whether any task explains them and check for exports or prints that followed."
    )
    Config = Config

    def daily(self, ctx: StepContext, config: Config) -> dict[str, str]:
        # The window's earlier days and the peers' pace: the same for every step of the day.
        c = config
        return {
            # each employee's work and case-less look-ups on earlier days of the window
            # (w: accesses of work, d: days with work, x: look-ups, u: unsought ones)
            HIST: f"""SELECT d.employee_id, d.peer_group, sum(d.data_events) AS w,
         count(*) FILTER (WHERE d.data_events > 0) AS d,
         sum(coalesce(a.lookups, 0)) AS x, sum(coalesce(a.unsought, 0)) AS u
  FROM employee_days d LEFT JOIN allowance_days a USING (employee_id, day)
  WHERE d.day >= $day - INTERVAL {c.window_days - 1} DAY AND d.day < $day
  GROUP BY d.employee_id, d.peer_group""",
            GROUPS: f"""SELECT peer_group, sum(x) AS gx, sum(u) AS gu, sum(w) AS gw,
         quantile_cont(w / d, {c.work_quantile}) AS low_pace_of_work, count(*) AS staff
  FROM {HIST} WHERE w > 0 GROUP BY ALL
  HAVING count(*) > {c.min_peers} AND sum(x) > 0""",
            # how far the peers stray from the group's pace (1: no more than chance), on
            # their own work: the floor is for judging, and a spread it narrowed would make
            # the line stricter for everyone else
            SPREAD: f"""SELECT h.peer_group,
         greatest(1.0, median(power(h.x - g.gx / g.gw * h.w, 2)
                              / greatest(g.gx / g.gw * h.w, 1.0)) / {_CHI2_MEDIAN}) AS phi,
         greatest(1.0, median(power(h.u - {_UNSOUGHT_RATE} * h.w, 2)
                              / greatest({_UNSOUGHT_RATE} * h.w, 1.0)) / {_CHI2_MEDIAN}) AS phi_u
  FROM {HIST} h JOIN {GROUPS} g USING (peer_group) WHERE h.w > 0 GROUP BY ALL""",
        }

    def sql(self, ctx: StepContext, config: Config) -> str:
        c = config
        return f"""
WITH hist AS (SELECT * FROM {HIST}),
grp AS (SELECT * FROM {GROUPS}),
spread AS (SELECT * FROM {SPREAD}),
today AS (  -- today's accesses in event time, each look-up with its customers shown
  SELECT e.employee_id, e.peer_group, e.time, e.event_id, coalesce(l.looks, 0) AS looks,
         coalesce(u.unsought, 0) AS unsought
  FROM step_events e LEFT JOIN step_lookups l USING (event_id)
  LEFT JOIN ({unsought_sql(ctx.config)}) u USING (event_id)
  WHERE e.in_step AND e.action <> 'login'
),
run AS (
  SELECT t.*, count(*) OVER w AS tw, sum(t.looks) OVER w AS tx, sum(t.unsought) OVER w AS tu
  FROM today t
  WINDOW w AS (PARTITION BY t.employee_id ORDER BY t.time, t.event_id ROWS UNBOUNDED PRECEDING)
),
paced AS (  -- the peers' pace excludes the employee's own history; today is a day at work
  SELECT r.*, coalesce(h.x, 0) + r.tx AS x, coalesce(h.w, 0) + r.tw AS w,
         coalesce(h.u, 0) + r.tu AS u, coalesce(h.d, 0) + 1 AS d,
         greatest(coalesce(h.w, 0) + r.tw, g.low_pace_of_work * (coalesce(h.d, 0) + 1)) AS work,
         (g.gx - coalesce(h.x, 0)) / (g.gw - coalesce(h.w, 0)) AS rate,
         (g.gu - coalesce(h.u, 0) + 0.5) / (g.gw - coalesce(h.w, 0)) AS urate, s.phi, s.phi_u
  FROM run r
  JOIN grp g USING (peer_group) JOIN spread s USING (peer_group)
  LEFT JOIN hist h ON h.employee_id = r.employee_id AND h.peer_group = r.peer_group
  WHERE r.looks > 0 AND g.gw > coalesce(h.w, 0)
),
surprise AS (
  SELECT *, rate * work AS expected, urate * work AS u_expected,
         (x - rate * work) / sqrt(phi * greatest(rate * work, 1.0)) AS z_all,
         (u - urate * work) / sqrt(phi_u * greatest(urate * work, 1.0)) AS z_unsought
  FROM paced
),
scored AS (  -- the larger surprise of the two counts that reach min_lookups
  SELECT *, greatest(CASE WHEN x >= {c.min_lookups} THEN z_all END,
                     CASE WHEN u >= {c.min_lookups} THEN z_unsought END) AS z
  FROM surprise
),
first AS (  -- the look-up that crosses the line
  SELECT * FROM (
    SELECT s.*, row_number() OVER (PARTITION BY s.employee_id ORDER BY s.time, s.event_id) AS n
    FROM scored s WHERE s.z >= {c.min_z}
  ) WHERE n = 1
),
evidence AS (  -- today's look-ups up to it
  SELECT f.employee_id, min(s.time) AS first_time,
         {capped_list("s.event_id", c.max_evidence)} AS event_ids,
         {capped_list("t.customer_id", c.max_evidence)} AS customer_ids
  FROM first f
  JOIN scored s ON s.employee_id = f.employee_id
   AND (s.time < f.time OR (s.time = f.time AND s.event_id <= f.event_id))
  JOIN step_touch t ON t.event_id = s.event_id
  GROUP BY f.employee_id
)
SELECT h.employee_id, h.time, v.first_time,
       {c.points} * least(h.z / {c.min_z}, {c.max_weight}) AS points,
       CASE WHEN h.z >= 2 * {c.min_z} THEN 'medium' ELSE 'low' END AS severity,
       FALSE AS critical, strftime($day, '%Y-%m-%d') AS key,
       format('{{}} look-ups with no case in {c.window_days} days over {{}} accesses, {{}} '
              'of them opening a customer no search of theirs had found; the peer group''s '
              'pace predicts {{}} and {{}} for {{}} accesses over {{}} days at work (never '
              'fewer than its lower quartile a day; excess {{}} times its spread)',
              {fmt_num("h.x")}, {fmt_num("h.w")}, {fmt_num("h.u")}, {fmt_num("h.expected")},
              {fmt_num("h.u_expected")}, {fmt_num("round(h.work)")}, {fmt_num("h.d")},
              {fmt_num("round(h.z, 1)")}) AS reason,
       v.event_ids, v.customer_ids
FROM first h JOIN evidence v USING (employee_id)
"""
