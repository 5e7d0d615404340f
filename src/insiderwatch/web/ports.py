"""What the web layer needs from the operational store, as a small interface: who a
bearer token belongs to and their role, where each alert's triage stands, the audit log of
reads, and the store itself for the use cases of ``app/`` (console, unmasking).
The service passes an implementation in (``Service(ops=...)``), so the API is tested with
the real store and does not import it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from insiderwatch.contract.workflow import User

if TYPE_CHECKING:
    from insiderwatch.store.ops import OpsStore


class OpsPort(Protocol):
    @property
    def store(self) -> OpsStore:
        """The store itself, for the console's use cases (``app/``), which take it."""

    def collector_source(self, token: str) -> str | None:
        """The source a collector token was issued for; None when it is not valid."""

    def reader_name(self, token: str) -> str | None:
        """The person (user name) a reading token belongs to; None when it is not valid."""

    def user(self, name: str) -> User | None:
        """The active user of that name, with their role; None when there is none."""

    def audit_read(self, actor: str, what: str, subject: str) -> None:
        """Record that ``actor`` read ``what`` about ``subject`` (an employee, a customer);
        raises when it could not be recorded (then nothing is shown)."""

    def alert_states(self, alert_ids: list[str]) -> dict[str, str]:
        """The triage state of each alert the ops store knows."""
