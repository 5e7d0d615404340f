"""API tokens for collector sources and users: shown once, stored as a SHA-256 hash,
revocable, with the time each was last used."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from insiderwatch.contract.workflow import NewToken, TokenInfo
from insiderwatch.errors import InsiderwatchError
from insiderwatch.store.ops import audit
from insiderwatch.store.ops.models import TokenRow, UserRow
from insiderwatch.store.ops.users import check_name

PREFIX = "iw_"
SHOWN = 10  # characters of a token kept in clear, to tell tokens apart in lists
# last_used_at is written at most this often per token: a collector posting many
# batches a second must not turn every request into a write.
TOUCH_EVERY = dt.timedelta(seconds=60)


class TokenError(InsiderwatchError):
    """A token that cannot be made or revoked as asked."""


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def to_info(row: TokenRow) -> TokenInfo:
    return TokenInfo(
        token_id=row.token_id,
        kind=row.kind,  # type: ignore[arg-type]
        owner=row.owner,
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


def create_token(
    session: Session, kind: str, owner: str, *, actor: str, at: dt.datetime | None = None
) -> NewToken:
    """A new token for a collector source (``kind="source"``) or a user; the token
    itself is in the result only."""
    if kind not in ("source", "user"):
        raise TokenError(f"token kind {kind!r}: source or user")
    check_name(owner)
    if kind == "user":
        user = session.scalars(select(UserRow).where(UserRow.name == owner)).first()
        if user is None or user.disabled_at is not None:
            raise TokenError(f"no active user named {owner!r}")
    token = PREFIX + secrets.token_urlsafe(32)  # 256 bits
    row = TokenRow(
        kind=kind,
        owner=owner,
        prefix=token[:SHOWN],
        token_hash=digest(token),
        created_at=at or dt.datetime.now(dt.UTC),
    )
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="token.create",
        subject_kind=kind,
        subject_id=owner,
        detail={"token_id": row.token_id},
        at=row.created_at,
    )
    return NewToken(info=to_info(row), token=token)


def verify_token(
    session: Session, token: str, *, at: dt.datetime | None = None
) -> TokenInfo | None:
    """The token's record when it is known, not revoked and (for a user) the user is
    active; None otherwise. Notes when it was used."""
    row = session.scalars(select(TokenRow).where(TokenRow.token_hash == digest(token))).first()
    if row is None or row.revoked_at is not None:
        return None
    if row.kind == "user":
        user = session.scalars(select(UserRow).where(UserRow.name == row.owner)).first()
        if user is None or user.disabled_at is not None:
            return None
    now = at or dt.datetime.now(dt.UTC)
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        row.last_used_at = now
    return to_info(row)


def revoke_token(
    session: Session, token_id: int, *, actor: str, why: str = "", at: dt.datetime | None = None
) -> TokenInfo:
    row = session.get(TokenRow, token_id)
    if row is None:
        raise TokenError(f"token {token_id}: no such token")
    if row.revoked_at is not None:
        raise TokenError(f"token {token_id}: already revoked at {row.revoked_at.isoformat()}")
    row.revoked_at = at or dt.datetime.now(dt.UTC)
    audit.append(
        session,
        actor=actor,
        action="token.revoke",
        subject_kind=row.kind,
        subject_id=row.owner,
        why=why,
        detail={"token_id": token_id},
        at=row.revoked_at,
    )
    return to_info(row)


def list_tokens(session: Session, *, include_revoked: bool = False) -> list[TokenInfo]:
    query = select(TokenRow).order_by(TokenRow.token_id)
    if not include_revoked:
        query = query.where(TokenRow.revoked_at.is_(None))
    return [to_info(row) for row in session.scalars(query)]
