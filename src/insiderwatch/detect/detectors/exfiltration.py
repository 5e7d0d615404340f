from __future__ import annotations

import msgspec

from insiderwatch.detect.base import (
    DayWindow,
    Detector,
    StepContext,
    capped_list,
    destination_class_sql,
    matches_any,
    sql_str,
    teaching_day_sql,
)
from insiderwatch.detect.ranges import AtLeastOne, NonNegative, Positive, Share, Tail
from insiderwatch.detect.reasons import HANDOVER, ROUTINE
from insiderwatch.detect.revisits import (
    ALLOWANCE,
    PORTFOLIO,
    RELATIONSHIP_BOOKS,
    caseless_lookup_sql,
)
from insiderwatch.detect.routine import (
    GROUP_ROLES_SQL,
    KNOWN_MACHINES,
    OUTBOUND,
    own_flow_sql,
    same_flow_sql,
)

# Per employee and peer group, the earlier days and those with a bulk send no case, no
# routine flow and nothing else explained to an internal destination (learned once a day).
BULK_DAYS = "daily_exfiltration_bulk_days"
# Their employee-days over the baseline window, each with whether it had such a send
# (a DayWindow: carried from day to day).
BULK_EMPLOYEE_DAYS = "daily_exfiltration_bulk_employee_days"

# A look-up an export carries: a view or search of the customer nothing explained, of
# any breadth (a broad search harvests every customer it shows), in the hours before.
# Not the rest of revisits' CASELESS_LOOKUP: what the allowance, the team portfolio or
# the relationship book explained is not the harvest the detector describes ("unexplained
# look-ups"); a follow-up is, being an opening again that nothing explained before
# detect/followup.py named it.
_CARRIED = caseless_lookup_sql(breadth=None, excluding=(ALLOWANCE, PORTFOLIO, *RELATIONSHIP_BOOKS))


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    external_points: NonNegative = 30.0
    # A cloud or external destination that is not the peer group's routine (new to the
    # group, or used by a few of them), with no harvest before it: a data flow to review,
    # not exfiltration.
    new_flow_points: NonNegative = 5.0
    internal_points: NonNegative = 10.0
    internal_min_records: AtLeastOne = 20  # a bulk print or local export without a reason
    lookback_hours: AtLeastOne = 24  # harvesting that an export may be carrying out
    sequence_min_customers: AtLeastOne = 20  # of the exported customers, looked up before
    # A bulk print or local export that no routine flow covers weighs by how rare such
    # sends are among the peer group's earlier days, the employee's own left out: t is
    # the share of the peers' earlier employee-days with an unexplained send (no case,
    # no routine flow, nothing else explaining it) of internal_min_records or more records
    # to an internal destination, and the send weighs log(t) / log(full_weight_tail) of
    # its points (full at that share and below). Other outbound data does not count:
    # a group that sends its reports to a routine flow or messages case customers every
    # day has not made a bulk print without a reason routine. Analysts who print reports
    # without a reason on half their days in ways too varied to make one routine flow are
    # not a bulk export each time; a clerk's first print of fifty customers is. A group
    # with few days is pulled towards the company's share as if prior_days more
    # employee-days of it were seen.
    full_weight_tail: Tail = 0.01
    prior_days: Positive = 20.0
    # The least weight of such a send, however common among the peers: it is customer
    # data leaving the system with nothing explaining it, and that a group does so often
    # makes each less telling (a practice to review once) but never legitimate, so it
    # keeps a quarter of its points: below a rare one's, never a zero-point finding.
    min_weight: Share = 0.25  # above 1: common over rare
    # A case's customer sent to a cloud or external destination that is no routine flow of
    # the sender's group but one of other groups of the same role (people, not machines),
    # within the widest breadth those groups allow, is the case's work when the share of
    # the group's staff doing that flow, the sender left out, pulled towards the role's
    # other groups' share as if role_prior_staff more of their staff were seen (that share
    # pulled the same way towards every other group's), reaches the routine's min_share:
    # a desk of three borrows the flow its role's larger groups send their work to, a large
    # group whose own staff do not use it does not. 0 switches the borrowing off.
    role_prior_staff: NonNegative = 10.0
    max_evidence: AtLeastOne = 500


