"""Unmasking requests in the operational store: asked with a reason, decided by a
privacy officer who is not the requester, expiring by time, revocable.

Every change is written with its audit entry in the same transaction. An approval past
its ``expires_at`` is marked expired (and audited) by whichever read notices it first,
so the record says when the identity was masked again even if nobody revoked it.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from insiderwatch.contract.workflow import (
    UNMASK_APPROVERS,
    UNMASK_REQUESTERS,
    UNMASK_STATES,
    UnmaskRequest,
)
from insiderwatch.errors import InsiderwatchError
from insiderwatch.privacy.pseudonyms import LENGTH, PREFIX
from insiderwatch.store.ops import audit
from insiderwatch.store.ops.db import locked_row
from insiderwatch.store.ops.models import UnmaskRow, UserRow

_PSEUDONYM = re.compile(re.escape(PREFIX) + f"[a-z2-7]{{{LENGTH}}}")


class UnmaskError(InsiderwatchError):
    """An unmasking request or decision that cannot be made as asked."""


class UnmaskRefused(UnmaskError):
    """The user may not do this (their role, or deciding their own request)."""


class UnmaskNotFound(UnmaskError):
    """No such unmask request."""


def _now(at: dt.datetime | None) -> dt.datetime:
    return (at or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)


def _active_user(session: Session, name: str, roles: tuple[str, ...], what: str) -> UserRow:
    row = session.scalars(select(UserRow).where(UserRow.name == name)).first()
    if row is None or row.disabled_at is not None:
        raise UnmaskRefused(f"{what}: no active user named {name!r}")
    if row.role not in roles:
        raise UnmaskRefused(
            f"{what}: {name} is a {row.role}; only {' or '.join(roles)} may do this"
        )
    return row


def _request(session: Session, request_id: int) -> UnmaskRow:
    row = locked_row(session, UnmaskRow.request_id, request_id)
    if row is None:
        raise UnmaskNotFound(f"unmask request {request_id}: no such request")
    return row


def to_request(row: UnmaskRow) -> UnmaskRequest:
    return UnmaskRequest(
        request_id=row.request_id,
        requester=row.requester,
        pseudonym=row.pseudonym,
        reason=row.reason,
        state=row.state,  # type: ignore[arg-type]
        requested_at=row.requested_at,
        approver=row.approver,
        decided_at=row.decided_at,
        decision_why=row.decision_why,
        expires_at=row.expires_at,
        revoked_by=row.revoked_by,
        revoked_at=row.revoked_at,
    )


def _audit(session: Session, row: UnmaskRow, actor: str, action: str, why: str, at) -> None:
    detail: dict = {"pseudonym": row.pseudonym, "requester": row.requester, "state": row.state}
    if row.expires_at is not None:
        detail["expires_at"] = row.expires_at.isoformat()
    audit.append(
        session,
        actor=actor,
        action=f"unmask.{action}",
        subject_kind="unmask",
        subject_id=str(row.request_id),
        why=why,
        detail=detail,
        at=at,
    )


def request(
    session: Session, requester: str, pseudonym: str, reason: str, *, at: dt.datetime | None = None
) -> UnmaskRequest:
    """Ask to see who ``pseudonym`` is; ``reason`` is required."""
    what = f"unmask {pseudonym}"
    if not _PSEUDONYM.fullmatch(pseudonym):
        raise UnmaskError(f"{what}: not a staff pseudonym ({PREFIX} + {LENGTH} characters)")
    if not reason.strip():
        raise UnmaskError(f"{what}: a reason is required")
    _active_user(session, requester, UNMASK_REQUESTERS, what)
    when = _now(at)
    row = UnmaskRow(
        requester=requester,
        pseudonym=pseudonym,
        reason=reason.strip(),
        state="requested",
        requested_at=when,
        decision_why="",
    )
    session.add(row)
    session.flush()
    _audit(session, row, requester, "request", row.reason, when)
    return to_request(row)


def decide(
    session: Session,
    request_id: int,
    approver: str,
    *,
    approve: bool,
    valid_for: dt.timedelta,
    why: str = "",
    at: dt.datetime | None = None,
) -> UnmaskRequest:
    """Approve (for ``valid_for`` from now) or reject a pending request."""
    row = _request(session, request_id)
    what = f"unmask request {request_id}"
    _active_user(session, approver, UNMASK_APPROVERS, what)
    if approver == row.requester:
        raise UnmaskRefused(f"{what}: the requester cannot decide their own request")
    if row.state != "requested":
        raise UnmaskError(f"{what}: already {row.state}")
    if not approve and not why.strip():
        raise UnmaskError(f"{what}: a rejection needs a reason (why)")
    if valid_for <= dt.timedelta(0):
        raise UnmaskError(f"{what}: an approval must last some time")
    when = _now(at)
    row.state = "approved" if approve else "rejected"
    row.approver, row.decided_at, row.decision_why = approver, when, why.strip()
    row.expires_at = when + valid_for if approve else None
    _audit(session, row, approver, "approve" if approve else "reject", row.decision_why, when)
    return to_request(row)


def revoke(
    session: Session, request_id: int, actor: str, *, why: str = "", at: dt.datetime | None = None
) -> UnmaskRequest:
    """End an approval (or withdraw a pending request) before it expires: a privacy
    officer, or the requester giving it up."""
    row = _request(session, request_id)
    what = f"unmask request {request_id}"
    if actor != row.requester:
        _active_user(session, actor, UNMASK_APPROVERS, what)
    when = _now(at)
    _expire(session, [row], when)
    if row.state not in ("requested", "approved"):
        raise UnmaskError(f"{what}: already {row.state}")
    row.state, row.revoked_by, row.revoked_at = "revoked", actor, when
    _audit(session, row, actor, "revoke", why, when)
    return to_request(row)


def _expire(session: Session, rows: list[UnmaskRow], now: dt.datetime) -> None:
    """Mark approvals whose time is up as expired, each with its audit entry."""
    for row in rows:
        if row.state == "approved" and row.expires_at is not None and row.expires_at <= now:
            row.state = "expired"
            _audit(session, row, "system:expiry", "expire", "", row.expires_at)


def expire_due(session: Session, *, at: dt.datetime | None = None) -> int:
    """Expire every approval whose time is up; how many there were."""
    now = _now(at)
    rows = list(
        session.scalars(
            select(UnmaskRow)
            .where(UnmaskRow.state == "approved", UnmaskRow.expires_at <= now)
            .with_for_update()
        )
    )
    _expire(session, rows, now)
    return len(rows)


def grant(
    session: Session, user: str, pseudonym: str, *, at: dt.datetime | None = None
) -> UnmaskRequest | None:
    """The approved, unexpired unmasking that lets ``user`` see ``pseudonym``, if any."""
    now = _now(at)
    rows = list(
        session.scalars(
            select(UnmaskRow)
            .where(
                UnmaskRow.requester == user,
                UnmaskRow.pseudonym == pseudonym,
                UnmaskRow.state == "approved",
            )
            .order_by(UnmaskRow.expires_at.desc())
        )
    )
    _expire(session, rows, now)
    live = [r for r in rows if r.state == "approved"]
    return to_request(live[0]) if live else None


def requests(
    session: Session,
    *,
    state: str | None = None,
    requester: str | None = None,
    pseudonym: str | None = None,
    limit: int = 100,
    at: dt.datetime | None = None,
) -> list[UnmaskRequest]:
    """Requests matching every filter given, newest first (due expiries applied first)."""
    if state is not None and state not in UNMASK_STATES:
        raise UnmaskError(f"unknown unmask state {state!r} (states: {', '.join(UNMASK_STATES)})")
    expire_due(session, at=at)
    query = select(UnmaskRow).order_by(UnmaskRow.request_id.desc()).limit(limit)
    for column, value in (
        (UnmaskRow.state, state),
        (UnmaskRow.requester, requester),
        (UnmaskRow.pseudonym, pseudonym),
    ):
        if value is not None:
            query = query.where(column == value)
    return [to_request(row) for row in session.scalars(query)]
