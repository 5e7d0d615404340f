"""Recording detection's alert history: idempotent, and never touching triage.

A line is keyed by (alert_id, revision). The same line again is a duplicate and changes
nothing; a different line under a key already stored is a *conflict*: it is rejected
with its reason and the stored line stays, because a replay of the same events writes
the same lines and anything else means the history was rewritten. A new revision moves
the alert's detection fields (score, severity, summary) forward; state, assignee, case
and close reason belong to people and are never written here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

import msgspec
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from insiderwatch.contract import Alert
from insiderwatch.contract.workflow import SyncRejected, SyncReport
from insiderwatch.store.ops.models import AlertLine, AlertRow, SyncRejectRow

CHUNK = 1_000
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True)
class HistoryLine:
    """An alert line to record, with where it came from (for rejects)."""

    alert: Alert
    location: str

    @property
    def key(self) -> tuple[str, int]:
        return (self.alert.alert_id, self.alert.revision)


@dataclass
class _Tally:
    read: int = 0
    recorded: int = 0
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
    their reasons and text); returns what was new, duplicate or rejected."""
    now = at or dt.datetime.now(dt.UTC)
    tally = _Tally()
    for chunk in _chunks(lines):
        _record_chunk(session, chunk, tally, source, now)
    for reject, text in bad:
        tally.read += 1
        _keep_reject(session, source, reject, text, now)
        tally.rejected.append(reject)
    return SyncReport(
        read=tally.read,
        recorded=tally.recorded,
        duplicates=tally.duplicates,
        alerts_opened=tally.opened,
        rejected=tally.rejected,
    )


def _record_chunk(
    session: Session, chunk: list[HistoryLine], tally: _Tally, source: str, now: dt.datetime
) -> None:
    ids = {line.alert.alert_id for line in chunk}
    stored = {
        (r.alert_id, r.revision): r.line_hash
        for r in session.execute(
            select(AlertLine.alert_id, AlertLine.revision, AlertLine.line_hash).where(
                AlertLine.alert_id.in_(ids)
            )
        )
    }
    current = dict(
        session.execute(
            select(AlertRow.alert_id, AlertRow.revision).where(AlertRow.alert_id.in_(ids))
        ).all()
    )
    new_lines: list[dict] = []
    for line in chunk:
        tally.read += 1
        text = _encode(line.alert)
        digest = _digest(text)
        known = stored.get(line.key)
        if known == digest:
            tally.duplicates += 1
            continue
        if known is not None:
            reject = SyncRejected(
                where=line.location,
                reason=f"conflicts with the stored line {line.key[0]}:{line.key[1]} "
                "(same alert and revision, different content)",
            )
            _keep_reject(session, source, reject, text.decode(), now)
            tally.rejected.append(reject)
            continue
        stored[line.key] = digest
        new_lines.append(
            {
                "alert_id": line.alert.alert_id,
                "revision": line.alert.revision,
                "detected_at": line.alert.detected_at,
                "line_hash": digest,
                "line": text.decode(),
            }
        )
    latest = _latest_per_alert(chunk, new_lines)
    opened = [a for a in latest.values() if a.alert_id not in current]
    moved = [
        a for a in latest.values() if a.alert_id in current and a.revision > current[a.alert_id]
    ]
    if opened:
        session.execute(insert(AlertRow), [_new_alert(a, now) for a in opened])
    if moved:
        # ORM bulk UPDATE by primary key: one statement run for every moved alert.
        session.execute(
            update(AlertRow), [{"alert_id": a.alert_id, **_detection(a)} for a in moved]
        )
    if new_lines:
        session.execute(insert(AlertLine), new_lines)
    tally.recorded += len(new_lines)
    tally.opened += len(opened)


def _latest_per_alert(chunk: list[HistoryLine], new_lines: list[dict]) -> dict[str, Alert]:
    fresh = {(d["alert_id"], d["revision"]) for d in new_lines}
    latest: dict[str, Alert] = {}
    for line in chunk:
        a = line.alert
        if line.key in fresh and (
            a.alert_id not in latest or a.revision > latest[a.alert_id].revision
        ):
            latest[a.alert_id] = a
    return latest


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
    return {name: getattr(alert, name) for name in _DETECTION_FIELDS}


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
