"""Learned look-up allowance: the few case-less look-ups a peer group's staff all make.

Engineers debug one customer's account without a ticket, managers answer a colleague's
question, analysts check a record behind a report. Nothing in the case system explains
those look-ups, and a look-up of a particular customer is never routine
(:mod:`~insiderwatch.detect.routine`): only its *amount* can be usual. So each day
learns (once, :mod:`~insiderwatch.detect.daily`), per peer group, how many such look-ups its staff make over the baseline window,
and explains an employee's look-ups only while their own total over that window stays
within it (``allowance``).

A *look-up* here is a targeted access (a view, search or update showing at most
``targeted_max_customers`` customers) that no business reason or routine explained,
counted in customers shown: a case-less update opens the record as a view does (an
account manager changing a client's details with no ticket), and as work it paid for
look-ups while nothing explained it. Never part of it: look-ups of public figures (customers
flagged VIP or learned famous, :mod:`~insiderwatch.detect.public`), of customers who
live in the employee's home postcode or share a surname rare among the customers with
them (:mod:`~insiderwatch.detect.kin`: what the VIP and relationship detectors are for) and of canaries. The group's allowance is the ``quantile`` (the 90th percentile by
default) of its active staff's totals over the window, none counting as zero, and never
more than ``min_employees`` of them reached; the group has one when at least
``min_employees`` made such look-ups on ``min_days`` days and its history goes back
``learning_days`` (the routine's thresholds). So one insider, or a pair, can never make
their own allowance, and a group where few look anything up without a case has none.

In a small group what ``min_employees`` reached is near the median, which half the group
passes by chance when look-ups are rare (six engineers, a debugging session every few
days). So each member of a group (or role) with an allowance may also spend the *chance
line* of their colleagues: the lower median total of the colleagues who made look-ups
(on ``min_days``) plus ``chance_z`` dispersion-scaled (quasi-Poisson) standard
deviations, the dispersion from their lower median squared Pearson residual.
Colleagues who never look anyone up say nothing about how many a doer makes; their zeros
would make the usual nought. It is
learned leave-one-out: an employee's own history never sets their line, and neither lower
median moves for one odd colleague, so in a group of three an insider's line is what his
two colleagues' usual makes it, however much he looked up. It is not capped at what the
colleagues reached: among a few alike members one is always the highest, by chance alone,
and a cap there left the busiest engineer of a small team past every line. It stops one
deviation past the busiest of them instead (from two or three doers the spread is a rough
guess), and is nought where no colleague looks anyone up. Someone not
among the window's staff takes the line of all of them. Only groups the cap can bind (fewer than ``min_employees / (1 - quantile)`` staff) learn one.
Staff whose peer group is too small to learn from (fewer than ``min_employees`` active,
or fewer than ``min_employees`` making look-ups while at least the routine's ``min_share``
of its staff do: three managers, two of whom answered a question in the window, are too
few doers to learn an amount from, not a group whose usual is none)
fall back to their role's, learned the same way across teams (``allowance:role``); when
that is too small as well (or has as few doers), staff of a group with fewer than
``min_employees`` active to the allowance of the peer group whose work theirs
resembles (:mod:`~insiderwatch.detect.similar`, ``allowance:similar``): the only manager
of a team who looks customers up the way support agents do gets the agents' usual,
spent the same way. A group with staff enough but too few doers resembles nobody (the
similar groups are for groups too small): its staff go on to the kind, below, or get
none. A group with doers enough whose history is shorter than ``learning_days`` has no
allowance yet and borrows none. Staff of such a group with no work in the window yet (a newcomer,
the head of service whose look-ups now and then are all they ever do with customer data)
have no behaviour to resemble anyone by: a look-up or two is too thin a mix to compare,
and it is the very thing being judged. Their look-up takes the allowance of the peer group
whose staff make its kind (app, action, field set) most, the smaller one on a tie
(``allowance:kind``): the one-off question a manager answers in the agents' tool is the
agents' usual, spent against every look-up they made in the window. From their first
access of work on, their own accesses decide: anyone with work on an earlier day of the
window, a day with a critical finding included, never falls back to the kind.

An allowance covers only the kinds of look-up its level's staff make: an (app, action,
field set) at least ``kind_min_staff`` (2) of the group's (or role's, or the similar
group's) staff used for targeted look-ups over the window, with a case or without (a kind rare
without a case, an engineer's console search, is still theirs when they make it under
tickets). Tellers who look walk-in customers up in the branch tool do not thereby have
an allowance for contact details pulled through the CRM, or for a field set none of
them opens; such a look-up still counts against the employee's total.

Staff who look more up because they do more work (a walk-in counter, a teller, a front
desk: the busier the counter, the more customers looked up) would spend a fixed amount
early, so the allowance also grows with the employee's own *work*: every access to data
that is not itself a case-less look-up (case work, updates under a case, a search
returning more customers than a look-up shows). Per group, each active member with work has a *pace*,
their look-ups per access of work over the window (none counting as zero); the group's
pace is the ``quantile`` of those, and never more than ``min_employees`` of them
reached, so one insider, or a pair, cannot raise it: the same rule as for the amount,
applied per unit of work. A group has a pace only where its look-ups grow with its work:
where the typical (median) pace times each member's work predicts their totals more
closely (in absolute deviation) than the typical total does. A counter's look-ups follow
the walk-ins it serves; an investigator's few case-less look-ups do not follow the cases
they work, and a pace there would only give the busiest room to spare. An employee may
then look up, over the window, the larger of the amount and the group's pace times their
own work in the window up to that moment and one access more (a counter looks the
customer up before posting their transaction) (``per_work``). The busiest agent gets the
group's pace for their amount of work. The line is the group's high pace, not its
median: spent in time order over the window, an allowance explains nothing once
someone's own pace is past it, so a median would leave half of the busy staff
unexplained. A look-up never pays for another, so a harvester adding look-ups to a normal
day's work, or looking customers up without the work, spends the allowance as before.

The allowance is spent in time order and over the whole window, not per day, and every
look-up the employee made in the window counts against it, explained or not: someone
already past the group's usual gets nothing, a harvester working a few customers a day
for weeks has it spent within days, and everything after that stays unexplained,
feeding the volume and sustained detectors as before. A *reopening* spends nothing more:
a view or search showing only customers the employee opened alone earlier the same day,
in a look-up that spent the allowance, with at least the fields it shows now (an
engineer's debugging session opens one account three or four times). It still counts among the look-ups the group learns from
(``lookups``), as every opening does, so the allowance is learned as before; only what
the employee spends (``spent``) counts the customer once. A reopening is explained while
the employee is within the allowance at its moment, as any look-up; every look-up the old
count explained is still explained, since nothing spends more than it did. Distinct
customers spend as before, so a harvest spends as much. A look-up the relationship book
explained (:mod:`~insiderwatch.detect.groupbook`) counts and spends like any other, and is
no work: the book says whom, not how many. Days with a critical finding
never teach the allowance. Each step records every employee's look-ups, how many were
allowed, how many spent it and their work to ``allowance_days``, and the look-ups' kinds to
``allowance_kinds``, the history of later steps.
"""

