"""The operational store behind the web layer: its tokens authenticate requests, its
audit log records every read of an employee's data, it gives each alert's triage state,
and it takes the alert history as detection publishes it (an alert sink)."""

from __future__ import annotations

import hashlib
import time

from insiderwatch.app.alerts import alert_states, record_published
from insiderwatch.app.ops import record_read
from insiderwatch.app.tokens import verify_token
from insiderwatch.app.users import active_user
from insiderwatch.contract import Alert
from insiderwatch.contract.workflow import User
from insiderwatch.store.ops import OpsStore

SERVICE_ACTOR = "service:serve"
# While the operational store is unreachable, a token it confirmed this recently is still
# accepted, so collectors keep sending (events wait in the analytics store, alerts wait to
# be published) instead of every collector backing off at once. A revoked token stops
# working as soon as the store answers again.
TOKEN_GRACE_SECONDS = 300.0


class OpsGate:
    """Implements ``web.ports.OpsPort`` and ``web.live.AlertSink`` over an OpsStore."""

    name = "ops"

    def __init__(self, ops: OpsStore, grace: float = TOKEN_GRACE_SECONDS) -> None:
        self.ops, self.grace = ops, grace
        self._confirmed: dict[str, tuple[float, str, str]] = {}  # sha256 -> (when, kind, owner)

    def _owner(self, token: str, kind: str) -> str | None:
        key = hashlib.sha256(token.encode()).hexdigest()
        try:
            info = verify_token(self.ops, token)
        except Exception:
            if key not in self._confirmed:
                raise
            when, known_kind, owner = self._confirmed[key]
            if time.monotonic() - when > self.grace:
                raise
            return owner if known_kind == kind else None
        if info is None:
            self._confirmed.pop(key, None)
            return None
        self._confirmed[key] = (time.monotonic(), info.kind, info.owner)
        return info.owner if info.kind == kind else None

    @property
    def store(self) -> OpsStore:
        return self.ops

    def collector_source(self, token: str) -> str | None:
        return self._owner(token, "source")

    def reader_name(self, token: str) -> str | None:
        return self._owner(token, "user")

    def user(self, name: str) -> User | None:
        return active_user(self.ops, name)

    def audit_read(self, actor: str, what: str, subject: str) -> None:
        record_read(
            self.ops,
            actor=actor,
            subject_kind="employee",
            subject_id=subject,
            why=f"GET {what} through the API",
            detail={"what": what},
        )

    def alert_states(self, alert_ids: list[str]) -> dict[str, str]:
        return alert_states(self.ops, alert_ids)

    def publish(self, lines: list[Alert]) -> None:
        record_published(self.ops, lines, source="live detection", actor=SERVICE_ACTOR)
