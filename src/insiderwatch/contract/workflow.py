"""Typed records of the operational store: what people create and must never be
recomputed away (alert triage, cases, users, API tokens, the audit log).

The states and the moves allowed between them are data here, so the store enforces,
the CLI and the HTTP API show, and the docs describe the same workflow.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

AlertState = Literal["new", "triaging", "escalated", "closed"]
ALERT_STATES: tuple[AlertState, ...] = ("new", "triaging", "escalated", "closed")

# Reopening a closed alert goes back to triage: a closing reason can turn out wrong.
ALERT_MOVES: dict[str, tuple[str, ...]] = {
    "new": ("triaging", "closed"),
    "triaging": ("escalated", "closed"),
    "escalated": ("closed",),
    "closed": ("triaging",),
}

CloseReason = Literal[
    "true_positive",
    "known_business_reason",
    "data_quality",
    "expected_role_behaviour",
    "duplicate",
    "other",
]
CLOSE_REASONS: tuple[CloseReason, ...] = (
    "true_positive",
    "known_business_reason",
    "data_quality",
    "expected_role_behaviour",
    "duplicate",
    "other",
)

CaseState = Literal["new", "investigating", "confirmed", "dismissed", "closed"]
CASE_STATES: tuple[CaseState, ...] = ("new", "investigating", "confirmed", "dismissed", "closed")
CASE_MOVES: dict[str, tuple[str, ...]] = {
    "new": ("investigating", "dismissed"),
    "investigating": ("confirmed", "dismissed"),
    "confirmed": ("closed",),
    "dismissed": ("closed", "investigating"),
    "closed": (),
}

# Why a case is dismissed (the structured reasons feedback learns from); confirming a
# case is the true positive, so it is not among them.
DISMISS_REASONS: tuple[CloseReason, ...] = tuple(r for r in CLOSE_REASONS if r != "true_positive")

Role = Literal["admin", "analyst", "investigator", "privacy_officer", "auditor"]
ROLES: tuple[Role, ...] = ("admin", "analyst", "investigator", "privacy_officer", "auditor")

TokenKind = Literal["source", "user"]

# Unmasking: who may ask to see the person behind a pseudonym, who may allow it, and
# where a request can go. "expired" is reached by time (an approval's expires_at), the
# others by a person; a grant shows the identity to its requester only.
UnmaskState = Literal["requested", "approved", "rejected", "expired", "revoked"]
UNMASK_STATES: tuple[UnmaskState, ...] = ("requested", "approved", "rejected", "expired", "revoked")
UNMASK_REQUESTERS: tuple[Role, ...] = ("analyst", "investigator")
UNMASK_APPROVERS: tuple[Role, ...] = ("privacy_officer",)

UtcTime = Annotated[dt.datetime, msgspec.Meta(tz=True)]


class Transition(msgspec.Struct, kw_only=True, frozen=True):
    """One workflow move of an alert or a case: who, when, from what to what, and why."""

    subject: Literal["alert", "case"]
    subject_id: str
    from_state: str | None
    to_state: str
    actor: str
    at: UtcTime
    why: str = ""
    close_reason: CloseReason | None = None
    case_id: int | None = None


class Assignment(msgspec.Struct, kw_only=True, frozen=True):
    alert_id: str
    assignee: str | None
    actor: str
    at: UtcTime
    why: str = ""


class Note(msgspec.Struct, kw_only=True, frozen=True):
    note_id: int
    alert_id: str
    author: str
    at: UtcTime
    text: str


class TriagedAlert(msgspec.Struct, kw_only=True, frozen=True):
    """An alert as the operational store holds it: detection's latest line (score,
    severity, summary) beside what people did with it (state, assignee, case)."""

    alert_id: str
    employee_id: str
    revision: int
    score: float
    severity: str
    summary: str
    opened_at: UtcTime
    detected_at: UtcTime
    state: AlertState
    state_since: UtcTime
    assignee: str | None = None
    case_id: int | None = None
    close_reason: CloseReason | None = None
    detectors: list[str] = []


class AlertDossier(msgspec.Struct, kw_only=True, frozen=True):
    """Everything about one alert: its current triage, detection's lines, the workflow."""

    alert: TriagedAlert
    revisions: list[dict]  # the current line of each revision
    superseded: list[dict]  # lines a later run rewrote (a late event changed the past)
    transitions: list[Transition]
    assignments: list[Assignment]
    notes: list[Note]