from __future__ import annotations

from insiderwatch.detect.base import (
    OPENING_ACTIONS,
    execute,
    opening_action_sql,
    sql_list,
    sql_str,
    teaching_day_sql,
)
from insiderwatch.detect.config import DetectionConfig
from insiderwatch.detect.groupbook import EXPLANATIONS as RELATIONSHIP_BOOKS
from insiderwatch.detect.kin import known_person_sql
from insiderwatch.detect.public import FIGURE_JOIN
from insiderwatch.detect.reasons import ALLOWANCE as ALLOWANCE_REASON
from insiderwatch.detect.reasons import ALLOWANCE_KIND, ALLOWANCE_ROLE, ALLOWANCE_SIMILAR
from insiderwatch.detect.revisits import PORTFOLIO, caseless_lookup_sql
from insiderwatch.detect.similar import SIMILAR

# The tables a step reads, learned once a day (:mod:`~insiderwatch.detect.daily`).
ALLOWANCE = "daily_allowance"
ALLOWANCE_KINDS = "daily_allowance_kinds"

# Explained by who the customer is, not by an amount: a relationship book's look-up still
# spends the allowance (and is no work), so explaining one's own clients never frees room
# for strangers.
SPENDS_ALLOWANCE = RELATIONSHIP_BOOKS

# What looks a customer up for the allowance: opening a record, or changing it.
LOOKUP_ACTIONS = (*OPENING_ACTIONS, "update")

# A look-up's kind: the app, the action and the (sorted) field set it showed.
KIND = "coalesce(app, '') || ' ' || action || ' ' || coalesce(array_to_string(list_sort(fields), ','), '')"

