"""Console sessions and failed logins in the operational store.

A session is a random token in an HttpOnly cookie; the store keeps only its SHA-256, the
user, a CSRF token and when it expires (absolutely, and after idling). Failed logins are
rows keyed by hashed account name and client address, so rate limiting survives a
restart and is shared by every server process over one store.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from insiderwatch.contract.console import Viewer
from insiderwatch.store.ops.models import ConsoleSessionRow, LoginFailureRow, UserRow

TOKEN_BYTES = 32
# last_seen_at is written at most this often, so reading pages does not write every time.
TOUCH_EVERY = dt.timedelta(minutes=1)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def start(
    session: Session, user: str, role: str, address: str, *, lifetime: dt.timedelta,
    now: dt.datetime,
) -> tuple[str, Viewer]:  # fmt: skip
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = ConsoleSessionRow(
        session_hash=digest(token),
        user_name=user,
        csrf_token=secrets.token_urlsafe(TOKEN_BYTES),
        address_hash=digest(address),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    return token, Viewer(name=user, role=role, csrf_token=row.csrf_token, expires_at=row.expires_at)  # type: ignore[arg-type]


def find(session: Session, token: str, *, idle: dt.timedelta, now: dt.datetime) -> Viewer | None:
    """The viewer of a live session: not revoked, not expired, not idle too long, and
    its user still active (disabling a user ends their sessions)."""
    found = session.execute(
        select(ConsoleSessionRow, UserRow)
        .join(UserRow, UserRow.name == ConsoleSessionRow.user_name)
        .where(ConsoleSessionRow.session_hash == digest(token))
    ).first()
    if found is None:
        return None
    row, user = found
    if (
        row.revoked_at is not None
        or user.disabled_at is not None
        or now >= row.expires_at
        or now - row.last_seen_at >= idle
    ):
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return Viewer(
        name=user.name, role=user.role, csrf_token=row.csrf_token, expires_at=row.expires_at
    )  # type: ignore[arg-type]


def revoke(session: Session, token: str, *, now: dt.datetime) -> str | None:
    """End a session; the user it belonged to, or None when it was not live."""
    row = session.get(ConsoleSessionRow, digest(token))
    if row is None or row.revoked_at is not None:
        return None
    row.revoked_at = now
    return row.user_name


def record_failure(session: Session, account: str, address: str, *, now: dt.datetime) -> None:
    session.add(
        LoginFailureRow(account_hash=digest(account.lower()), address_hash=digest(address), at=now)
    )


def recent_failures(
    session: Session, account: str, address: str, *, since: dt.datetime
) -> tuple[int, int]:
    """Failed logins since ``since``: for this account name, and from this address."""

    def count(column, value: str) -> int:
        query = select(func.count()).where(column == value, LoginFailureRow.at >= since)
        return int(session.scalar(query) or 0)

    return (
        count(LoginFailureRow.account_hash, digest(account.lower())),
        count(LoginFailureRow.address_hash, digest(address)),
    )


def clear_failures(session: Session, account: str) -> None:
    """A correct password ends the account's count (the address keeps its own)."""
    session.execute(
        delete(LoginFailureRow).where(LoginFailureRow.account_hash == digest(account.lower()))
    )
