"""Typed records of the investigation console's access control: who is logged in, with
which role, and what a login attempt came to."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from insiderwatch.contract.records import Severity
from insiderwatch.contract.workflow import AlertDossier, AlertState, Role, TriagedAlert

UtcTime = Annotated[dt.datetime, msgspec.Meta(tz=True)]


class Viewer(msgspec.Struct, kw_only=True, frozen=True):
    """A logged-in console user, as every page sees them: name, role, and the session's
    CSRF token that each state-changing request must echo."""

    name: str
    role: Role
    csrf_token: str
    expires_at: UtcTime


LoginRefusal = Literal["invalid", "throttled"]


class LoginOutcome(msgspec.Struct, kw_only=True, frozen=True):
    """A login attempt: the session token (shown to the browser once, stored only as a
    hash) and the viewer, or why it was refused. ``invalid`` and ``throttled`` never say
    whether the account exists."""

    token: str | None = None
    viewer: Viewer | None = None
    refused: LoginRefusal | None = None


class LoginPolicy(msgspec.Struct, kw_only=True, frozen=True):
    """How long sessions last and how many failed logins are allowed (from the settings)."""

    session_hours: float = 8.0
    idle_minutes: float = 30.0
    per_account: int = 5
    per_address: int = 20
    window_minutes: float = 15.0


QueueSort = Literal["score", "newest", "oldest"]
QUEUE_SORTS: tuple[QueueSort, ...] = ("score", "newest", "oldest")


class QueueQuery(msgspec.Struct, kw_only=True, frozen=True):
    """What the alert queue shows: filters (all optional, all must hold), the order, and
    the keyset cursor of the page (``after``: from the previous page's ``next_cursor``)."""

    severities: list[Severity] = []
    detector: str | None = None
    state: AlertState | None = None
    assignee: str | None = None  # a user name, or UNASSIGNED
    detected_from: dt.date | None = None
    detected_to: dt.date | None = None  # inclusive
    peer_group: str | None = None
    sort: QueueSort = "score"
    after: str | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=500)] = 50


UNASSIGNED = "-"


class NoisyGroup(msgspec.Struct, kw_only=True, frozen=True):
    """New low or medium alerts from one set of detectors, so many that the queue shows
    them as one row (they stay one click away, filtered by the detector)."""

    detectors: list[str]
    alerts: int
    top_score: float
    first_detected: UtcTime
    last_detected: UtcTime


class QueuePage(msgspec.Struct, kw_only=True, frozen=True):
    alerts: list[TriagedAlert]
    groups: list[NoisyGroup] = []
    next_cursor: str | None = None


class BulkRefusal(msgspec.Struct, kw_only=True, frozen=True):
    alert_id: str
    reason: str


class BulkResult(msgspec.Struct, kw_only=True, frozen=True):
    """A bulk triage: the alerts changed, and each one refused with the reason."""

    changed: list[str] = []
    refused: list[BulkRefusal] = []


class DayValue(msgspec.Struct, kw_only=True, frozen=True):
    """One day of a measure: the employee's own value and the peers' distribution. The
    alert's own day carries the value when the finding fired and the line it crossed,
    never the day's total (later events are not what detection saw)."""

    day: dt.date
    own: float
    peer_median: float | None = None
    peer_high: float | None = None  # the peers' 90th percentile that day
    line: float | None = None  # the threshold crossed (the alert's day only)


class BaselineMove(msgspec.Struct, kw_only=True, frozen=True):
    """The baseline a finding crossed: which measure, the value against the line, the
    employee's usual and the peers', over which window, and the days that show it."""

    detector: str
    measure: str
    meaning: str  # what the measure counts, in words
    observed: float | None
    threshold: float | None
    own_usual: float | None
    peer_usual: float | None
    peer_group: str | None
    window_start: dt.date
    window_end: dt.date
    days: list[DayValue] = []


class EvidenceEvent(msgspec.Struct, kw_only=True, frozen=True):
    """An evidence event of an alert, with what explains it, if anything does."""

    event_id: str
    time: UtcTime
    action: str
    customers: int
    fields: list[str]
    app: str | None = None
    destination: str | None = None
    case_id: str | None = None
    explanation: str | None = None  # None: nothing explains it (or detection has not seen it)
    explanation_meaning: str | None = None  # the reason's sentence (detect/reasons.py)


class AlertView(msgspec.Struct, kw_only=True, frozen=True):
    """Everything the alert page shows: triage, detection's current line, the reasons,
    the baselines that moved and the evidence."""

    dossier: AlertDossier
    reasons: list[str]
    detectors: list[str]
    first_seen: UtcTime
    last_seen: UtcTime
    baselines: list[BaselineMove]
    evidence: list[EvidenceEvent]
    evidence_total: int


FeedbackReason = Literal["known_business_reason", "data_quality", "expected_role_behaviour"]
FEEDBACK_REASONS: tuple[FeedbackReason, ...] = (
    "known_business_reason",
    "data_quality",
    "expected_role_behaviour",
)
ProposalStatus = Literal["proposed", "applied", "withdrawn"]


class SparedAlert(msgspec.Struct, kw_only=True, frozen=True):
    alert_id: str
    severity: str
    score: float
    opened_at: UtcTime
    summary: str


class SuppressionPreview(msgspec.Struct, kw_only=True, frozen=True):
    """What a suppression would have done to the alerts of the last ``days`` days (up to
    the newest finding): the risk engine rerun over the same findings with it."""

    window_start: UtcTime
    window_end: UtcTime
    days: int
    alerts_before: int  # alerts that opened in the window as things are
    alerts_after: int  # with the suppression
    spared: list[SparedAlert] = []  # opened now, would not have opened with it
    findings_silenced: int = 0


class SuppressionProposal(msgspec.Struct, kw_only=True, frozen=True):
    """A suppression proposed by a dismissal: silence ``detector`` ('*': all) for one
    employee until a date, for a structured reason; applied only by a decider."""

    proposal_id: int
    alert_id: str
    employee_id: str
    detector: str
    until: dt.date
    reason: FeedbackReason
    why: str
    status: ProposalStatus
    proposed_by: str
    proposed_at: UtcTime
    preview: SuppressionPreview
    decided_by: str | None = None
    decided_at: UtcTime | None = None
