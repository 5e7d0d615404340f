"""What an alert rests on, read from detection's own tables: its findings with the
baseline each crossed, the measure's daily values for the employee and their peers up to
the day it fired (never after: the page shows what detection knew), and the evidence
events with the explanation detection gave each, or none."""

from __future__ import annotations

import datetime as dt

from insiderwatch.contract import Finding
from insiderwatch.contract.console import DayValue, EvidenceEvent
from insiderwatch.detect.reasons import meaning
from insiderwatch.detect.state import MEASURES
from insiderwatch.store.duckdb_store import Store

PEER_HIGH_QUANTILE = 0.9


def findings(store: Store, finding_ids: list[str]) -> list[Finding]:
    if not finding_ids or not store.has_table("findings"):
        return []
    cur = store.con.execute(
        """SELECT finding_id, detector, detector_version, employee_id, time AS detected_at,
                  first_time AS window_start, severity, critical, points, reason, event_ids,
                  customer_ids, measure, observed, threshold, own_usual, peer_usual,
                  suppressed_by
           FROM findings WHERE list_contains(?, finding_id) ORDER BY time, detector""",
        [finding_ids],
    )
    names = [d[0] for d in cur.description]
    return [Finding(**dict(zip(names, row, strict=True))) for row in cur.fetchall()]


def measure_meaning(measure: str) -> str:
    return MEASURES.get(measure, measure.replace("_", " ") + ": {}").replace("{}", "N")


def measure_days(
    store: Store, employee_id: str, measure: str, start: dt.date, end: dt.date
) -> tuple[str | None, list[DayValue]]:
    """The employee's peer group and, for each day in [start, end), their value of
    ``measure`` (0 on a day without activity) beside the peers' median and 90th
    percentile of the days they were active: the baseline window, which ends before the
    alert's day (whose totals include events after the alert)."""
    if measure not in MEASURES or not store.has_table("employee_days"):
        return None, []
    con = store.con
    found = con.execute(
        "SELECT peer_group FROM employee_days WHERE employee_id = ? AND day <= ? "
        "ORDER BY day DESC LIMIT 1",
        [employee_id, end],
    ).fetchone()
    group = found[0] if found else None
    # The measure is one of MEASURES' keys (checked above): safe to name in the SQL.
    rows = con.execute(
        f"""
        WITH days AS (SELECT unnest(generate_series(?::DATE, ?::DATE - 1, INTERVAL 1 DAY))::DATE AS day),
        own AS (SELECT day, {measure} AS v FROM employee_days WHERE employee_id = ?
                AND day >= ? AND day < ?),
        peers AS (SELECT day, median({measure}) AS mid,
                         quantile_cont({measure}, {PEER_HIGH_QUANTILE}) AS high
                  FROM employee_days WHERE peer_group = ? AND employee_id <> ?
                  AND day >= ? AND day < ? GROUP BY day)
        SELECT d.day, coalesce(o.v, 0), p.mid, p.high
        FROM days d LEFT JOIN own o USING (day) LEFT JOIN peers p USING (day) ORDER BY d.day
        """,
        [start, end, employee_id, start, end, group, employee_id, start, end],
    ).fetchall()
    return group, [
        DayValue(day=d, own=float(v), peer_median=_num(mid), peer_high=_num(high))
        for d, v, mid, high in rows
    ]


def _num(value) -> float | None:
    return None if value is None else float(value)


def evidence(
    store: Store,
    employee_id: str,
    event_ids: list[str],
    window: tuple[dt.datetime, dt.datetime],
    limit: int,
) -> list[EvidenceEvent]:
    """The first ``limit`` evidence events in time order, each with its explanation
    (the employee and the alert's time window narrow the scan of the event segments)."""
    if not event_ids:
        return []
    explained = "e.explanation" if store.has_table("access_explained") else "NULL"
    join = (
        "LEFT JOIN access_explained e USING (event_id)"
        if store.has_table("access_explained")
        else ""
    )
    rows = store.con.execute(
        f"""SELECT a.event_id, a.time, a.action, len(a.customer_ids), a.fields, a.app,
                   a.destination, a.case_id, {explained}
            FROM access a {join}
            WHERE a.employee_id = ? AND a.time BETWEEN ? AND ?
              AND list_contains(?, a.event_id)
            ORDER BY a.time, a.event_id LIMIT ?""",
        [employee_id, window[0], window[1], event_ids, limit],
    ).fetchall()
    return [
        EvidenceEvent(
            event_id=r[0],
            time=r[1],
            action=r[2],
            customers=int(r[3] or 0),
            fields=list(r[4] or []),
            app=r[5],
            destination=r[6],
            case_id=r[7],
            explanation=r[8],
            explanation_meaning=meaning(r[8]),
        )
        for r in rows
    ]
