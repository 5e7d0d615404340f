"""Typed records the response layer hands to the application layer and the CLI."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import msgspec

from insiderwatch.contract.records import Alert

DeliveryStatus = Literal["pending", "delivered", "dead"]
ContainStatus = Literal["pending", "done", "dry_run", "rejected", "expired", "failed", "reinstated"]


class Delivery(msgspec.Struct, kw_only=True, frozen=True):
    """One notice to one sink: its fate, how many tries, the last error (a dead letter
    when ``status`` is dead; it can be replayed)."""

    delivery_id: str
    notice_id: str
    route: str
    sink: str
    status: DeliveryStatus
    tries: int
    last_error: str = ""
    created_at: dt.datetime
    updated_at: dt.datetime
    notice: bytes = b""  # the notice as sent (JSON), so a replay sends the same thing


class Subject(msgspec.Struct, kw_only=True, frozen=True):
    """What a playbook needs to know about the staff member behind an alert."""

    employee_id: str
    role: str = ""
    service_account: bool = False
    routine: bool = False  # the alert's flows are learned routine for the group


class ContainEvent(msgspec.Struct, kw_only=True, frozen=True):
    """One step in a containment action's life: who did what, when and why."""

    at: dt.datetime
    actor: str
    event: str
    note: str = ""


class Containment(msgspec.Struct, kw_only=True, frozen=True):
    """A containment action a playbook asked for, and what became of it."""

    action_id: str
    alert_id: str
    revision: int
    employee_id: str
    employee: str  # as shown: a pseudonym unless the playbook reveals staff
    playbook: str
    action: str
    mode: str
    requested_mode: str
    status: ContainStatus
    approvals_needed: int
    approvers: list[str] = []
    reason: str
    requested_at: dt.datetime
    expires_at: dt.datetime | None = None
    result: str = ""
    events: list[ContainEvent] = []


class ThrottleWindow(msgspec.Struct, kw_only=True):
    """One open throttle window of a route: for one employee and first detector, since
    ``start`` (event time), ``sent`` messages went out and ``held`` lines wait to leave
    as one storm message when the window closes."""

    employee_id: str
    detector: str
    start: dt.datetime
    sent: int = 0
    held: list[Alert] = msgspec.field(default_factory=list)
