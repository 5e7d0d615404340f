"""Learned routine: what most of a peer group does regularly explains itself.

A company's analysts query the warehouse and export to its cloud bucket, its service
accounts sync and extract all night; none of that has a case, and no default can know
the names of those apps and destinations. So each step learns them from history: a
*flow* is (app, action, destination), and it is routine for a peer group (role and team
family, see :mod:`~insiderwatch.detect.explain`) when, in the baseline window before the
step's day,

* at least ``min_employees`` distinct staff and ``min_share`` of the group's active staff
  did it (each on ``min_days`` days at least): one insider can never make his own
  harvesting routine;
* it happened on ``regular_share`` of the days the group worked;
* the group's history goes back ``learning_days`` days.

Identities active in most hours of the day, or on nearly every calendar day for weeks
(weekends and holidays included: nightly jobs) without ever logging in, are machines
(service accounts): each is a group of one, whose own regular flows are its routine.
Someone who signs in is a person at a keyboard: staff on a seven-day rota work every
calendar day too, and their look-ups of particular customers must stay theirs to explain
(only a source that records no logins at all leaves the calendar alone to tell). The
busy-hours rule asks nothing of sign-ins, so a service account whose source logs them stays
a machine (its routine, and containment's protection of an integration); but a machine that
signed in during the window never has a targeted look-up explained as its routine: a person
who signs in and scripts a search into every hour is busy enough to be one, and their
look-ups of particular customers stay theirs to explain. An identity that never logs in,
in a company where most of those that access data do, is a machine once it has been active
on nearly every calendar day of ``learning_days``: no login is a trait of the identity, not of what it does, so an
insider's scripted nightly export under their own (interactive) account never becomes
routine by repeating, and a nightly job is known after a week instead of two. An event of a routine flow is
explained (``routine``) when its breadth (records) stays within ``breadth_factor`` times
the doers' usual widest access, within the span of hours the group works and with fields
the doers show together: the set of fields the access shows must be one the doers show
in one access (on ``min_hour_days`` employee-days), or part of one. The union of their
fields is not enough: a group whose name searches show contact details and whose link
analysis shows payment details does not make a search showing both usual. A look-up of a
few particular customers by a person is never routine: only a business reason explains
it, and its usual amount is what the volume baselines already learn.

Staff of a peer group too small to learn a routine (:mod:`~insiderwatch.detect.similar`)
follow the routine of the groups whose work theirs resembles (``routine:similar``), for
everything but sending data out: a flow out of the company stays their own.

Each step writes the routine in force (with its evidence and field sets) to
``routine_flows`` and its own flows to ``routine_days`` (each with the distinct field sets
its accesses showed, as canonical texts), the history of later steps. Days on which the employee had
a critical finding never enter the history. With a reviewed policy file configured, its
flows are the routine instead, and nothing is learned.
"""

from __future__ import annotations

import pyarrow as pa

from insiderwatch.detect.base import execute, field_set, sql_str, teaching_day_sql
from insiderwatch.detect.config import DetectionConfig
from insiderwatch.detect.reasons import ROUTINE, ROUTINE_SIMILAR
from insiderwatch.detect.similar import SIMILAR

OUTBOUND = "('export', 'download', 'print', 'copy', 'message')"

# The service accounts the day's routine knows (employee_id): each is a group of one,
# 'self:<employee_id>'. No person's curiosity, nor a member of anyone's peer group.
KNOWN_MACHINES = """SELECT DISTINCT substr(grp, 6) AS employee_id FROM routine_flows
  WHERE day = $day AND machine AND starts_with(grp, 'self:')"""


def same_flow_sql(r: str, e: str) -> str:
    """SQL true where the routine flow ``r`` (a ``routine_flows`` row) is the flow of the
    access ``e``: the same app, action and destination, an access's missing app or
    destination standing as '' as flows store them."""
    return (
        f"{r}.app = coalesce({e}.app, '') AND {r}.action = {e}.action"
        f" AND {r}.destination = coalesce({e}.destination, '')"
    )


def own_flow_sql(r: str, peer_group: str, employee_id: str) -> str:
    """SQL true where the routine flow ``r`` is the peer group's or the employee's own (a
    service account is a group of one, ``'self:'`` and its id)."""
    return f"({r}.grp = {peer_group} OR {r}.grp = 'self:' || {employee_id})"


