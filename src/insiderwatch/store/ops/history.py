"""Recording detection's alert history: idempotent, and never touching triage.

A line is keyed by (alert_id, revision) and identified by a hash of its content. Content
seen before under its key (current or superseded) is a duplicate and changes nothing, so
syncing the same history twice, or an older file after a newer one, records nothing. New
content under a key already stored is a *rewrite*: a late event made detection recompute
the past. It becomes the current line and the one it replaces stays, marked superseded
(what the alert said before is part of the record). The alert's detection fields
(score, severity, summary) follow its latest current line; state, assignee, case and
close reason belong to people and are never written here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

import msgspec
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from insiderwatch.contract import Alert
from insiderwatch.contract.workflow import SyncRejected, SyncReport
from insiderwatch.store.ops.models import AlertDetectorRow, AlertLine, AlertRow, SyncRejectRow

CHUNK = 1_000
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True)
class HistoryLine:
    """An alert line to record, with where it came from (for messages)."""

    alert: Alert
    location: str

    @property
    def key(self) -> tuple[str, int]:
        return (self.alert.alert_id, self.alert.revision)


@dataclass
class _Tally:
    read: int = 0
    recorded: int = 0
    rewritten: int = 0
    duplicates: int = 0
    opened: int = 0
    rejected: list[SyncRejected] = field(default_factory=list)


def _chunks(lines: Iterable[HistoryLine]) -> Iterator[list[HistoryLine]]:
    it = iter(lines)
    while chunk := list(islice(it, CHUNK)):
        yield chunk


def _digest(text: bytes) -> str:
    return hashlib.sha256(text).hexdigest()


def record_history(
    session: Session,
    lines: Iterable[HistoryLine],
    *,
    source: str,
    bad: Iterable[tuple[SyncRejected, str]] = (),
    at: dt.datetime | None = None,
) -> SyncReport:
    """Record alert-history lines (and keep ``bad`` ones, which failed to parse, with
    their reasons and text); returns what was new, rewritten, duplicate or rejected."""
    now = at or dt.datetime.now(dt.UTC)
    tally = _Tally()
    for chunk in _chunks(lines):
        _record_chunk(session, chunk, tally, now)
    for reject, text in bad:
        tally.read += 1
        _keep_reject(session, source, reject, text, now)
        tally.rejected.append(reject)
    return SyncReport(
        read=tally.read,
        recorded=tally.recorded,
        rewritten=tally.rewritten,
        duplicates=tally.duplicates,
        alerts_opened=tally.opened,
        rejected=tally.rejected,
    )


class _Versions:
    """Every version of each (alert_id, revision) of a chunk's alerts, and the current one."""

    def __init__(self, session: Session, ids: set[str]) -> None:
        self.seen: dict[tuple[str, int], set[str]] = defaultdict(set)
        self.current: dict[tuple[str, int], str] = {}
        rows = session.execute(
            select(
                AlertLine.alert_id, AlertLine.revision, AlertLine.line_hash, AlertLine.superseded_at
            ).where(AlertLine.alert_id.in_(ids))
        )
        for r in rows:
            self.seen[(r.alert_id, r.revision)].add(r.line_hash)
            if r.superseded_at is None:
                self.current[(r.alert_id, r.revision)] = r.line_hash


def _record_chunk(
    session: Session, chunk: list[HistoryLine], tally: _Tally, now: dt.datetime
) -> None:
    ids = {line.alert.alert_id for line in chunk}
    versions = _Versions(session, ids)
    revision_now = dict(
        session.execute(
            select(AlertRow.alert_id, AlertRow.revision).where(AlertRow.alert_id.in_(ids))
        ).all()
    )
    pending: dict[tuple[str, str], dict] = {}  # (alert_id, hash) -> the row to insert
    superseded: list[dict] = []  # stored rows that stop being current
    fresh: list[Alert] = []
    for line in chunk:
        tally.read += 1
        text = _encode(line.alert)
        digest = _digest(text)
        if digest in versions.seen[line.key]:
            tally.duplicates += 1
            continue
        if (old := versions.current.get(line.key)) is not None:
            tally.rewritten += 1
            if (
                line.key[0],
                old,
            ) in pending:  # replaced within this chunk: never current in the store
                pending[(line.key[0], old)]["superseded_at"] = now
            else:
                superseded.append(
                    {
                        "alert_id": line.key[0],
                        "revision": line.key[1],
                        "line_hash": old,
                        "superseded_at": now,
                    }
                )
        versions.seen[line.key].add(digest)
        versions.current[line.key] = digest
        pending[(line.key[0], digest)] = {
            "alert_id": line.alert.alert_id,
            "revision": line.alert.revision,
            "line_hash": digest,
            "detected_at": line.alert.detected_at,
            "line": text.decode(),
            "superseded_at": None,
        }
        fresh.append(line.alert)
    latest: dict[str, Alert] = {}
    for a in fresh:  # in history order: a later rewrite of the same revision wins
        if a.alert_id not in latest or a.revision >= latest[a.alert_id].revision:
            latest[a.alert_id] = a
    opened = [a for a in latest.values() if a.alert_id not in revision_now]
    moved = [
        a
        for a in latest.values()
        if a.alert_id in revision_now and a.revision >= revision_now[a.alert_id]
    ]
    if opened:
        session.execute(insert(AlertRow), [_new_alert(a, now) for a in opened])
    # ORM bulk UPDATEs by primary key: one statement run for all rows.
    if moved:
        session.execute(
            update(AlertRow), [{"alert_id": a.alert_id, **_detection(a)} for a in moved]
        )
    if opened or moved:
        _index_detectors(session, [*opened, *moved])
    if superseded:
        session.execute(update(AlertLine), superseded)
    if pending:
        session.execute(insert(AlertLine), list(pending.values()))
    tally.recorded += len(pending)
    tally.opened += len(opened)


_DETECTION_FIELDS = (
    "employee_id",
    "revision",
    "score",
    "severity",
    "summary",
    "opened_at",
    "detected_at",
)


def _detection(alert: Alert) -> dict:
    fields = {name: getattr(alert, name) for name in _DETECTION_FIELDS}
    return fields | {"detectors": detector_key(alert.detectors)}


def detector_key(detectors: Iterable[str]) -> str:
    """The set of detectors an alert came from, as one sortable, groupable value."""
    return "+".join(sorted(set(detectors)))


def _index_detectors(session: Session, alerts: list[Alert]) -> None:
    """The alerts' rows in ``alert_detectors``, as their latest lines name them."""
    ids = [a.alert_id for a in alerts]
    session.execute(delete(AlertDetectorRow).where(AlertDetectorRow.alert_id.in_(ids)))
    rows = [
        {"alert_id": a.alert_id, "detector": d} for a in alerts for d in sorted(set(a.detectors))
    ]
    if rows:
        session.execute(insert(AlertDetectorRow), rows)


def _new_alert(alert: Alert, now: dt.datetime) -> dict:
    return {"alert_id": alert.alert_id, **_detection(alert), "state": "new", "state_since": now}


def _keep_reject(
    session: Session, source: str, reject: SyncRejected, line: str, now: dt.datetime
) -> None:
    reject_id = _digest(f"{source}\n{reject.where}\n{line}".encode())
    if session.get(SyncRejectRow, reject_id) is None:
        session.add(
            SyncRejectRow(
                reject_id=reject_id,
                source=source,
                location=reject.where,
                reason=reject.reason,
                line=line,
                at=now,
            )
        )
        session.flush()
