"""The response layer's tables in the operational store (migration 0002): deliveries of
alert notices (dead letters included, replayable) and containment actions with their
append-only trail of who did what and why."""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, LargeBinary, String, Table, Text

from insiderwatch.store.ops.models import ID, NAME, Base, UtcDateTime

deliveries = Table(
    "response_deliveries",
    Base.metadata,
    Column("delivery_id", String(64), primary_key=True),
    Column("notice_id", String(128), nullable=False, index=True),
    Column("route", String(200), nullable=False),
    Column("sink", String(200), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("tries", Integer, nullable=False),
    Column("last_error", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("notice", LargeBinary, nullable=False),  # the notice as sent, for a replay
)

containment_actions = Table(
    "containment_actions",
    Base.metadata,
    Column("action_id", String(64), primary_key=True),
    Column("alert_id", ID, nullable=False, index=True),
    Column("revision", Integer, nullable=False),
    Column("employee_id", ID, nullable=False),
    Column("employee", ID, nullable=False),
    Column("playbook", String(200), nullable=False),
    Column("action", String(40), nullable=False),
    Column("mode", String(16), nullable=False),
    Column("requested_mode", String(16), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("approvals_needed", Integer, nullable=False),
    Column("reason", Text, nullable=False),
    Column("requested_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime),
    Column("result", Text, nullable=False),
)

containment_events = Table(
    "containment_events",
    Base.metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column(
        "action_id",
        String(64),
        ForeignKey("containment_actions.action_id"),
        nullable=False,
        index=True,
    ),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", NAME, nullable=False),
    Column("event", String(40), nullable=False),
    Column("note", Text, nullable=False),
)

# The responder's open throttle windows (migration 0004), so a restart in the middle of a
# storm neither sends its first messages again nor forgets the lines it was holding.
throttle_windows = Table(
    "response_throttle_windows",
    Base.metadata,
    Column("route", String(200), primary_key=True),
    Column("employee_id", ID, primary_key=True),
    Column("detector", String(200), primary_key=True),
    Column("window_start", UtcDateTime, nullable=False),
    Column("sent", Integer, nullable=False),
    Column("held", LargeBinary, nullable=False),  # the held alert lines, JSON
)
