"""Breach scope: which customers' data, which fields, viewed or taken out, from the events.

Alerts carry capped evidence, so the scope is read again from the events themselves: one
grouped scan of the ``access`` view for the employees and window, joined to the
explanation detection stored for each event (``access_explained``). An access explained
by a business reason (a case, a policy) is left out unless asked for; an event detection
has not judged yet counts as unexplained, because a breach notice must not miss anyone.

*Taken out* follows the contract, not any tool's names: an action that moves data out of
the tool (export, print, copy, message, download) or any event with a destination. A
leak file attributed to the employee is proof: the leaked categories of the customers
they saw are taken out, even where the access itself was explained.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from insiderwatch.contract.breach import TAKEN_OUT_ACTIONS, LeakProof, Timeline
from insiderwatch.errors import InsiderwatchError
from insiderwatch.store.duckdb_store import Store

SCOPE_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("fields", pa.list_(pa.string())),
        ("fields_taken_out", pa.list_(pa.string())),
        ("exposure", pa.string()),
        ("first_access", pa.timestamp("us", tz="UTC")),
        ("last_access", pa.timestamp("us", tz="UTC")),
        ("event_ids", pa.list_(pa.string())),
        ("channels", pa.list_(pa.string())),
        ("leaked", pa.bool_()),
        ("jurisdiction", pa.string()),
    ]
)


@dataclass(frozen=True)
class ScopeQuery:
    employees: list[str]
    start: datetime | None = None
    end: datetime | None = None  # inclusive
    include_explained: bool = False
    alert_id: str | None = None
    contained_at: datetime | None = None


@dataclass
class Scope:
    query: ScopeQuery
    rows: pa.Table  # SCOPE_SCHEMA, one row per customer
    events: int
    explained_excluded: int
    explained_only_customers: int  # shown only in explained access: what --include-explained adds
    never_explained: int
    timeline: Timeline
    leak: LeakProof | None = None
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def query_for_alert(store: Store, alert_id: str, **overrides) -> ScopeQuery:
    """The alert's employee, from the alert's first evidence on (the insider may have
    gone on after the alert: the window stays open unless ``end`` is given)."""
    if not store.has_table("alerts"):
        raise InsiderwatchError("no alerts in the store: run `insiderwatch detect` first")
    row = store.con.execute(
        "SELECT employee_id, first_seen FROM alerts WHERE alert_id = ?", [alert_id]
    ).fetchone()
    if row is None:
        raise InsiderwatchError(f"no alert {alert_id!r} in the store (see `insiderwatch alerts`)")
    employee, first_seen = row
    start = overrides.pop("start", None) or first_seen
    return ScopeQuery(employees=[employee], start=start, alert_id=alert_id, **overrides)


def compute_scope(
    store: Store,
    query: ScopeQuery,
    leaked: pa.Table | None = None,
    leak_file: str = "",
) -> Scope:
    """``leaked``: customer_id, categories (a matched leak)."""
    if not query.employees:
        raise InsiderwatchError("name at least one employee (--employee) or an alert (--alert)")
    _check_employees(store, query.employees)
    con = store.con
    con.register("_leaked", leaked if leaked is not None else _empty_leak())
    try:
        _events_in_scope(store, query)
        rows = con.sql(_PER_CUSTOMER).to_arrow_table().cast(SCOPE_SCHEMA)
        counts = con.execute(
            """SELECT count(*) FILTER (WHERE kept), count(*) FILTER (WHERE explained),
                      count(*) FILTER (WHERE NOT judged) FROM _scope_events"""
        ).fetchone()
        explained_only = con.execute(_EXPLAINED_ONLY).fetchone()[0]
        proof = _leak_proof(store, leak_file) if leaked is not None else None
    finally:
        con.execute("DROP TABLE IF EXISTS _scope_events")
        con.unregister("_leaked")
    events, explained, never = (int(n) for n in counts)
    return Scope(
        query=query,
        rows=rows,
        events=events,
        explained_excluded=0 if query.include_explained else explained,
        explained_only_customers=int(explained_only),
        never_explained=never,
        timeline=_timeline(store, query, rows),
        leak=proof,
    )


def _check_employees(store: Store, employees: list[str]) -> None:
    known = {
        e
        for (e,) in store.con.execute(
            "SELECT employee_id FROM employees WHERE list_contains(?, employee_id)", [employees]
        ).fetchall()
    }
    missing = [e for e in employees if e not in known]
    if missing:
        raise InsiderwatchError(f"not on the roster: {', '.join(missing)}")


def employee_params(employees: list[str]) -> tuple[str, dict[str, str]]:
    """``($emp0, $emp1, ...)`` and its parameters: a plain IN list lets DuckDB push the
    filter into the Parquet scan, which ``list_contains`` on a list parameter does not."""
    params = {f"emp{i}": e for i, e in enumerate(employees)}
    return "(" + ", ".join(f"${name}" for name in params) + ")", params


def _events_in_scope(store: Store, q: ScopeQuery) -> None:
    """``_scope_events``: the employees' events in the window that showed customers'
    fields, each with its stored explanation and whether it counts."""
    emps, emp_params = employee_params(q.employees)
    judged = (
        f"SELECT event_id, explanation FROM access_explained WHERE employee_id IN {emps}"
        if store.has_table("access_explained")
        else "SELECT NULL::VARCHAR AS event_id, NULL::VARCHAR AS explanation WHERE FALSE"
    )
    taken = ", ".join(f"'{a}'" for a in TAKEN_OUT_ACTIONS)
    store.con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE _scope_events AS
        SELECT a.event_id, a.time, a.customer_ids, a.fields,
               a.action IN ({taken}) OR a.destination IS NOT NULL AS taken_out,
               CASE WHEN a.action IN ({taken}) OR a.destination IS NOT NULL
                    THEN coalesce(a.destination, a.action) ELSE 'screen' END AS channel,
               x.event_id IS NOT NULL AS judged,
               x.explanation IS NOT NULL AS explained,
               $all OR x.explanation IS NULL AS kept
        FROM access a LEFT JOIN ({judged}) x USING (event_id)
        WHERE a.employee_id IN {emps}
          AND len(a.customer_ids) > 0 AND len(a.fields) > 0
          AND a.time >= coalesce($start, TIMESTAMPTZ '-infinity')
          AND a.time <= coalesce($end, TIMESTAMPTZ 'infinity')
        """,
        {"start": q.start, "end": q.end, "all": q.include_explained, **emp_params},
    )


