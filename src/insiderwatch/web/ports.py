"""What the web layer needs from the operational store, as a small interface: who a
bearer token belongs to and their role, where each alert's triage stands, the audit log of
reads, and the use cases of ``app/`` that need the store (unmasking, reading the log).
The service passes an implementation in (``Service(ops=...)``), so the API is tested with
the real store and does not import it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from insiderwatch.contract.workflow import User

T = TypeVar("T")


class OpsPort(Protocol):
    def collector_source(self, token: str) -> str | None:
        """The source a collector token was issued for; None when it is not valid."""

    def reader_name(self, token: str) -> str | None:
        """The person (user name) a reading token belongs to; None when it is not valid."""

    def user(self, name: str) -> User | None:
        """The active user of that name, with their role; None when there is none."""

    def call(self, use_case: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run an ``insiderwatch.app`` use case that takes the operational store first
        (unmasking, the audit log): the web layer never holds the store itself."""

    def audit_read(self, actor: str, what: str, subject: str) -> None:
        """Record that ``actor`` read ``what`` about ``subject`` (an employee, a customer);
        raises when it could not be recorded (then nothing is shown)."""

    def alert_states(self, alert_ids: list[str]) -> dict[str, str]:
        """The triage state of each alert the ops store knows."""
