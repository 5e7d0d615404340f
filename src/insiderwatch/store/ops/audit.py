"""The append-only, hash-chained audit log: who read or changed what, when, and why.

Append-only is enforced by the database (triggers refuse UPDATE, DELETE and TRUNCATE);
tamper evidence by the chain: each entry's hash covers the previous entry's hash and its
own fields as stored, so editing, removing or reordering an entry behind the triggers'
back breaks every hash after it, and ``verify`` names the first entry that no longer
fits. Entries are appended in the caller's transaction, so a workflow change and its
audit entry commit or vanish together.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from insiderwatch.contract.workflow import AuditEntry, AuditProblem, AuditVerification
from insiderwatch.store.ops.models import AuditRow

GENESIS = "0" * 64
# Any fixed number: the key of the PostgreSQL advisory lock that orders chain appends.
CHAIN_LOCK = 0x1D5_A0D1
_VERIFY_CHUNK = 5_000


def entry_hash(prev_hash: str, row: AuditRow) -> str:
    """SHA-256 over the previous hash and the entry's fields in a fixed JSON layout."""
    fields = [
        row.seq,
        row.at.astimezone(dt.UTC).isoformat(),
        row.actor,
        row.action,
        row.subject_kind,
        row.subject_id,
        row.why,
        row.detail,
    ]
    body = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def _head(session: Session) -> tuple[int, str]:
    """Last seq and hash, after taking the chain lock for this transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": CHAIN_LOCK})
    # SQLite needs no lock here: every transaction began IMMEDIATE (see db.py).
    last = session.execute(
        select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)
    ).first()
    return (last.seq, last.hash) if last else (0, GENESIS)


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_kind: str,
    subject_id: str,
    why: str = "",
    detail: dict[str, Any] | None = None,
    at: dt.datetime | None = None,
) -> AuditEntry:
    """Add one entry at the end of the chain (in the caller's transaction)."""
    seq, prev = _head(session)
    # Stored with microseconds at most, so the hash of the stored value is the same.
    when = (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    row = AuditRow(
        seq=seq + 1,
        at=when,
        actor=actor,
        action=action,
        subject_kind=subject_kind,
        subject_id=str(subject_id),
        why=why or "",
        detail=json.dumps(detail or {}, sort_keys=True, ensure_ascii=False),
        prev_hash=prev,
    )
    row.hash = entry_hash(prev, row)
    session.add(row)
    session.flush()
    return to_entry(row)


def to_entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(
        seq=row.seq,
        at=row.at,
        actor=row.actor,
        action=row.action,
        subject_kind=row.subject_kind,
        subject_id=row.subject_id,
        why=row.why,
        detail=json.loads(row.detail),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def entries(
    session: Session,
    *,
    actor: str | None = None,
    subject_kind: str | None = None,
    subject_id: str | None = None,
    action: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """The latest entries matching every filter given, newest first. ``action`` ending in
    ``.`` is a prefix (``unmask.`` is every unmasking entry); ``before`` (a seq) pages
    back from there."""
    query = select(AuditRow).order_by(AuditRow.seq.desc()).limit(limit)
    for column, value in (
        (AuditRow.actor, actor),
        (AuditRow.subject_kind, subject_kind),
        (AuditRow.subject_id, subject_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if action is not None:
        prefix = action.endswith(".")
        query = query.where(
            AuditRow.action.startswith(action) if prefix else AuditRow.action == action
        )
    if since is not None:
        query = query.where(AuditRow.at >= since)
    if until is not None:
        query = query.where(AuditRow.at < until)
    if before is not None:
        query = query.where(AuditRow.seq < before)
    return [to_entry(row) for row in session.scalars(query)]


def _in_order(session: Session) -> Iterator[AuditRow]:
    after = 0
    while True:
        rows = session.scalars(
            select(AuditRow).where(AuditRow.seq > after).order_by(AuditRow.seq).limit(_VERIFY_CHUNK)
        ).all()
        if not rows:
            return
        yield from rows
        after = rows[-1].seq
        session.expunge_all()


def verify(session: Session) -> AuditVerification:
    """Walk the chain from the first entry: every seq present, every link and hash right."""
    problems: list[AuditProblem] = []
    expected_seq, prev, count = 1, GENESIS, 0
    for row in _in_order(session):
        count += 1
        if row.seq != expected_seq:
            problems.append(
                AuditProblem(seq=row.seq, reason=f"entries {expected_seq}..{row.seq - 1} missing")
            )
        if row.prev_hash != prev:
            problems.append(AuditProblem(seq=row.seq, reason="does not link to the entry before"))
        if entry_hash(row.prev_hash, row) != row.hash:
            problems.append(
                AuditProblem(seq=row.seq, reason="content changed after it was written")
            )
        expected_seq, prev = row.seq + 1, row.hash
    return AuditVerification(entries=count, head=prev, problems=problems)
