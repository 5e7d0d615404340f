"""Users and their roles; passwords kept only as argon2id hashes."""

from __future__ import annotations

import contextlib
import datetime as dt
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from insiderwatch.contract.workflow import ROLES, User
from insiderwatch.errors import InsiderwatchError
from insiderwatch.store.ops import audit
from insiderwatch.store.ops.models import UserRow

MIN_PASSWORD = 12
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_hasher = PasswordHasher()  # argon2id with the library's current recommended costs
# Verified against when the user does not exist, so a login takes as long either way and
# its timing does not tell whether an account exists.
_ABSENT_USER_HASH = _hasher.hash("no such user: this hash only takes time to check")


class UserError(InsiderwatchError):
    """A user that cannot be added or changed as asked."""


def to_user(row: UserRow) -> User:
    return User(
        name=row.name,
        role=row.role,  # type: ignore[arg-type]
        created_at=row.created_at,
        disabled_at=row.disabled_at,
    )


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise UserError(
            f"user name {name!r}: 1-64 letters, digits, '.', '_', '@' or '-', starting with "
            "a letter or digit"
        )
    return name


def add_user(
    session: Session,
    name: str,
    role: str,
    password: str,
    *,
    actor: str,
    at: dt.datetime | None = None,
) -> User:
    check_name(name)
    if role not in ROLES:
        raise UserError(f"user {name}: unknown role {role!r} (roles: {', '.join(ROLES)})")
    if len(password) < MIN_PASSWORD:
        raise UserError(f"user {name}: the password needs at least {MIN_PASSWORD} characters")
    if session.scalars(select(UserRow).where(UserRow.name == name)).first() is not None:
        raise UserError(f"user {name}: already exists")
    row = UserRow(
        name=name,
        role=role,
        password_hash=_hasher.hash(password),
        created_at=at or dt.datetime.now(dt.UTC),
    )
    session.add(row)
    audit.append(
        session,
        actor=actor,
        action="user.add",
        subject_kind="user",
        subject_id=name,
        detail={"role": role},
        at=row.created_at,
    )
    return to_user(row)


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The user when the password is right and the user active, else None. A hash made
    with older costs is replaced by one with the current costs."""
    row = session.scalars(select(UserRow).where(UserRow.name == name)).first()
    if row is None or row.disabled_at is not None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_ABSENT_USER_HASH, password)
        return None
    try:
        _hasher.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if _hasher.check_needs_rehash(row.password_hash):
        row.password_hash = _hasher.hash(password)
    return to_user(row)


def disable_user(
    session: Session, name: str, *, actor: str, why: str = "", at: dt.datetime | None = None
) -> User:
    row = session.scalars(select(UserRow).where(UserRow.name == name)).first()
    if row is None:
        raise UserError(f"user {name}: no such user")
    if row.disabled_at is None:
        row.disabled_at = at or dt.datetime.now(dt.UTC)
        audit.append(
            session,
            actor=actor,
            action="user.disable",
            subject_kind="user",
            subject_id=name,
            why=why,
            at=row.disabled_at,
        )
    return to_user(row)


def find_user(session: Session, name: str) -> User | None:
    row = session.scalars(select(UserRow).where(UserRow.name == name)).first()
    return to_user(row) if row is not None else None


def list_users(session: Session) -> list[User]:
    return [to_user(row) for row in session.scalars(select(UserRow).order_by(UserRow.name))]


def user_exists(session: Session, name: str) -> bool:
    return session.scalar(select(UserRow.user_id).where(UserRow.name == name)) is not None