# A step_events row that spends the allowance: a case-less targeted look-up. An earlier
# step of the day allowed it: it spends the allowance again, in its place; a relationship
# book's look-up spends it too (the book says whom, never how many); so does one an
# earlier step explained as a follow-up, which the allowance saw unexplained there (the
# follow-up comes after it) and must count the same in every later step of the day.
# Unlike revisits' CASELESS_LOOKUP (over step_touch), a team portfolio's look-up does
# not: the portfolio explained it before the allowance is reached, as the team's work.
# A case-less update of a few customers spends it too: it opens the record as a view does
# (an account manager changing a client's details with no ticket), and as work it would
# pay for look-ups while nothing explained it. Not one of customers the employee opened
# earlier that day (``step_transactions``): the teller's transaction after looking the
# walk-in up is the work that look-up was for.
SPENDING_LOOKUP = (
    "policy IS NULL AND "
    + caseless_lookup_sql(
        "action", "len(customer_ids)", "explanation", excluding=(PORTFOLIO,),
        actions=LOOKUP_ACTIONS,
    )
    + " AND event_id NOT IN (SELECT event_id FROM step_transactions)"
)  # fmt: skip

# This step's updates of customers all of whom the employee opened (a view or search)
# earlier the same day: work, not look-ups. The same day only, as followup's: the rows
# before the day are kept for some employees alone.
_TRANSACTIONS_SQL = f"""
CREATE OR REPLACE TEMP TABLE step_transactions AS
WITH updates AS (
  SELECT event_id, employee_id, time, unnest(customer_ids) AS customer_id
  FROM step_events
  WHERE in_step AND action = 'update' AND len(customer_ids) BETWEEN 1 AND $targeted
),
opened AS (  -- when the employee first opened each customer today, in a targeted view or
            -- search (one customer in a broad list is not a customer served)
  SELECT employee_id, customer_id, min(time) AS first FROM step_touch
  WHERE in_step AND {opening_action_sql()} AND breadth BETWEEN 1 AND $targeted
  GROUP BY ALL
)
SELECT u.event_id FROM updates u LEFT JOIN opened o USING (employee_id, customer_id)
GROUP BY u.event_id HAVING bool_and(coalesce(o.first < u.time, FALSE))
"""

# This step's case-less targeted look-ups that could be allowed, in spending order. A
# *reopening* (``reopens``) is a view or search showing only customers the employee
# opened alone earlier the same day, with at least the fields it shows now (what a
# follow-up is, detect/followup.py): it counts among the look-ups the group learns from,
# as every opening does, but spends nothing more. It is explained like any look-up while
# the employee is within the allowance at its moment. The earlier opening must be one that
# spent (a candidate itself): after an opening a case or the routine explained, the
# reopening spends as any look-up, so it never rides on an allowance nobody has (a group
# with none, a running count of nothing spent) and stays a follow-up where it was one.
_CANDIDATES_SQL = f"""
CREATE OR REPLACE TEMP TABLE step_lookups AS
WITH candidates AS (
  SELECT event_id, employee_id, role, peer_group, time, action, fields, customer_ids, surname,
         home_postcode, {KIND} AS kind
  FROM step_events
  WHERE in_step AND {SPENDING_LOOKUP}
),
reopened AS (  -- per customer of an opening: did the employee open them alone earlier today?
  SELECT c.event_id, c.customer_id, bool_or(s.event_id IS NOT NULL) AS seen
  FROM (SELECT event_id, employee_id, time, fields, unnest(customer_ids) AS customer_id
        FROM candidates WHERE {opening_action_sql()}) c
  LEFT JOIN (
    SELECT event_id, employee_id, time, fields, customer_ids[1] AS customer_id
    FROM candidates WHERE {opening_action_sql()} AND len(customer_ids) = 1
  ) s ON s.employee_id = c.employee_id AND s.customer_id = c.customer_id
     AND (s.time < c.time OR (s.time = c.time AND s.event_id < c.event_id))
     AND list_has_all(coalesce(s.fields, []), coalesce(c.fields, []))
  GROUP BY ALL
),
reopens AS (SELECT event_id FROM reopened GROUP BY event_id HAVING bool_and(seen)),
singled_out AS (  -- a public figure, a namesake or neighbour, a canary: never usual
  SELECT DISTINCT c.event_id
  FROM (SELECT event_id, surname, home_postcode, unnest(customer_ids) AS customer_id
        FROM candidates) c
  JOIN customers cu USING (customer_id)
  LEFT JOIN canaries k USING (customer_id)
  {FIGURE_JOIN.format("c.customer_id")}
  WHERE pf.customer_id IS NOT NULL OR k.customer_id IS NOT NULL
     OR {known_person_sql("cu", "c")}
)
SELECT event_id, employee_id, role, peer_group, time, len(customer_ids) AS looks, kind,
       event_id IN (SELECT event_id FROM reopens) AS reopens
FROM candidates ANTI JOIN singled_out USING (event_id)
"""

