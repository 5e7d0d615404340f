"""Users and roles: add, list, disable, log in."""

from __future__ import annotations

from insiderwatch.contract.workflow import User
from insiderwatch.store.ops import OpsStore
from insiderwatch.store.ops import users as repo


def add_user(ops: OpsStore, name: str, role: str, password: str, *, actor: str) -> User:
    with ops.session() as s:
        return repo.add_user(s, name, role, password, actor=actor)


def list_users(ops: OpsStore) -> list[User]:
    with ops.session() as s:
        return repo.list_users(s)


def disable_user(ops: OpsStore, name: str, *, actor: str, why: str = "") -> User:
    with ops.session() as s:
        return repo.disable_user(s, name, actor=actor, why=why)


def authenticate(ops: OpsStore, name: str, password: str) -> User | None:
    with ops.session() as s:
        return repo.authenticate(s, name, password)


def active_user(ops: OpsStore, name: str) -> User | None:
    """The user (with their role) when they exist and are not disabled."""
    with ops.session() as s:
        found = repo.find_user(s, name)
    return found if found is not None and found.disabled_at is None else None
