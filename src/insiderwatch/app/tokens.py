"""API tokens: for a collector source or a user; shown once, verified, revoked."""

from __future__ import annotations

from insiderwatch.contract.workflow import NewToken, TokenInfo
from insiderwatch.store.ops import OpsStore
from insiderwatch.store.ops import tokens as repo


def create_token(ops: OpsStore, *, kind: str, owner: str, actor: str) -> NewToken:
    with ops.session() as s:
        return repo.create_token(s, kind, owner, actor=actor)


def verify_token(ops: OpsStore, token: str) -> TokenInfo | None:
    """What a bearer token stands for, or None (unknown, revoked, or its user disabled)."""
    with ops.session() as s:
        return repo.verify_token(s, token)


def revoke_token(ops: OpsStore, token_id: int, *, actor: str, why: str = "") -> TokenInfo:
    with ops.session() as s:
        return repo.revoke_token(s, token_id, actor=actor, why=why)


def list_tokens(ops: OpsStore, *, include_revoked: bool = False) -> list[TokenInfo]:
    with ops.session() as s:
        return repo.list_tokens(s, include_revoked=include_revoked)