def _bulk_days_sql(ctx: StepContext, c: Config) -> str:
    """Each employee-day from ``$since`` up to the step's day, its peer group, and whether
    it had a bulk send the detector would weigh by rarity."""
    dest_class = destination_class_sql(ctx.config, "a.destination")
    return f"""
WITH bulk AS (
  SELECT DISTINCT x.employee_id, x.day
  FROM access a JOIN access_explained x USING (event_id)
  JOIN employee_days d ON d.employee_id = x.employee_id AND d.day = x.day
  WHERE x.day >= $since AND x.day < $day AND a.time >= $since - INTERVAL 1 DAY AND a.time < $s
    AND x.explanation IS NULL
    AND a.action IN {OUTBOUND}
    AND a.record_count >= {c.internal_min_records}
    AND coalesce({dest_class}, 'internal') = 'internal'
    AND NOT EXISTS (
      SELECT 1 FROM routine_flows r
      WHERE r.day = x.day AND {same_flow_sql("r", "a")}
        AND {own_flow_sql("r", "d.peer_group", "x.employee_id")})
)
SELECT d.employee_id, d.day, d.peer_group, b.day IS NOT NULL AS bulk
FROM employee_days d LEFT JOIN bulk b USING (employee_id, day)
WHERE d.day >= $since AND d.day < $day"""