# This step's work: every access to data that is not a case-less targeted look-up (those
# of VIPs, relatives and canaries included, and the relationship book's), so a look-up
# never pays for another.
_WORK_SQL = f"""
CREATE OR REPLACE TEMP TABLE step_work AS
SELECT event_id, employee_id, peer_group, time
FROM step_events
WHERE in_step AND action <> 'login' AND NOT ({SPENDING_LOOKUP})
"""

# Every peer group's and role's allowance over the baseline window, learned from earlier
# days: NULL for a group with too few doers or too short a history (its usual is none).
_LEARN_SQL = f"""
CREATE OR REPLACE TEMP TABLE {{into}} AS
WITH hist AS (  -- a day with a critical finding teaches nothing about the usual
  SELECT a.* FROM allowance_days a
  WHERE a.day >= $b0 AND a.day < $day
    AND {teaching_day_sql("a")}
),
staff AS (  -- the staff active in the window, and when each was first seen
  SELECT peer_group, employee_id, any_value(role) AS role, min(day) AS first_day
  FROM employee_days WHERE day >= $b0 AND day < $day GROUP BY ALL
),
totals AS (  -- each one's look-ups and work in the window: no look-ups at all for many
  SELECT s.peer_group, s.role, s.employee_id, s.first_day, coalesce(h.total, 0) AS total,
         coalesce(h.days, 0) >= $min_days AS doer,
         coalesce(h.work, 0) AS work,
         coalesce(h.total, 0) / nullif(h.work, 0) AS pace  -- NULL: no work to scale by
  FROM staff s LEFT JOIN (
    SELECT peer_group, employee_id, sum(lookups) AS total, sum(work) AS work,
           count(*) FILTER (WHERE lookups > 0) AS days
    FROM hist GROUP BY ALL
  ) h USING (peer_group, employee_id)
),
levels AS (
  SELECT 'peer' AS level, peer_group AS grp, employee_id, first_day, total, doer, work, pace
  FROM totals
  UNION ALL
  SELECT 'role', role, employee_id, first_day, total, doer, work, pace FROM totals
),
fit AS (  -- do the group's look-ups grow with its work? (its typical pace, its usual amount)
  SELECT level, grp, median(pace) AS typical_pace, median(total) AS typical_total
  FROM levels WHERE grp IS NOT NULL AND pace IS NOT NULL GROUP BY ALL
)
SELECT level, grp, doers, staff,
       CASE WHEN learned THEN allowance END AS allowance,
       CASE WHEN learned AND workers >= $min_employees AND by_work < by_amount THEN pace END
         AS pace
FROM (
  SELECT level, grp, count(*) FILTER (WHERE doer) AS doers, count(*) AS staff,
         $day - min(first_day) >= $learn AND count(*) FILTER (WHERE doer) >= $min_employees
           AS learned,
         count(pace) AS workers,
         -- how far the staff's totals stray from the typical pace for their work, and from
         -- the usual amount: the pace only where it predicts them better
         sum(abs(total - typical_pace * work)) FILTER (WHERE pace IS NOT NULL) AS by_work,
         sum(abs(total - typical_total)) FILTER (WHERE pace IS NOT NULL) AS by_amount,
         -- never more than min_employees of them reached: one or two can't raise it
         least(quantile_disc(total, $quantile),
               list_sort(list(total), 'DESC')[$min_employees])::BIGINT AS allowance,
         least(quantile_disc(pace, $quantile),
               list_sort(list(pace) FILTER (WHERE pace IS NOT NULL), 'DESC')[$min_employees])
           AS pace
  FROM levels LEFT JOIN fit USING (level, grp) WHERE grp IS NOT NULL GROUP BY level, grp
)
"""

