"""The alert queue as keyset pages: every filter is a WHERE on indexed columns, and a
page starts after the last row of the previous one (never OFFSET), so the thousandth page
of 100,000 alerts costs what the first does. Noisy detectors (many new, low or medium
alerts from one set of detectors) are counted from the (state, detectors, severity) index
and shown as one row each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import Select, and_, func, select, tuple_
from sqlalchemy.orm import Session

from insiderwatch.contract.console import UNASSIGNED, NoisyGroup, QueueQuery
from insiderwatch.contract.workflow import TriagedAlert
from insiderwatch.store.ops.models import AlertDetectorRow, AlertRow
from insiderwatch.store.ops.workflow import triaged

# Only these are ever folded into a group: a high or critical alert is always its own row.
GROUPABLE_SEVERITIES = ("low", "medium")

Key = tuple[float | dt.datetime, str]


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _filtered(query: Select, q: QueueQuery, employee_ids: Sequence[str] | None) -> Select:
    a = AlertRow
    if q.severities:
        query = query.where(a.severity.in_(q.severities))
    if q.state:
        query = query.where(a.state == q.state)
    if q.assignee == UNASSIGNED:
        query = query.where(a.assignee.is_(None))
    elif q.assignee:
        query = query.where(a.assignee == q.assignee)
    # Ordered by score, a date range must not steer SQLite onto the time index (it would
    # then sort the whole range for one page): the comparison is made on an expression
    # no index covers. Ordered by time, the range is read straight from that index.
    detected = a.detected_at if q.sort != "score" else func.coalesce(a.detected_at, a.detected_at)
    if q.detected_from:
        query = query.where(detected >= _day_start(q.detected_from))
    if q.detected_to:
        query = query.where(detected < _day_start(q.detected_to + dt.timedelta(days=1)))
    if q.detector:
        # EXISTS, not IN: the page is read down the order's index, each row checked by the
        # (alert_id, detector) key, instead of sorting every alert of a common detector.
        d = AlertDetectorRow
        query = query.where(
            select(d.alert_id).where(d.alert_id == a.alert_id, d.detector == q.detector).exists()
        )
    if employee_ids is not None:
        query = query.where(a.employee_id.in_(list(employee_ids)))
    return query


def _ungrouped(query: Select, noisy: Sequence[str]) -> Select:
    if not noisy:
        return query
    a = AlertRow
    return query.where(
        ~and_(a.state == "new", a.severity.in_(GROUPABLE_SEVERITIES), a.detectors.in_(noisy))
    )


def _ordered(query: Select, sort: str, after: Key | None) -> Select:
    a = AlertRow
    column = a.score if sort == "score" else a.detected_at
    key = tuple_(column, a.alert_id)
    if sort == "oldest":
        if after is not None:
            query = query.where(key > tuple_(*after))
        return query.order_by(column.asc(), a.alert_id.asc())
    if after is not None:
        query = query.where(key < tuple_(*after))
    return query.order_by(column.desc(), a.alert_id.desc())


def page(
    session: Session,
    q: QueueQuery,
    *,
    after: Key | None,
    employee_ids: Sequence[str] | None = None,
    noisy: Sequence[str] = (),
) -> tuple[list[TriagedAlert], Key | None]:
    """One page of alerts and the key to continue after it (None on the last page)."""
    query = _ordered(_ungrouped(_filtered(select(AlertRow), q, employee_ids), noisy), q.sort, after)
    rows = list(session.scalars(query.limit(q.limit + 1)))
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    if not more or not rows:
        return [triaged(r) for r in rows], None
    last = rows[-1]
    return [triaged(r) for r in rows], (
        last.score if q.sort == "score" else last.detected_at,
        last.alert_id,
    )


def folds(q: QueueQuery, employee_ids: Sequence[str] | None) -> bool:
    """Whether this view folds noisy detectors: the triage view only (all alerts, or the
    new ones); a filtered queue is a search and shows every alert it keeps."""
    narrowed = (q.detector, q.severities, q.assignee, q.detected_from, q.detected_to)
    return not any(narrowed) and employee_ids is None and q.state in (None, "new")


def noisy_groups(
    session: Session, q: QueueQuery, *, at_least: int, employee_ids: Sequence[str] | None
) -> list[NoisyGroup]:
    """Detector sets with at least ``at_least`` new low or medium alerts, in the views
    that fold them (``folds``); the count reads one covering index."""
    if not folds(q, employee_ids):
        return []
    a = AlertRow
    query = (
        select(
            a.detectors,
            func.count(),
            func.max(a.score),
            func.min(a.detected_at),
            func.max(a.detected_at),
        )
        .where(a.state == "new", a.severity.in_(GROUPABLE_SEVERITIES), a.detectors != "")
        .group_by(a.detectors)
        .having(func.count() >= at_least)
    )
    groups = []
    for detectors, count, top, first, last in session.execute(query):
        groups.append(
            NoisyGroup(
                detectors=detectors.split("+"),
                alerts=count,
                top_score=top,
                first_detected=_aware(first),
                last_detected=_aware(last),
            )
        )
    return sorted(groups, key=lambda g: (-g.alerts, g.detectors))


def _aware(value: dt.datetime) -> dt.datetime:
    # Aggregates bypass the column type: SQLite hands back the naive UTC it stores (as
    # text, which the driver parses), PostgreSQL an aware time.
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def assignees(session: Session) -> list[str]:
    """Everyone some alert is assigned to (the filter's choices)."""
    query = select(AlertRow.assignee).where(AlertRow.assignee.is_not(None)).distinct()
    return sorted(name for (name,) in session.execute(query))


def detectors(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(AlertDetectorRow.detector).distinct().order_by(AlertDetectorRow.detector)
        )
    )
