"""Console log-in, log-out and sessions: argon2 passwords from the users table,
server-side sessions, failed logins counted per account and per client address (in the
store, so a restart does not reset them), and every attempt in the audit log."""

from __future__ import annotations

import datetime as dt

from insiderwatch.contract.console import LoginOutcome, LoginPolicy, Viewer
from insiderwatch.store.ops import OpsStore, audit
from insiderwatch.store.ops import sessions as repo
from insiderwatch.store.ops import users as user_repo

CONSOLE_ACTOR = "console"


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


def log_in(
    ops: OpsStore,
    name: str,
    password: str,
    address: str,
    policy: LoginPolicy,
    *,
    now: dt.datetime | None = None,
) -> LoginOutcome:
    """A session for ``name`` when the password is right and neither the account nor the
    address has failed too often lately. A refusal never says whether the user exists."""
    now = _now(now)
    since = now - dt.timedelta(minutes=policy.window_minutes)
    with ops.session() as s:
        by_account, by_address = repo.recent_failures(s, name, address, since=since)
        if by_account >= policy.per_account or by_address >= policy.per_address:
            _audit_refusal(s, name, "console.login_throttled", by_account, by_address, now)
            return LoginOutcome(refused="throttled")
        user = user_repo.authenticate(s, name, password)
        if user is None:
            repo.record_failure(s, name, address, now=now)
            _audit_refusal(s, name, "console.login_failed", by_account + 1, by_address + 1, now)
            return LoginOutcome(refused="invalid")
        repo.clear_failures(s, name)
        lifetime = dt.timedelta(hours=policy.session_hours)
        token, viewer = repo.start(s, user.name, user.role, address, lifetime=lifetime, now=now)
        audit.append(
            s, actor=user.name, action="console.login", subject_kind="user",
            subject_id=user.name, detail={"role": user.role}, at=now,
        )  # fmt: skip
    return LoginOutcome(token=token, viewer=viewer)


def _audit_refusal(s, name: str, action: str, by_account: int, by_address: int, now) -> None:
    # The typed name is kept only when it is a real account: a password typed into the
    # name field must not land in a log that can never be edited.
    known = user_repo.user_exists(s, name)
    audit.append(
        s,
        actor=CONSOLE_ACTOR,
        action=action,
        subject_kind="user",
        subject_id=name if known else "unknown:" + repo.digest(name.lower())[:16],
        detail={"failures_for_account": by_account, "failures_from_address": by_address},
        at=now,
    )


def log_out(ops: OpsStore, token: str, *, now: dt.datetime | None = None) -> str | None:
    """End the session; the user it belonged to (None when it was not live)."""
    now = _now(now)
    with ops.session() as s:
        user = repo.revoke(s, token, now=now)
        if user is not None:
            audit.append(
                s, actor=user, action="console.logout", subject_kind="user",
                subject_id=user, at=now,
            )  # fmt: skip
    return user


def viewer_of(
    ops: OpsStore, token: str, policy: LoginPolicy, *, now: dt.datetime | None = None
) -> Viewer | None:
    """Who holds this session token, if it is live."""
    with ops.session() as s:
        return repo.find(s, token, idle=dt.timedelta(minutes=policy.idle_minutes), now=_now(now))