# Per learned group (or role) and member, the chance line around the usual total of the
# *other* staff (``who`` '' for someone not among them: all of them): the lower median
# total of those who made look-ups plus chance_z dispersion-scaled standard deviations,
# the dispersion from their lower median squared Pearson residual over the chi-square
# median. An employee's own history never sets their line, and one odd colleague moves
# neither lower median: in a group of three, an insider's line is what the two others'
# usual makes it, whatever he looked up. Not capped at what the others reached: in a
# small group of alike members one of them is always the highest, and by chance alone;
# one deviation past the busiest of them instead.
# Only groups whose allowance the min_employees cap can bind (fewer than
# min_employees / (1 - quantile) staff): in a larger one the quantile
# is no near-median and no line is needed, and every member's colleagues would cost the
# square of its size every day.
_LEARN_LINE_SQL = f"""
CREATE OR REPLACE TEMP TABLE {{into}}_line AS
WITH hist AS (  -- per group as the allowance's totals: a mover's old team stays there
  SELECT a.peer_group, a.employee_id, sum(a.lookups) AS total,
         count(*) FILTER (WHERE a.lookups > 0) AS days FROM allowance_days a
  WHERE a.day >= $b0 AND a.day < $day
    AND {teaching_day_sql("a")}
  GROUP BY ALL
),
members AS (  -- the staff active in the window of each small learned group and role
  SELECT DISTINCT l.level, l.grp, s.peer_group, s.employee_id, coalesce(h.total, 0) AS total,
         coalesce(h.days, 0) >= $min_days AS doer
  FROM (SELECT DISTINCT peer_group, role, employee_id FROM employee_days
        WHERE day >= $b0 AND day < $day) s
  JOIN {{into}} l ON l.allowance IS NOT NULL AND l.staff * (1 - $quantile) < $min_employees
   AND ((l.level = 'peer' AND l.grp = s.peer_group) OR (l.level = 'role' AND l.grp = s.role))
  LEFT JOIN hist h USING (peer_group, employee_id)
),
others AS (  -- each member's colleagues, and everyone for someone not among them
  SELECT a.level, a.grp, a.employee_id AS who, b.total, b.doer
  FROM members a JOIN members b
    ON a.level = b.level AND a.grp = b.grp AND a.employee_id <> b.employee_id
  UNION ALL
  SELECT level, grp, '', total, doer FROM members
),
usual AS (  -- the usual of the colleagues who look customers up, and the busiest of them
  SELECT level, grp, who, quantile_disc(total, 0.5) FILTER (WHERE doer) AS usual,
         max(total) FILTER (WHERE doer) AS top
  FROM others GROUP BY ALL
),
spread AS (
  SELECT level, grp, who, any_value(u.usual) AS usual, any_value(u.top) AS top, sqrt(
           greatest(1.0, quantile_disc(power(o.total - u.usual, 2) / greatest(u.usual, 1.0),
                                       0.5) FILTER (WHERE o.doer)
                         / {{chi2}})
           * greatest(any_value(u.usual), 1.0)) AS sd
  FROM others o JOIN usual u USING (level, grp, who) GROUP BY level, grp, who
)
-- Never more than one deviation past the busiest colleague: from two or three doers the
-- spread is a rough guess, and an insider's line must not grow with it unbounded. Where no
-- colleague looks anyone up the line is nought, not NULL: a NULL would fall through to the
-- line of all staff, which holds the employee's own totals.
SELECT level, grp, who,
       coalesce(floor(least(usual + $chance_z * sd, top + sd)), 0)::BIGINT AS line
FROM spread
"""

# The median of a chi-square variable with one degree of freedom: a count's squared
# Pearson residual's median over it estimates the count's dispersion.
_CHI2_MEDIAN = 0.455

# The kinds of look-up (app, action, field set) at least kind_min_staff of each peer
# group's and role's staff made over the baseline window: all an allowance covers (with
# how many staff made each, what calibrate shows).
_LEARN_KINDS_SQL = f"""
CREATE OR REPLACE TEMP TABLE {{into}} AS
WITH hist AS (
  SELECT a.* FROM allowance_kinds a
  WHERE a.day >= $b0 AND a.day < $day
    AND {teaching_day_sql("a")}
),
levels AS (
  SELECT 'peer' AS level, peer_group AS grp, employee_id, kind FROM hist
  UNION ALL
  SELECT 'role', role, employee_id, kind FROM hist
)
SELECT level, grp, kind, count(DISTINCT employee_id) AS staff FROM levels
WHERE grp IS NOT NULL
GROUP BY level, grp, kind HAVING count(DISTINCT employee_id) >= $kind_min_staff
"""


