"""Users and API tokens in the operational store (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from insiderwatch.app import tokens, users
from insiderwatch.app.ops import audit_entries
from insiderwatch.store.ops import OpsStore, open_ops
from insiderwatch.store.ops.models import TokenRow, UserRow
from insiderwatch.store.ops.tokens import TokenError
from insiderwatch.store.ops.tokens import verify_token as verify_at
from insiderwatch.store.ops.users import UserError

PASSWORD = "correct horse battery"


@pytest.fixture
def ops(ops_url: str) -> Iterator[OpsStore]:
    with open_ops(ops_url) as opened:
        yield opened


def test_a_source_token_is_shown_once_stored_hashed_and_revocable(ops: OpsStore) -> None:
    made = tokens.create_token(ops, kind="source", owner="crm-audit", actor="admin")
    assert made.token.startswith(made.info.prefix) and len(made.token) > 40
    with ops.session() as s:
        stored = s.scalars(select(TokenRow)).one()
        assert made.token not in (stored.token_hash, stored.prefix)
    assert tokens.verify_token(ops, made.token + "x") is None
    seen = tokens.verify_token(ops, made.token)
    assert seen is not None and seen.owner == "crm-audit" and seen.last_used_at is not None
    listed = tokens.list_tokens(ops)
    assert [t.token_id for t in listed] == [made.info.token_id]
    tokens.revoke_token(ops, made.info.token_id, actor="admin", why="rotated")
    assert tokens.verify_token(ops, made.token) is None
    assert tokens.list_tokens(ops) == []
    assert tokens.list_tokens(ops, include_revoked=True)[0].revoked_at is not None
    with pytest.raises(TokenError, match="already revoked"):
        tokens.revoke_token(ops, made.info.token_id, actor="admin")
    actions = [e.action for e in audit_entries(ops)]
    assert actions == ["token.revoke", "token.create"]


def test_last_use_is_written_at_most_once_a_minute(ops: OpsStore) -> None:
    made = tokens.create_token(ops, kind="source", owner="nats", actor="admin")
    t0 = dt.datetime(2026, 9, 1, 10, 0, tzinfo=dt.UTC)
    with ops.session() as s:
        for seconds, expected in ((0, 0), (30, 0), (61, 61)):
            info = verify_at(s, made.token, at=t0 + dt.timedelta(seconds=seconds))
            assert info is not None
            assert info.last_used_at == t0 + dt.timedelta(seconds=expected)


def test_a_user_token_dies_with_its_user(ops: OpsStore) -> None:
    with pytest.raises(TokenError, match="no active user named 'ana'"):
        tokens.create_token(ops, kind="user", owner="ana", actor="admin")
    users.add_user(ops, "ana", "analyst", PASSWORD, actor="admin")
    made = tokens.create_token(ops, kind="user", owner="ana", actor="admin")
    assert tokens.verify_token(ops, made.token) is not None
    users.disable_user(ops, "ana", actor="admin", why="left")
    assert tokens.verify_token(ops, made.token) is None


def test_users_log_in_with_argon2_hashed_passwords(ops: OpsStore) -> None:
    added = users.add_user(ops, "ana", "privacy_officer", PASSWORD, actor="admin")
    assert added.role == "privacy_officer"
    with ops.session() as s:
        assert s.scalars(select(UserRow.password_hash)).one().startswith("$argon2id$")
    assert users.authenticate(ops, "ana", PASSWORD) == added
    assert users.authenticate(ops, "ana", PASSWORD + "!") is None
    assert users.authenticate(ops, "nobody", PASSWORD) is None
    users.disable_user(ops, "ana", actor="admin")
    assert users.authenticate(ops, "ana", PASSWORD) is None


REFUSED = [
    ("bo", "boss", PASSWORD, "unknown role 'boss'"),
    ("bo", "analyst", "short", "at least 12 characters"),
    ("-bo", "analyst", PASSWORD, "user name '-bo'"),
    ("ana", "auditor", PASSWORD, "already exists"),
]


def test_bad_users_are_refused_with_the_reason(ops: OpsStore) -> None:
    users.add_user(ops, "ana", "analyst", PASSWORD, actor="admin")
    for name, role, password, message in REFUSED:
        with pytest.raises(UserError, match=message):
            users.add_user(ops, name, role, password, actor="admin")
    assert [u.name for u in users.list_users(ops)] == ["ana"]
