"""The operational store's tables as typed SQLAlchemy models.

The migrations in ``migrations/versions`` create exactly these tables (a test compares
them); a change here needs a new migration beside the others.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from insiderwatch.contract.workflow import (
    ALERT_STATES,
    CASE_STATES,
    CLOSE_REASONS,
    ROLES,
    UNMASK_STATES,
)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """An instant in UTC on every backend: SQLite keeps no zone, so aware times are
    converted to UTC on the way in and marked UTC on the way out."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()}: give a time zone")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def one_of(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class Base(DeclarativeBase):
    pass


ID = String(128)
NAME = String(64)


class AlertRow(Base):
    """An alert: detection's latest line (score, summary) beside the triage people did."""

    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint(one_of("state", ALERT_STATES), name="alerts_state"),
        CheckConstraint(
            f"close_reason IS NULL OR {one_of('close_reason', CLOSE_REASONS)}",
            name="alerts_close_reason",
        ),
        Index("alerts_state_score", "state", "score"),
        # Keyset pages of the queue, by score or by time (alert_id breaks ties).
        Index("alerts_score_id", "score", "alert_id"),
        Index("alerts_detected_id", "detected_at", "alert_id"),
        # Counting new alerts per detector set (noisy detectors grouped) from the index
        # alone: it covers every column that count reads.
        Index("alerts_noisy", "state", "detectors", "severity", "score", "detected_at"),
        # The state and assignee filters in either order, read from an index.
        Index("alerts_state_detected", "state", "detected_at", "alert_id"),
        Index("alerts_assignee_score", "assignee", "score", "alert_id"),
        Index("alerts_assignee_detected", "assignee", "detected_at", "alert_id"),
    )

    alert_id: Mapped[str] = mapped_column(ID, primary_key=True)
    employee_id: Mapped[str] = mapped_column(ID, index=True)
    revision: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    detected_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    state: Mapped[str] = mapped_column(String(16))
    state_since: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    assignee: Mapped[str | None] = mapped_column(NAME)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.case_id"))
    close_reason: Mapped[str | None] = mapped_column(String(32))
    # The detectors of its latest line, sorted and joined with "+" ("canary+volume").
    detectors: Mapped[str] = mapped_column(String(400), server_default="")


class AlertDetectorRow(Base):
    """One detector an alert came from (the queue's detector filter reads this index)."""

    __tablename__ = "alert_detectors"
    __table_args__ = (Index("alert_detectors_detector", "detector", "alert_id"),)

    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.alert_id"), primary_key=True)
    detector: Mapped[str] = mapped_column(NAME, primary_key=True)


class AlertLine(Base):
    """One line of the alert history as detection wrote it, kept verbatim (JSON). A line
    that a later run rewrote stays, with the time it was superseded; one line per
    (alert, revision) is current."""

    __tablename__ = "alert_lines"
    __table_args__ = (
        Index(
            "alert_lines_current",
            "alert_id",
            "revision",
            unique=True,
            sqlite_where=text("superseded_at IS NULL"),
            postgresql_where=text("superseded_at IS NULL"),
        ),
    )

    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.alert_id"), primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    detected_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    line: Mapped[str] = mapped_column(Text)
    superseded_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class CaseRow(Base):
    __tablename__ = "cases"
    __table_args__ = (CheckConstraint(one_of("state", CASE_STATES), name="cases_state"),)

    case_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    title: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(NAME)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    assignee: Mapped[str | None] = mapped_column(NAME)


class TransitionRow(Base):
    """Every workflow move of an alert or a case (append-only, a trigger refuses changes)."""

    __tablename__ = "transitions"
    __table_args__ = (
        CheckConstraint("subject IN ('alert', 'case')", name="transitions_subject"),
        Index("transitions_subject_id", "subject", "subject_id"),
    )

    transition_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(8))
    subject_id: Mapped[str] = mapped_column(ID)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(NAME)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    why: Mapped[str] = mapped_column(Text, default="")
    close_reason: Mapped[str | None] = mapped_column(String(32))
    case_id: Mapped[int | None] = mapped_column(Integer)


class AssignmentRow(Base):
    __tablename__ = "assignments"

    assignment_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.alert_id"), index=True)
    assignee: Mapped[str | None] = mapped_column(NAME)
    actor: Mapped[str] = mapped_column(NAME)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    why: Mapped[str] = mapped_column(Text, default="")