def _line(level: str, grp: str) -> str:
    """The employee's chance line at ``level`` (their colleagues', or all staff's for
    someone not among them), NULL where the level has no allowance."""
    line = f"{ALLOWANCE}_line"
    return f"""coalesce(
        (SELECT y.line FROM {line} y
         WHERE y.level = '{level}' AND y.grp = {grp} AND y.who = l.employee_id),
        (SELECT y.line FROM {line} y WHERE y.level = '{level}' AND y.grp = {grp} AND y.who = ''))"""


def decides(level: str) -> str:
    """SQL: whether the allowance level ``level`` (a row of :data:`ALLOWANCE`, or of a
    table :func:`learn_allowances` wrote) decides, with the parameters ``$min_employees``
    and ``$min_share`` (the routine's). It does when large enough to learn from, unless
    most of its staff look customers up but fewer than ``min_employees`` of them yet (three
    managers, two of whom answered a question in the window): that learned nothing either
    way, and the next level decides, as for a group too small. A group where few look
    anyone up (fewer than ``min_share`` of its staff) decides: its usual is none; so does
    one with enough doers whose history is still shorter than ``learning_days``: it has no
    allowance yet, and borrows none meanwhile. Calibrate lists borrowed allowances by the
    same test."""
    return (
        f"({level}.staff >= $min_employees AND ({level}.allowance IS NOT NULL"
        f" OR {level}.doers < $min_share * {level}.staff"
        f" OR {level}.doers >= $min_employees))"
    )