class CaseFile(msgspec.Struct, kw_only=True, frozen=True):
    """An investigation case (distinct from the contract's ``Case``, the business case
    that explains an access)."""

    case_id: int
    title: str
    state: CaseState
    created_by: str
    created_at: UtcTime
    alert_ids: list[str] = []


class SyncRejected(msgspec.Struct, kw_only=True, frozen=True):
    where: str  # file:line, or alert_id:revision for a conflicting line
    reason: str


class SyncReport(msgspec.Struct, kw_only=True, frozen=True):
    """What recording an alert history did: lines read, recorded (of which ``rewritten``
    replaced a line a late event changed), already there, rejected."""

    read: int
    recorded: int
    duplicates: int
    alerts_opened: int
    rewritten: int = 0
    rejected: list[SyncRejected] = []


class User(msgspec.Struct, kw_only=True, frozen=True):
    name: str
    role: Role
    created_at: UtcTime
    disabled_at: UtcTime | None = None


class TokenInfo(msgspec.Struct, kw_only=True, frozen=True):
    """An API token as listed: never the token itself, only its first characters."""

    token_id: int
    kind: TokenKind
    owner: str  # the collector source or the user name
    prefix: str
    created_at: UtcTime
    last_used_at: UtcTime | None = None
    revoked_at: UtcTime | None = None


class NewToken(msgspec.Struct, kw_only=True, frozen=True):
    """A token just made: ``token`` is shown this once and stored only as a hash."""

    info: TokenInfo
    token: str


class AuditEntry(msgspec.Struct, kw_only=True, frozen=True):
    """One line of the append-only audit log: who did or read what, when, and why."""

    seq: int
    at: UtcTime
    actor: str
    action: str
    subject_kind: str
    subject_id: str
    why: str = ""
    detail: dict = {}
    prev_hash: str
    hash: str


class AuditProblem(msgspec.Struct, kw_only=True, frozen=True):
    seq: int
    reason: str


class AuditVerification(msgspec.Struct, kw_only=True, frozen=True):
    """The audit log's chain checked end to end. ``head`` is the last hash: kept outside
    the store it also proves that no entry was cut off the end."""

    entries: int
    head: str
    problems: list[AuditProblem] = []

    @property
    def ok(self) -> bool:
        return not self.problems


class UnmaskRequest(msgspec.Struct, kw_only=True, frozen=True):
    """A request to see who is behind a staff pseudonym, and what became of it. While
    ``state`` is approved and ``expires_at`` is ahead, the requester (only) sees the
    identity; then it is masked again."""

    request_id: int
    requester: str
    pseudonym: str
    reason: str
    state: UnmaskState
    requested_at: UtcTime
    approver: str | None = None  # who decided (approved or rejected)
    decided_at: UtcTime | None = None
    decision_why: str = ""
    expires_at: UtcTime | None = None
    revoked_by: str | None = None
    revoked_at: UtcTime | None = None


class StaffIdentity(msgspec.Struct, kw_only=True, frozen=True):
    """How a user may see a member of staff: always the pseudonym; the employee id and
    name only under an approved, unexpired unmasking of theirs (``grant``)."""

    pseudonym: str
    employee_id: str | None = None
    display_name: str | None = None
    grant: int | None = None  # the unmask request that allows it
    expires_at: UtcTime | None = None

    @property
    def unmasked(self) -> bool:
        return self.employee_id is not None