# Each peer group's role, as the baseline window's days knew it: a group is one role within
# a team family, so the groups of a role are where that role's routine can be borrowed from
# (a leaver's handover place, a case's send to the role's routine flow).
GROUP_ROLES_SQL = """
SELECT peer_group, any_value(role) AS role FROM employee_days
WHERE day >= $b0 AND day < $day GROUP BY peer_group"""

# This step's flows, the history routine is learned from: the union of the fields they
# showed (what the reviewed policy lists) and each distinct set shown in one access.
_RECORD_SQL = f"""
INSERT INTO routine_days
SELECT employee_id, $day, any_value(peer_group), coalesce(app, '') AS app, action,
       coalesce(destination, '') AS destination, count(*) AS events,
       max(record_count) AS max_breadth, median(record_count) AS median_breadth,
       list_sort(list_distinct(flatten(list(fields)))) AS fields,
       list_sort(list_distinct(list(hour(time)))) AS hours,
       -- each distinct list of fields made canonical once, not each row's: a DISTINCT
       -- aggregate (a hash table per group) cost as much as the rest of the statement
       list_sort(list_distinct(list_transform(list_distinct(list(coalesce(fields, []))),
                                              lambda f: {field_set("f")}))) AS field_sets
FROM step_events WHERE in_step AND action <> 'login'
GROUP BY employee_id, coalesce(app, ''), action, coalesce(destination, '')
"""