# Spend the allowance in time order: every look-up the employee made in the window
# counts (explained or not), then this day's one event at a time, against the larger of
# the fixed amount and the pace times the work done in the window up to that event and
# one access more (the look-up comes before the work it is for). The most particular
# level large enough to learn from decides: the peer group, the role, a similar group;
# for staff with no work in the window yet, the group that makes the look-up's kind (a
# newcomer alone in a role, or one who only ever looks a customer up now and then, has no
# behaviour to resemble anyone by).
_EXPLAIN_SQL = f"""
UPDATE step_events e SET explanation = x.explanation, explained = TRUE
FROM (
  SELECT l.event_id, l.explanation FROM (
    SELECT l.*,
           -- a group's own staff: no less than the chance line of their colleagues
           CASE WHEN {decides("p")} THEN greatest(p.allowance, {_line("peer", "l.peer_group")})
                WHEN {decides("r")} THEN greatest(r.allowance, {_line("role", "l.role")})
                WHEN s.grp IS NOT NULL THEN s.allowance
                ELSE f.allowance END AS allowance,
           CASE WHEN NOT $per_work THEN NULL
                WHEN {decides("p")} THEN p.pace
                WHEN {decides("r")} THEN r.pace
                ELSE s.pace END AS pace,  -- no pace by kind: the newcomer's work is unknown
           CASE WHEN {decides("p")} THEN {sql_str(ALLOWANCE_REASON)}
                WHEN {decides("r")} THEN {sql_str(ALLOWANCE_ROLE)}
                WHEN s.grp IS NOT NULL THEN {sql_str(ALLOWANCE_SIMILAR)}
                ELSE {sql_str(ALLOWANCE_KIND)} END AS explanation,
           -- whose kinds of look-up the allowance covers: the level that gave it
           -- (a group with no row of its own, p NULL, takes its role's kinds too)
           CASE WHEN {decides("r")} AND NOT coalesce({decides("p")}, FALSE)
                THEN 'role' ELSE 'peer' END AS kind_level,
           CASE WHEN {decides("p")} THEN l.peer_group
                WHEN {decides("r")} THEN l.role
                WHEN s.grp IS NOT NULL THEN s.grp
                ELSE f.grp END AS kind_grp
    FROM (  -- today's look-ups, each with the look-ups and work up to it
      SELECT * FROM (
        SELECT *, sum(spends) OVER w AS running, sum(work) OVER w AS worked
        FROM (SELECT event_id, employee_id, role, peer_group, time, looks, kind, 0 AS work,
                     CASE WHEN reopens THEN 0 ELSE looks END AS spends
              FROM step_lookups
              UNION ALL
              SELECT event_id, employee_id, NULL, peer_group, time, 0, NULL, 1, 0
              FROM step_work
              SEMI JOIN step_lookups USING (employee_id))  -- only lookers' work matters
        WINDOW w AS (PARTITION BY employee_id ORDER BY time, event_id)
      ) WHERE work = 0
    ) l
    LEFT JOIN {ALLOWANCE} p ON p.level = 'peer' AND p.grp = l.peer_group
    LEFT JOIN {ALLOWANCE} r ON r.level = 'role' AND r.grp = l.role
    LEFT JOIN (  -- the most similar group with one (detect/similar.py)
      SELECT employee_id, peer_group, best.allowance, best.pace, best.grp FROM (
        SELECT m.employee_id, m.peer_group,
               arg_max({{'allowance': a.allowance, 'pace': a.pace, 'grp': m.grp}},
                       (m.cosine, m.grp)) AS best
        FROM {SIMILAR} m JOIN {ALLOWANCE} a ON a.level = 'peer' AND a.grp = m.grp
        WHERE a.allowance IS NOT NULL GROUP BY ALL
      )
    ) s ON s.employee_id = l.employee_id AND s.peer_group = l.peer_group
    LEFT JOIN (  -- no work yet to resemble anyone by: the look-up's own kind decides
      SELECT kind, best.allowance, best.grp FROM (
        SELECT k.kind,
               -- the group whose staff make this kind most; a tie, the smaller allowance
               arg_max({{'allowance': a.allowance, 'grp': k.grp}},
                       (k.staff, -a.allowance, k.grp)) AS best
        FROM {ALLOWANCE_KINDS} k JOIN {ALLOWANCE} a ON a.level = 'peer' AND a.grp = k.grp
        WHERE k.level = 'peer' AND a.allowance IS NOT NULL GROUP BY k.kind
      )
    ) f ON f.kind = l.kind AND s.grp IS NULL AND NOT EXISTS (
      -- work on any earlier day in the window, a critical one included, is behaviour to
      -- compare; earlier look-ups alone are not (they are what is judged, and they spend
      -- the borrowed allowance below like any other)
      SELECT 1 FROM allowance_days h
      WHERE h.employee_id = l.employee_id AND h.day >= $b0 AND h.day < $day AND h.work > 0)
  ) l
  LEFT JOIN (
    SELECT employee_id, sum(spent) AS used, sum(work) AS work FROM allowance_days
    WHERE day >= $b0 AND day < $day GROUP BY ALL
  ) u USING (employee_id)
  WHERE coalesce(u.used, 0) + l.running
          <= greatest(l.allowance,
                      floor(coalesce(l.pace, 0) * (coalesce(u.work, 0) + l.worked + 1)))
    AND (NOT $by_kind OR EXISTS (SELECT 1 FROM {ALLOWANCE_KINDS} k
                                 WHERE k.level = l.kind_level AND k.grp = l.kind_grp
                                   AND k.kind = l.kind))
) x
WHERE e.event_id = x.event_id AND e.fresh
  AND (e.explanation IS NULL OR NOT list_contains({sql_list(SPENDS_ALLOWANCE)}, e.explanation))
"""

# Per look-up of this step (``step_lookups``): the customers it opened that no search of
# the employee's had returned earlier that day, in the ``{hours}`` hours before. A caller gives a name and is
# searched for; a record opened with no search for it came from an id found elsewhere (a
# list, a link, another tool). How common that is differs by peer group (a desk working
# from its own client list does it all day), so only the group's learned pace of it says
# anything (``lookup_pace``). A search looked nobody up without a reason it saw.
UNSOUGHT_SQL = """
SELECT l.event_id, count(DISTINCT t.customer_id) AS unsought
FROM step_lookups l JOIN step_touch t USING (event_id)
WHERE t.action = 'view' AND NOT EXISTS (
  SELECT 1 FROM step_touch s
  WHERE s.employee_id = t.employee_id AND s.customer_id = t.customer_id
    AND s.action = 'search' AND s.time <= t.time AND s.time >= t.time - to_hours({hours})
    -- the same day only: the lookback before $s is kept for some employees alone
    -- (build_step), and whether it is kept depends on what they do later that day
    AND s.time >= $s)
GROUP BY l.event_id
"""