class Exfiltration(Detector):
    id = "exfiltration"
    version = "6"
    # USB and personal email need no learned routine to judge: watched from the first day.
    during_learning = True
    needs_outbound = True  # every finding is a send of the step (outbound, below)
    title = "Data leaving without a reason"
    description = (
        "Exports, downloads, prints, copies and messages of customer data. Anything on "
        "USB or to a personal mailbox is high, whatever case explains looking at the "
        "customers; a cloud service or domain that is neither allowed nor the peer group's "
        "learned routine is a low 'data flow' to review (new to the group, or used by few "
        "of them; a case's customer sent within its breadth to a flow other groups of the "
        "sender's role have as routine is the case's work where the share of the group doing "
        "it, pulled towards the role's and the company's by role_prior_staff, reaches "
        "routine.min_share); a bulk print or local export that nothing explains is medium (weighed by how far it "
        "goes beyond the group's routine for that flow, if it has one, as is a routine flow "
        "to a cloud service gone beyond its usual breadth, hours or fields, once per flow and "
        "day: a finding at the first send beyond it, and one more only where a later send "
        "goes further, bringing the difference; without one, by "
        "how rare days with such a send are among the peers' earlier days, never below "
        "min_weight). When the "
        "data follows unexplained look-ups of many customers in the hours before (harvest "
        "then export), the finding is critical (high when it stays inside)."
    )
    why = (
        "Selling data means getting it out. Insiders use the export button, a download, "
        "the printer or their personal mailbox; the sequence 'collect, then export' is the "
        "classic pattern of data theft."
    )
    false_positives = (
        "Partner or cloud destinations the company uses that are not yet routine for the "
        "peer group (list them in destinations.allowed, or review the calibrated policy); "
        "legitimate reports exported broader than the group's usual."
    )
    investigate = (
        "Check the destination (is it a company service?), the record count, and which "
        "customers were in it; contain first (suspend the account, block the destination) "
        "when the sequence is present, then scope the breach from the export's customers."
    )
    Config = Config

    def daily(self, ctx: StepContext, config: Config) -> dict[str, str | DayWindow]:
        # Per employee and peer group: earlier active days, and those with a bulk send
        # this detector would weigh by rarity (unexplained, internal, no routine flow of
        # that day covering it); learned once a day from the stored explanations. A day's
        # verdict reads that day's sends, explanations and routine flows alone, final once
        # the day is over: carried from day to day, only the day that joined the baseline
        # is read, not all of it again.
        return {
            BULK_EMPLOYEE_DAYS: DayWindow(
                days=ctx.config.baseline_days, sql=_bulk_days_sql(ctx, config), placed="day"
            ),
            BULK_DAYS: f"""
SELECT employee_id, peer_group, count(*) AS n, count_if(bulk) AS k
FROM {BULK_EMPLOYEE_DAYS} GROUP BY ALL""",
        }

    def sql(self, ctx: StepContext, config: Config) -> str:
        c = config
        dest_class = destination_class_sql(ctx.config, "o.destination")
        outside = matches_any(ctx.config.destinations.outside, "o.destination")
        k = c.role_prior_staff
        # learned routine only: a reviewed policy file's flows are the routine as listed
        r = ctx.config.routine
        lending = "TRUE" if k > 0 and r.enabled and r.policy_file is None else "FALSE"
        return f"""
WITH outbound AS (
  SELECT o.*, {dest_class} AS dest_class, {outside} AS outside
  FROM step_events o
  WHERE o.in_step AND o.action IN {OUTBOUND}
    AND o.record_count > 0
),
group_roles AS ({GROUP_ROLES_SQL}
),
known AS (  -- destinations the peer group sent data to in the baseline window
  SELECT DISTINCT peer_group, destination FROM routine_days
  WHERE day >= $b0 AND day < $day AND destination <> ''
),
routine AS (  -- the group's routine flows today, with their breadth
  SELECT grp, app, action, destination, max(max_records) AS max_records
  FROM routine_flows WHERE day = $day GROUP BY ALL
),
matched AS (  -- the routine flow a send belongs to: an account's own ('self:') when
              -- both it and its group's have the flow, so a send is one row
  SELECT o.*, r.max_records AS routine_max
  FROM outbound o
  LEFT JOIN routine r
    ON {own_flow_sql("r", "o.peer_group", "o.employee_id")} AND {same_flow_sql("r", "o")}
  QUALIFY row_number() OVER (
    PARTITION BY o.event_id ORDER BY (r.grp = 'self:' || o.employee_id) DESC NULLS LAST) = 1
),
lend AS (  -- a case's send to a cloud or external destination no routine flow of its
           -- group covers, that other groups of the sender's role (people's, not
           -- machines') have as routine: the widest breadth they allow
  SELECT o.event_id, any_value(o.employee_id) AS employee_id,
         any_value(o.peer_group) AS peer_group, any_value(o.role) AS role,
         coalesce(any_value(o.app), '') AS app, any_value(o.action) AS action,
         coalesce(any_value(o.destination), '') AS destination, max(r.max_records) AS lent_max
  FROM matched o
  JOIN routine_flows r
    ON r.day = $day AND NOT r.machine AND r.grp <> o.peer_group AND r.doers IS NOT NULL
   AND {same_flow_sql("r", "o")}
  JOIN group_roles g ON g.peer_group = r.grp AND g.role = o.role
  WHERE {lending} AND o.routine_max IS NULL AND o.explained AND o.dest_class = 'external'
    AND NOT o.outside
  GROUP BY o.event_id
),
people_days AS (  -- the window's days as the routine learns from them: no day with a
                 -- critical finding (a harvest never makes a flow common), no machine (a
                 -- service account is its own 'self:' group, never a member of a desk)
  SELECT h.* FROM routine_days h
  WHERE h.day >= $b0 AND h.day < $day
    AND {teaching_day_sql("h")}
    AND h.employee_id NOT IN ({KNOWN_MACHINES})
),
staff AS (  -- the window's staff of each group, with its role
  SELECT h.peer_group, h.employee_id, any_value(g.role) AS role FROM people_days h
  LEFT JOIN group_roles g USING (peer_group)
  GROUP BY h.peer_group, h.employee_id
),
flow_doers AS (  -- who of them did a lent flow (on the routine's min_days)
  SELECT h.peer_group, h.employee_id, h.app, h.action, h.destination FROM people_days h
  SEMI JOIN lend l USING (app, action, destination)
  GROUP BY ALL HAVING count(DISTINCT day) >= {ctx.config.routine.min_days}
),
lent AS (  -- the share of the group doing the flow, the sender left out, pulled towards
           -- the role's other groups' share and that towards every other group's
  SELECT event_id, lent_max,
         (g_k + {k} * (r_k + {k} * coalesce(c_k / nullif(c_n, 0), 0)) / (r_n + {k}))
           / (g_n + {k}) AS pooled_share
  FROM (
    SELECT l.event_id, l.lent_max,
           count(*) FILTER (WHERE s.peer_group = l.peer_group) AS g_n,
           count(d.employee_id) FILTER (WHERE s.peer_group = l.peer_group) AS g_k,
           count(*) FILTER (WHERE s.peer_group <> l.peer_group AND s.role = l.role) AS r_n,
           count(d.employee_id) FILTER (WHERE s.peer_group <> l.peer_group AND s.role = l.role)
             AS r_k,
           count(*) FILTER (WHERE s.peer_group <> l.peer_group) AS c_n,
           count(d.employee_id) FILTER (WHERE s.peer_group <> l.peer_group) AS c_k
    FROM lend l JOIN staff s ON s.employee_id <> l.employee_id
    LEFT JOIN flow_doers d
      ON d.peer_group = s.peer_group AND d.employee_id = s.employee_id AND d.app = l.app
     AND d.action = l.action AND d.destination = l.destination
    GROUP BY l.event_id, l.lent_max
  )
),
flagged AS (  -- a case explains looking at a customer, never sending them outside;
              -- the group's routine explains sending them where it always does, and so
              -- does a leaver's handover of their own book (detect/handover.py)
  SELECT o.*, o.dest_class = 'external' AND NOT o.outside AS unvetted,
         k.destination IS NULL AS new_flow
  FROM matched o
  LEFT JOIN known k ON k.peer_group = o.peer_group AND k.destination = o.destination
  LEFT JOIN lent l USING (event_id)
  WHERE ((o.dest_class = 'external'
          AND (o.outside
               OR (coalesce(o.explanation, '') NOT IN ({sql_str(ROUTINE)}, {sql_str(HANDOVER)})
                   -- a case's customer sent where the group routinely sends its work,
                   -- within that flow's breadth, is the case's work
                   AND NOT (o.explained AND coalesce(o.record_count <= o.routine_max, FALSE))
                   -- or where the role's other groups do, the group pooled with them
                   AND NOT coalesce(o.record_count <= l.lent_max
                                    AND l.pooled_share >= {ctx.config.routine.min_share},
                                    FALSE))))
         OR (NOT o.explained AND coalesce(o.dest_class, 'internal') = 'internal'
             AND o.record_count >= {c.internal_min_records}))
    AND {"o.outside" if ctx.learning else "TRUE"}  -- learning: only what no routine explains
),
sent AS (  -- each customer in it: joined on the customer, not filtered per touch, as
           -- a sender's every touch of the day against each send cost most of the query
  SELECT DISTINCT event_id, employee_id, time, unnest(customer_ids) AS customer_id
  FROM flagged
),
carried AS (  -- customers in it that were looked up with no case in the hours before
  SELECT f.event_id, count(DISTINCT t.customer_id) AS carried, min(t.time) AS first_time,
         {capped_list("t.event_id", c.max_evidence)} AS harvest_events
  FROM sent f
  JOIN step_touch t ON t.employee_id = f.employee_id AND t.customer_id = f.customer_id
   AND {_CARRIED} AND t.time <= f.time
   AND t.time >= f.time - to_hours({c.lookback_hours})
  GROUP BY f.event_id
),
senders AS (SELECT DISTINCT employee_id, peer_group FROM flagged),
bulk_groups AS (SELECT peer_group, sum(n) AS n, sum(k) AS k FROM {BULK_DAYS} GROUP BY ALL),
bulk_all AS (SELECT sum(n) AS n, sum(k) AS k FROM {BULK_DAYS}),
bulk_own AS (SELECT employee_id, sum(n) AS n, sum(k) AS k FROM {BULK_DAYS} GROUP BY ALL),
bulk_tail AS (  -- per sender: the peers' share of earlier days with a bulk send like this
                -- one, the sender's own left out, pulled to the company's
  SELECT s.employee_id, s.peer_group,
         (coalesce(g.k, 0) - coalesce(o.k, 0)
          + {c.prior_days} * coalesce((t.k - coalesce(a.k, 0))
                                      / nullif(t.n - coalesce(a.n, 0), 0), 0))
         / (coalesce(g.n, 0) - coalesce(o.n, 0) + {c.prior_days}) AS tail
  FROM senders s CROSS JOIN bulk_all t
  LEFT JOIN bulk_groups g ON g.peer_group = s.peer_group
  LEFT JOIN {BULK_DAYS} o ON o.employee_id = s.employee_id AND o.peer_group = s.peer_group
  LEFT JOIN bulk_own a ON a.employee_id = s.employee_id
),
judged AS (
  SELECT f.*, coalesce(b.carried, 0) AS carried, b.first_time AS harvest_start,
         b.harvest_events, coalesce(b.carried, 0) >= {c.sequence_min_customers} AS sequence,
         CASE WHEN bt.tail > {c.full_weight_tail}
              THEN greatest(ln(bt.tail) / ln({c.full_weight_tail}), {c.min_weight})
              ELSE 1.0 END AS rarity,
         bt.tail AS bulk_tail,
         coalesce(f.dest_class, 'internal') = 'internal' AND f.routine_max IS NULL
           AND coalesce(b.carried, 0) < {c.sequence_min_customers} AS peer_weighed
  FROM flagged f LEFT JOIN carried b USING (event_id) LEFT JOIN bulk_tail bt
    ON bt.employee_id = f.employee_id AND bt.peer_group IS NOT DISTINCT FROM f.peer_group
),
scored AS (
  SELECT f.*,
         CASE WHEN f.unvetted AND NOT f.sequence THEN {c.new_flow_points}
              WHEN f.dest_class = 'external' THEN {c.external_points}
              ELSE {c.internal_points} END
           * CASE WHEN f.routine_max IS NOT NULL AND NOT f.sequence AND NOT f.outside
                  -- a routine flow gone a little beyond its breadth or hours weighs by how
                  -- far beyond, not by its size: analysts' reports are large, inside the
                  -- company or to its own cloud bucket alike
                  THEN (1 + log10(greatest(f.record_count / f.routine_max, 1))) / 2
                  ELSE 1 + log10(greatest(f.record_count, 1)) / 2 END
           -- a bulk print or local export no routine flow covers, by how rare for the peers
           * CASE WHEN f.peer_weighed THEN f.rarity ELSE 1.0 END AS full_points,
         -- a send of a routine flow gone beyond its breadth, hours or fields
         f.routine_max IS NOT NULL AND NOT f.sequence AND NOT f.outside AS beyond
  FROM judged f
),
flow_day AS (  -- the day's sends beyond each routine flow, in time order: the flow's
               -- largest deviation so far before each, and how many
  SELECT event_id, employee_id, time, customer_ids, full_points,
         coalesce(app, '') AS flow_app, action, coalesce(destination, '') AS flow_dest,
         coalesce(max(full_points) OVER before, 0) AS before_max,
         count(*) OVER upto AS nth
  FROM scored WHERE beyond
  WINDOW flow AS (PARTITION BY employee_id, coalesce(app, ''), action, coalesce(destination, '')
                  ORDER BY time, event_id),
         upto AS (flow ROWS UNBOUNDED PRECEDING),
         before AS (flow ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
),
raised AS (  -- one deviation per flow and day: a finding at the first send beyond the
             -- routine, and one more only where a later send goes further, bringing the
             -- difference (the day's findings of the flow add up to its largest one),
             -- citing the flow's sends beyond it so far
  SELECT r.event_id, r.full_points - r.before_max AS points, r.nth,
         {capped_list("b.event_id", c.max_evidence)} AS flow_events,
         list_sort(list_distinct(flatten(list(b.customer_ids[1:{c.max_evidence}]))))
           [1:{c.max_evidence}] AS flow_customers
  FROM flow_day r
  JOIN flow_day b ON b.employee_id = r.employee_id AND b.flow_app = r.flow_app
   AND b.action = r.action AND b.flow_dest = r.flow_dest
   AND (b.time < r.time OR (b.time = r.time AND b.event_id <= r.event_id))
  WHERE r.full_points > r.before_max
  GROUP BY r.event_id, r.full_points, r.before_max, r.nth
)
SELECT f.employee_id, f.time, coalesce(f.harvest_start, f.time) AS first_time,
       CASE WHEN f.beyond THEN x.points ELSE f.full_points END AS points,
       CASE WHEN f.sequence AND f.dest_class = 'external' THEN 'critical'
            WHEN f.unvetted THEN 'low'
            WHEN f.dest_class = 'external' OR f.sequence THEN 'high'
            ELSE 'medium' END AS severity,
       f.sequence AND f.dest_class = 'external' AS critical,
       f.event_id AS key,
       format('{{}}{{}} {{}} customer record(s) to {{}} ({{}}){{}}{{}}{{}}{{}}{{}}',
              CASE WHEN NOT f.unvetted OR f.sequence THEN ''
                   WHEN f.new_flow THEN 'new data flow for the peer group: '
                   WHEN f.routine_max IS NOT NULL AND NOT f.outside THEN ''  -- said below
                   ELSE 'data flow outside the peer group''s routine: ' END,
              f.action,
              f.record_count, coalesce(f.destination, 'an unknown destination'),
              coalesce(f.dest_class, 'unknown'),
              CASE WHEN f.explained THEN format(' (viewing them is explained: {{}})', f.explanation)
                   ELSE ' with no case' END,
              CASE WHEN f.carried > 0
                   THEN format(', {{:.1f}} h after looking up {{}} of them with no case',
                               epoch(f.time - f.harvest_start) / 3600, f.carried)
                   ELSE '' END,
              CASE WHEN f.routine_max IS NOT NULL AND NOT f.outside
                   THEN format(', beyond the peer group''s routine flow (at most {{}} records, '
                               || 'in its hours and fields)', f.routine_max)
                   ELSE '' END,
              CASE WHEN x.nth > 1
                   THEN format('; send {{}} beyond it today, further than the earlier ones',
                               x.nth)
                   ELSE '' END,
              CASE WHEN f.peer_weighed
                   THEN format('; the peer group makes an unexplained internal send of {{}} '
                               || 'or more records on {{}}% of their days',
                               {c.internal_min_records},
                               round(100 * f.bulk_tail, 1))
                   ELSE '' END) AS reason,
       list_distinct(list_concat(coalesce(x.flow_events, [f.event_id]),
                                 coalesce(f.harvest_events, []))) AS event_ids,
       coalesce(x.flow_customers, f.customer_ids[1:{c.max_evidence}]) AS customer_ids
FROM scored f LEFT JOIN raised x USING (event_id)
WHERE NOT f.beyond OR x.event_id IS NOT NULL
"""