_LEARN_SQL = f"""
INSERT INTO routine_flows
WITH hist AS (  -- a day with a critical finding teaches nothing about routine
  SELECT r.* FROM routine_days r
  WHERE r.day >= $b0 AND r.day < $day
    AND {teaching_day_sql("r")}
),
sessions AS (  -- who logged in (a login is the only event that is no data access), of the
               -- identities that access data: a colleague who only signs in is no evidence
               -- that the identities touching data are people
  SELECT employee_id, bool_or(events > data_events) AS logs_in FROM employee_days
  WHERE day >= $b0 AND day < $day GROUP BY ALL HAVING sum(data_events) > 0
),
headless AS (  -- never logged in, where most identities with data do: no person at a keyboard
  SELECT employee_id FROM sessions
  WHERE $headless AND NOT logs_in AND (SELECT avg(logs_in::INTEGER) FROM sessions) >= 0.5
),
machines AS (  -- a service account: active in most hours of a typical day, or on
                -- (nearly) every calendar day for weeks, weekends and holidays included,
                -- with no login (someone who signs in is a person, whatever their rota);
                -- one that never logs in where others do, every day since the learning window
  SELECT employee_id FROM (
    SELECT employee_id, day, len(list_distinct(flatten(list(hours)))) AS hours
    FROM hist GROUP BY ALL
  ) GROUP BY ALL HAVING $day - min(day) >= $learn AND (
    median(hours) >= $machine_hours
    OR (($day - min(day) >= $machine_span OR employee_id IN (SELECT employee_id FROM headless))
        AND employee_id NOT IN (SELECT employee_id FROM sessions WHERE logs_in)
        AND count(*) >= $machine_days * ($day - min(day))))
),
grouped AS (
  SELECT h.*, CASE WHEN m.employee_id IS NULL THEN h.peer_group
                   ELSE 'self:' || h.employee_id END AS grp
  FROM hist h LEFT JOIN machines m USING (employee_id)
),
groups AS (
  SELECT grp, count(DISTINCT employee_id) AS staff, count(DISTINCT day) AS days,
         $day - min(day) AS span
  FROM grouped GROUP BY ALL
),
flows AS (
  SELECT grp, app, action, destination, count(DISTINCT day) AS days
  FROM grouped GROUP BY ALL
),
regular AS (  -- who does each flow
  SELECT grp, app, action, destination, employee_id
  FROM grouped GROUP BY ALL HAVING count(*) >= $min_days
),
routine AS (  -- done by enough of the group, on enough of the group's days
  SELECT r.grp, r.app, r.action, r.destination, count(*) AS doers,
         any_value(g.staff) AS staff
  FROM regular r JOIN groups g USING (grp) JOIN flows f USING (grp, app, action, destination)
  WHERE g.span >= $learn AND f.days >= $regular * g.days
  GROUP BY ALL
  HAVING count(*) >= CASE WHEN starts_with(r.grp, 'self:') THEN 1 ELSE $min_employees END
     AND count(*) >= $min_share * any_value(g.staff)
),
doer_days AS (  -- the routine doers' employee-days of each routine flow
  SELECT g.* FROM grouped g
  JOIN regular r USING (grp, app, action, destination, employee_id)
  SEMI JOIN routine USING (grp, app, action, destination)
),
usual AS (
  SELECT grp, app, action, destination, count(*) AS employee_days, sum(events) AS events,
         median(median_breadth) AS median_breadth,
         quantile_cont(max_breadth, $breadth_q) AS breadth_q
  FROM doer_days GROUP BY ALL
),
usual_hours AS (  -- the span of hours the group works (any flow, on enough employee-days):
                  -- a report run at two instead of ten is still the working day
  SELECT grp, range(min(hour), max(hour) + 1)::INTEGER[] AS hours FROM (
    SELECT grp, hour FROM (
      SELECT grp, employee_id, day, unnest(hours) AS hour FROM grouped
    ) GROUP BY grp, hour HAVING count(DISTINCT (employee_id, day)) >= $hour_days
  ) GROUP BY grp
),
usual_fields AS (
  SELECT grp, app, action, destination, list_sort(list(field)) AS fields FROM (
    SELECT grp, app, action, destination, field FROM (
      SELECT grp, app, action, destination, unnest(fields) AS field FROM doer_days
    ) GROUP BY ALL HAVING count(*) >= $hour_days
  ) GROUP BY grp, app, action, destination
),
usual_field_sets AS (  -- the sets of fields the doers show together in one access, each
                       -- on enough employee-days: a name search showing contact details
                       -- and a link analysis showing payment details do not make a search
                       -- showing contact and payment details together usual
  SELECT grp, app, action, destination,
         -- (an access showing no field is the empty set, not [''])
         list(CASE WHEN field_set = '' THEN []::VARCHAR[] ELSE string_split(field_set, ',') END
              ORDER BY field_set) AS field_sets FROM (
    SELECT grp, app, action, destination, field_set FROM (
      SELECT grp, app, action, destination, unnest(field_sets) AS field_set FROM doer_days
    ) GROUP BY ALL HAVING count(*) >= $hour_days
  ) GROUP BY grp, app, action, destination
)
SELECT $day, r.grp, starts_with(r.grp, 'self:'), r.app, r.action, r.destination,
       r.doers, r.staff, u.employee_days, u.events, u.median_breadth,
       ceil(greatest(u.breadth_q, 1) * $breadth_factor)::BIGINT AS max_records,
       coalesce(h.hours, []), coalesce(f.fields, []), coalesce(fs.field_sets, []),
       format('routine for {{}}: {{}} of {{}} {{}} {{}}{{}} regularly ({{}} employee-days in {{}} days), '
              || 'median {{}} records', r.grp, r.doers, r.staff, r.action,
              CASE WHEN r.app = '' THEN 'in an unnamed app' ELSE 'in ' || r.app END,
              CASE WHEN r.destination = '' THEN '' ELSE ' to ' || r.destination END,
              u.employee_days, $window, round(u.median_breadth)::BIGINT) AS evidence
FROM routine r JOIN usual u USING (grp, app, action, destination)
LEFT JOIN usual_hours h USING (grp)
LEFT JOIN usual_fields f USING (grp, app, action, destination)
LEFT JOIN usual_field_sets fs USING (grp, app, action, destination)
"""

_REVIEWED_SQL = """
INSERT INTO routine_flows
SELECT $day, "group", starts_with("group", 'self:'), app, action, destination,
       NULL, NULL, NULL, NULL, NULL, max_records, hours, fields, field_sets,
       CASE WHEN evidence = '' THEN 'reviewed routine for ' || "group" ELSE evidence END
FROM reviewed_flows
"""

_OWN_FLOW = own_flow_sql("r", "e.peer_group", "e.employee_id")

