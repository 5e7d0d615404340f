"""An employee's accesses in time order, each with the case context that may explain it
and the reason detection gave it, with its sentence (:mod:`~insiderwatch.detect.reasons`).

A case "covers" an access when it is assigned to the same employee, is about one of the
customers shown, and was open at the time. Written once with Ibis (portable backends).
"""

from __future__ import annotations

from datetime import datetime

import ibis
import pandas as pd

from insiderwatch.contract.investigate import TimelineEntry
from insiderwatch.detect.reasons import meaning
from insiderwatch.store.duckdb_store import Store


def timeline(
    store: Store,
    employee_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = None,
) -> list[TimelineEntry]:
    con = store.ibis
    access = con.table("access")
    events = access.filter(access.employee_id == employee_id)
    if since is not None:
        events = events.filter(events.time >= since)
    if until is not None:
        events = events.filter(events.time <= until)
    events = events.order_by([events.time, events.event_id])
    if limit is not None:
        events = events.limit(limit)

    cases = con.table("cases")
    cases = cases.filter(cases.employee_id == employee_id)
    touched = events.select(events.event_id, events.time, customer_id=events.customer_ids.unnest())
    covered = (
        touched.join(
            cases,
            [
                touched.customer_id == cases.customer_id,
                cases.opened_at <= touched.time,
                cases.closed_at.isnull() | (cases.closed_at >= touched.time),
            ],
        )
        .group_by(touched.event_id)
        .aggregate(open_cases=cases.case_id.collect(distinct=True))
    )
    joined = events.left_join(covered, events.event_id == covered.event_id).select(
        events, covered.open_cases
    )
    joined = _with_explanation(store, joined)
    joined = joined.order_by([joined.time, joined.event_id])
    frame = joined.execute()
    entries = []
    for row in frame.itertuples(index=False):
        entries.append(
            TimelineEntry(
                event_id=row.event_id,
                time=row.time.to_pydatetime(),
                action=row.action,
                customer_ids=list(row.customer_ids),
                fields=list(row.fields),
                record_count=None if pd.isna(row.record_count) else int(row.record_count),
                app=_text(row.app),
                case_id=_text(row.case_id),
                destination=_text(row.destination),
                src_ip=_text(row.src_ip),
                device_id=_text(row.device_id),
                open_cases=_names(row.open_cases),
                explanation=_text(row.explanation),
                explanation_meaning=meaning(_text(row.explanation)),
            )
        )
    return entries


def _with_explanation(store: Store, events):
    """``events`` with the reason detection stored for each (NULL: none, or detection
    has not run yet and there is no table)."""
    if not store.has_table("access_explained"):
        return events.mutate(explanation=ibis.null(str))
    why = store.ibis.table("access_explained")
    return events.left_join(why, events.event_id == why.event_id).select(events, why.explanation)


def _names(value) -> list[str]:
    """A collected list from the engine (None when the left join found no case)."""
    if value is None or isinstance(value, float):
        return []
    return sorted(str(v) for v in value)


def _text(value) -> str | None:
    return None if value is None or value != value else str(value)


def other_names(store: Store, employee_id: str) -> list[str]:
    """Employee ids that end in ``:employee_id``: a log identity without a mapping is
    kept under its source's prefix (``pgaudit:eng_tom``), so asking for ``eng_tom``
    finds nothing while the events are there."""
    rows = store.con.execute(
        "SELECT employee_id FROM employees WHERE suffix(employee_id, ':' || ?) "
        "ORDER BY employee_id LIMIT 5",
        [employee_id],
    ).fetchall()
    return [r[0] for r in rows]