# Per customer: every touch that counts (unexplained, or any touch of a leaked customer,
# whose leak proves what the explanation would excuse). A leaked category counts as taken
# out only where this employee saw it.
_PER_CUSTOMER = """
WITH touch AS (
  SELECT event_id, time, fields, taken_out, channel, kept, unnest(customer_ids) AS customer_id
  FROM _scope_events
),
counted AS (
  SELECT t.*, l.categories AS leaked_categories
  FROM touch t LEFT JOIN _leaked l USING (customer_id)
  WHERE t.kept OR l.customer_id IS NOT NULL
),
grouped AS (
  SELECT customer_id,
         list_sort(list_distinct(flatten(list(fields)))) AS fields,
         coalesce(flatten(list(fields) FILTER (WHERE taken_out)), []) AS out_fields,
         any_value(leaked_categories) AS leaked_categories,
         min(time) AS first_access, max(time) AS last_access,
         list_sort(list_distinct(list(event_id))) AS event_ids,
         list_sort(list_distinct(list(channel))) AS channels
  FROM counted GROUP BY customer_id
)
SELECT customer_id, fields, fields_taken_out,
       CASE WHEN len(fields_taken_out) > 0 THEN 'taken_out' ELSE 'viewed' END AS exposure,
       first_access, last_access, event_ids, channels, leaked, jurisdiction
FROM (
  SELECT g.*, list_sort(list_distinct(
           g.out_fields || list_intersect(g.fields, coalesce(g.leaked_categories, []))
         )) AS fields_taken_out,
         g.leaked_categories IS NOT NULL AS leaked, '' AS jurisdiction
  FROM grouped g
)
ORDER BY customer_id
"""


# Customers the employees were shown only in access a reason explains. An explanation is
# per event (a search is explained when any customer it returned is), so a harvesting
# search padded with one case customer hides the rest: the count tells the investigator
# how many --include-explained would add.
_EXPLAINED_ONLY = """
WITH hidden AS (SELECT DISTINCT unnest(customer_ids) AS c FROM _scope_events WHERE NOT kept),
     shown AS (SELECT DISTINCT unnest(customer_ids) AS c FROM _scope_events WHERE kept)
SELECT count(*) FROM hidden
WHERE c NOT IN (SELECT c FROM shown) AND c NOT IN (SELECT customer_id FROM _leaked)
"""


def place(scope: Scope, places: pa.Table) -> Scope:
    """The scope with each customer's jurisdiction (``places``: customer_id, jurisdiction,
    from the customer system), asked for after the scan so that the events are read once."""
    con = duckdb.connect()
    con.register("rows", scope.rows)
    con.register("places", places)
    rows = con.sql(
        """SELECT r.* REPLACE (coalesce(p.jurisdiction, '') AS jurisdiction)
           FROM rows r LEFT JOIN places p USING (customer_id) ORDER BY r.customer_id"""
    ).to_arrow_table()
    con.close()
    return replace(scope, rows=rows.cast(SCOPE_SCHEMA))


def _timeline(store: Store, q: ScopeQuery, rows: pa.Table) -> Timeline:
    first = pc.min(rows["first_access"]).as_py() if rows.num_rows else None
    last = pc.max(rows["last_access"]).as_py() if rows.num_rows else None
    detected, alert_ids = None, []
    if store.has_table("alerts"):
        found = store.con.execute(
            """SELECT alert_id, detected_at FROM alerts
               WHERE list_contains($emps, employee_id)
                 AND last_seen >= coalesce($start, TIMESTAMPTZ '-infinity')
               ORDER BY detected_at, alert_id""",
            {"emps": q.employees, "start": q.start},
        ).fetchall()
        alert_ids = [a for a, _ in found]
        detected = found[0][1] if found else None
    return Timeline(
        first_access=first,
        last_access=last,
        detected_at=detected,
        alert_ids=alert_ids,
        contained_at=q.contained_at,
    )


def _leak_proof(store: Store, leak_file: str) -> LeakProof:
    matched, in_scope = store.con.execute(
        """SELECT count(*), count(*) FILTER (WHERE customer_id IN
                  (SELECT DISTINCT unnest(customer_ids) FROM _scope_events))
           FROM _leaked"""
    ).fetchone()
    return LeakProof(
        file=leak_file,
        customers_matched=int(matched),
        customers_in_scope=int(in_scope),
        customers_not_seen=int(matched - in_scope),
    )


def _empty_leak() -> pa.Table:
    return pa.table({"customer_id": pa.array([], pa.string()),
                     "categories": pa.array([], pa.list_(pa.string()))})  # fmt: skip