class NoteRow(Base):
    __tablename__ = "notes"

    note_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.alert_id"), index=True)
    author: Mapped[str] = mapped_column(NAME)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    text: Mapped[str] = mapped_column(Text)


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(one_of("role", ROLES), name="users_role"),)

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(NAME, unique=True)
    role: Mapped[str] = mapped_column(String(32))
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class TokenRow(Base):
    """An API token, stored only as the SHA-256 of the token (high entropy, so a plain
    hash is enough: there is nothing to guess)."""

    __tablename__ = "api_tokens"
    __table_args__ = (CheckConstraint("kind IN ('source', 'user')", name="api_tokens_kind"),)

    token_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))
    owner: Mapped[str] = mapped_column(NAME)
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class AuditRow(Base):
    """The append-only audit log. ``seq`` is assigned by the writer (not a sequence,
    which leaves gaps on rollback) so that a gap means a deleted entry."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(NAME)
    action: Mapped[str] = mapped_column(String(64))
    subject_kind: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(ID)
    why: Mapped[str] = mapped_column(Text)
    detail: Mapped[str] = mapped_column(Text)  # JSON, hashed exactly as stored
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class UnmaskRow(Base):
    """A request to unmask a staff pseudonym and its decision (migration 0007_unmasking.py). Only the
    pseudonym is kept: who it stands for is resolved from the roster while a grant holds."""

    __tablename__ = "unmask_requests"
    __table_args__ = (
        CheckConstraint(one_of("state", UNMASK_STATES), name="unmask_requests_state"),
        CheckConstraint("length(trim(reason)) > 0", name="unmask_requests_reason"),
        CheckConstraint(
            "approver IS NULL OR approver <> requester", name="unmask_requests_not_own"
        ),
        Index("unmask_requests_grant", "requester", "pseudonym", "state"),
    )

    request_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    requester: Mapped[str] = mapped_column(NAME)
    pseudonym: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)
    requested_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    approver: Mapped[str | None] = mapped_column(NAME)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    decision_why: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    revoked_by: Mapped[str | None] = mapped_column(NAME)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class SyncRejectRow(Base):
    """An alert-history line that could not be recorded, kept with its reason. Its id
    hashes source, location and line, so syncing the same bad file again adds nothing."""

    __tablename__ = "sync_rejects"

    reject_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    location: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    line: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)


class ConsoleSessionRow(Base):
    """A console login. Only the SHA-256 of the cookie's token is kept (high entropy, so
    a plain hash is enough), so a copy of the database logs nobody in; revoking the row
    ends the session at once, whatever the browser still holds."""

    __tablename__ = "console_sessions"

    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_name: Mapped[str] = mapped_column(NAME, index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    address_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)


class LoginFailureRow(Base):
    """A failed console login, by hashed account name and client address (neither is
    kept in clear: a mistyped password often lands in the name field)."""

    __tablename__ = "login_failures"

    failure_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account_hash: Mapped[str] = mapped_column(String(64), index=True)
    address_hash: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime, index=True)


class CaseNoteRow(Base):
    __tablename__ = "case_notes"

    note_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.case_id"), index=True)
    author: Mapped[str] = mapped_column(NAME)
    at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    text: Mapped[str] = mapped_column(Text)


class CaseEvidenceRow(Base):
    """An access event attached to a case as evidence (from one of its alerts)."""

    __tablename__ = "case_evidence"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.case_id"), primary_key=True)
    event_id: Mapped[str] = mapped_column(ID, primary_key=True)
    alert_id: Mapped[str] = mapped_column(ID)
    added_by: Mapped[str] = mapped_column(NAME)
    added_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    why: Mapped[str] = mapped_column(Text)


class SuppressionProposalRow(Base):
    """A suppression proposed when an alert was dismissed, with what it would have done
    to the last 30 days of alerts (JSON), until someone applies or withdraws it."""

    __tablename__ = "suppression_proposals"
    __table_args__ = (
        CheckConstraint(
            "status IN ('proposed', 'applied', 'withdrawn')", name="suppression_proposals_status"
        ),
    )

    proposal_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    alert_id: Mapped[str] = mapped_column(ForeignKey("alerts.alert_id"), index=True)
    employee_id: Mapped[str] = mapped_column(ID)
    detector: Mapped[str] = mapped_column(NAME)
    until: Mapped[dt.date] = mapped_column(Date)
    close_reason: Mapped[str] = mapped_column(String(32))
    why: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    proposed_by: Mapped[str] = mapped_column(NAME)
    proposed_at: Mapped[dt.datetime] = mapped_column(UtcDateTime)
    decided_by: Mapped[str | None] = mapped_column(NAME)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UtcDateTime)
    preview: Mapped[str] = mapped_column(Text)