# Events of a routine flow within its breadth, hours and fields; a person's look-up of a
# few particular customers is left to business reasons. So is a machine's, when it signed
# in during the window: a service account whose source logs sign-ins stays a machine (its
# routine, the containment protection), but someone who signs in and scripts a search into
# every hour is busy enough to be one, and their look-ups must stay theirs to explain.
# A reviewed policy file's machine flows were vouched for by a reviewer and explain as listed.
_EXPLAIN_SQL = f"""
UPDATE step_events e SET explanation = x.explanation, explained = TRUE
FROM (
  WITH signs_in AS (  -- identities that logged in during the window, as the learning saw it
    SELECT DISTINCT employee_id FROM employee_days
    WHERE day >= $b0 AND day < $day AND events > data_events
  )
  SELECT e.event_id,
         CASE WHEN bool_or({_OWN_FLOW})
              THEN {sql_str(ROUTINE)} ELSE {sql_str(ROUTINE_SIMILAR)} END AS explanation
  FROM step_events e
  LEFT JOIN {SIMILAR} s USING (employee_id, peer_group)
  JOIN routine_flows r
    ON r.day = $day AND {same_flow_sql("r", "e")}
   AND ({_OWN_FLOW}
        -- staff of a group too small to learn from: a similar group's, sending nothing out
        OR (r.grp = s.grp AND e.action NOT IN {OUTBOUND}))
  WHERE e.fresh AND NOT e.explained AND e.policy IS NULL AND e.action <> 'login'
    AND e.record_count <= r.max_records
    AND list_contains(r.hours, hour(e.time))
    AND list_has_all(r.fields, e.fields)
    -- the access's fields together are a set the doers show (or part of one); a reviewed
    -- flow listing no sets (written before field sets existed: no employee-days) checks
    -- the fields alone, a learned flow none of whose sets is usual explains nothing
    AND ((len(r.field_sets) = 0 AND r.employee_days IS NULL)
         OR list_bool_or(list_transform(r.field_sets, lambda s: list_has_all(s, e.fields))))
    AND ((r.machine AND ($reviewed OR e.employee_id NOT IN (SELECT employee_id FROM signs_in)))
         OR e.action IN {OUTBOUND} OR NOT len(e.customer_ids) BETWEEN 1 AND $targeted)
  GROUP BY e.event_id
) x
WHERE e.event_id = x.event_id
"""


def learn_routine(con, cfg: DetectionConfig, params: dict) -> None:
    """Write the routine in force on ``$day`` to ``routine_flows``: learned from the
    history before the day, or the reviewed policy file's flows."""
    r = cfg.routine
    if r.policy_file is not None:
        rows = [
            {"group": f.group, "app": f.app, "action": f.action, "destination": f.destination,
             "max_records": f.max_records, "hours": f.hours, "fields": f.fields,
             "field_sets": f.field_sets, "evidence": f.evidence}
            for f in r.reviewed
        ]  # fmt: skip
        con.register("reviewed_flows", _reviewed_table(rows))
        try:
            execute(con, _REVIEWED_SQL, params)
        finally:
            con.unregister("reviewed_flows")
        return
    window = (params["day"] - params["b0"]).days
    execute(
        con,
        _LEARN_SQL,
        {**params, "learn": r.learning_days, "machine_hours": r.machine_min_hours,
         "machine_span": r.machine_min_span_days, "machine_days": r.machine_min_day_share,
         "headless": r.machine_without_login,
         "min_days": r.min_days, "regular": r.regular_share, "min_employees": r.min_employees,
         "min_share": r.min_share, "breadth_q": r.breadth_quantile,
         "breadth_factor": r.breadth_factor, "hour_days": r.min_hour_days,
         "window": window},
    )  # fmt: skip


def _reviewed_table(rows: list[dict]) -> pa.Table:
    schema = pa.schema(
        [("group", pa.string()), ("app", pa.string()), ("action", pa.string()),
         ("destination", pa.string()), ("max_records", pa.int64()),
         ("hours", pa.list_(pa.int32())), ("fields", pa.list_(pa.string())),
         ("field_sets", pa.list_(pa.list_(pa.string()))), ("evidence", pa.string())]
    )  # fmt: skip
    return pa.Table.from_pylist(rows, schema=schema)


def explain_by_routine(con, cfg: DetectionConfig, params: dict) -> None:
    """Explain this step's events that follow the routine in force for their group
    (``routine_flows`` of ``$day``, :func:`learn_routine`)."""
    if cfg.routine.enabled:
        execute(con, _EXPLAIN_SQL, {**params, "reviewed": cfg.routine.policy_file is not None})


def record_flows(con, params: dict) -> None:
    """Add this step's flows to the history later steps learn from."""
    execute(con, _RECORD_SQL, params)