# Every employee with look-ups or work today: look-ups (customers shown), how many the
# allowance explained, how many were unsought (above), and accesses of work.
_RECORD_SQL = f"""
INSERT INTO allowance_days (employee_id, day, peer_group, lookups, allowed, work, unsought,
                            spent)
SELECT employee_id, $day, any_value(peer_group), sum(looks), sum(allowed), sum(work),
       sum(unsought), sum(spent)
FROM (
  SELECT l.employee_id, l.peer_group, l.looks,
         CASE WHEN starts_with(e.explanation, {sql_str(ALLOWANCE_REASON)}) THEN l.looks ELSE 0 END AS allowed,
         0 AS work, coalesce(u.unsought, 0) AS unsought,
         CASE WHEN l.reopens THEN 0 ELSE l.looks END AS spent
  FROM step_lookups l JOIN step_events e USING (event_id)
  LEFT JOIN ({{unsought}}) u USING (event_id)
  UNION ALL
  SELECT employee_id, peer_group, 0, 0, 1, 0, 0 FROM step_work
)
GROUP BY employee_id
"""

# Every targeted look-up's kind, with a case or without: a kind the group uses in its case
# work is one it also looks up now and then without a case (an engineer's search in the
# console, under a bug ticket or not); one it never uses at all is not.
_RECORD_KINDS_SQL = f"""
INSERT INTO allowance_kinds
SELECT employee_id, $day,
       {KIND} AS kind,
       any_value(peer_group), any_value(role), sum(len(customer_ids))
FROM step_events
WHERE in_step AND policy IS NULL AND list_contains({sql_list(LOOKUP_ACTIONS)}, action)
  AND len(customer_ids) BETWEEN 1 AND $targeted
GROUP BY employee_id, kind
"""


def learn_allowances(con, cfg: DetectionConfig, params: dict, into: str = "step_allowance") -> None:
    """Write the allowances in force on ``$day`` per peer group and role to the temp table
    ``into`` (the engine's is :data:`ALLOWANCE`, learned once a day; a similar group's are
    read through the similar staff)."""
    a, r = cfg.allowance, cfg.routine
    execute(
        con,
        _LEARN_SQL.format(into=into),
        {**params, "quantile": a.quantile, "min_days": r.min_days, "learn": r.learning_days,
         "min_employees": r.min_employees},
    )  # fmt: skip
    execute(
        con,
        _LEARN_LINE_SQL.format(into=into, chi2=_CHI2_MEDIAN),
        {**params, "quantile": a.quantile, "chance_z": a.chance_z,
         "min_employees": r.min_employees, "min_days": r.min_days},
    )  # fmt: skip


def learn_allowance_kinds(
    con, cfg: DetectionConfig, params: dict, into: str = "step_allowance_kinds"
) -> None:
    """Write the kinds of look-up each peer group's and role's allowance covers on
    ``$day`` to the temp table ``into`` (level, grp, kind, staff; the engine's is
    :data:`ALLOWANCE_KINDS`)."""
    execute(
        con,
        _LEARN_KINDS_SQL.format(into=into),
        {**params, "kind_min_staff": cfg.allowance.kind_min_staff},
    )


def explain_by_allowance(con, cfg: DetectionConfig, params: dict) -> None:
    """Explain this step's case-less look-ups that stay within the group's allowance (learned
    for the day: :func:`learn_allowances`, :func:`learn_allowance_kinds`)."""
    execute(con, _TRANSACTIONS_SQL, params)
    execute(con, _CANDIDATES_SQL, params)
    execute(con, _WORK_SQL, params)
    if not cfg.allowance.enabled:
        return
    execute(
        con,
        _EXPLAIN_SQL,
        {**params, "min_employees": cfg.routine.min_employees, "by_kind": cfg.allowance.by_kind,
         "min_share": cfg.routine.min_share,
         "per_work": cfg.allowance.per_work},
    )  # fmt: skip


def unsought_sql(cfg: DetectionConfig) -> str:
    """:data:`UNSOUGHT_SQL` with the configured ``drilldown_hours``: how long ago a search
    may have found the customer."""
    return UNSOUGHT_SQL.format(hours=int(cfg.explanation.drilldown_hours))


def record_lookups(con, cfg: DetectionConfig, params: dict) -> None:
    """Add this step's look-ups (how many were allowed, how many unsought, of which kinds)
    and work to the history."""
    execute(con, _RECORD_SQL.format(unsought=unsought_sql(cfg)), params)
    execute(con, _RECORD_KINDS_SQL, params)
