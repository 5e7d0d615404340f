"""What the HTTP API sends and receives (pydantic, so the OpenAPI schema is exact)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from insiderwatch.contract.investigate import MEANING_DOC

Severity = Literal["low", "medium", "high", "critical"]


class LineOut(BaseModel):
    line: int = Field(description="1-based line of the request (element of a JSON array).")
    status: Literal["accepted", "duplicate", "rejected", "skipped"] = Field(
        description="accepted: stored; duplicate: already stored; rejected: kept as a dead "
        "letter; skipped: a blank line."
    )
    reasons: list[str] = Field(
        description="field:reason of a rejection, or of a personal-data field dropped."
    )


class BatchOut(BaseModel):
    source: str = Field(description="How the dead letters name the batch (then :line).")
    id: int = Field(description="The ingest batch (ingest_batches).")
    requests: int = Field(description="Requests coalesced into the batch.")


class EventsAccepted(BaseModel):
    lines: int
    accepted: int = Field(description="Lines stored now.")
    duplicates: int = Field(description="Lines stored before (a resend).")
    rejected: int = Field(description="Lines kept as dead letters.")
    problems: list[LineOut] = Field(description="Every line rejected or loaded without a field.")
    batch: BatchOut


class Problem(BaseModel):
    detail: str


class AlertLineOut(BaseModel):
    revision: int
    score: float
    severity: Severity
    detected_at: dt.datetime
    first_seen: dt.datetime
    last_seen: dt.datetime
    summary: str
    detectors: list[str]
    reasons: list[str]
    event_ids: list[str]
    customer_ids: list[str]


class AlertOut(BaseModel):
    alert_id: str
    employee: str = Field(description="The employee's pseudonym.")
    state: str = Field(description="Where triage stands.")
    score: float
    severity: Severity
    opened_at: dt.datetime
    detected_at: dt.datetime
    summary: str
    history: list[AlertLineOut] = Field(description="Every line, oldest first.")


class TimelineEntryOut(BaseModel):
    event_id: str
    time: dt.datetime
    action: str
    customer_ids: list[str]
    fields: list[str]
    record_count: int | None
    app: str | None
    case_id: str | None
    destination: str | None
    open_cases: list[str]
    explanation: str | None = Field(
        None, description="The reason detection gave it; null: nothing (or not judged yet)."
    )
    explanation_meaning: str | None = Field(None, description=MEANING_DOC)


class TimelineOut(BaseModel):
    employee: str
    entries: list[TimelineEntryOut]


class Health(BaseModel):
    status: Literal["ok", "degraded", "stopping", "stopped"]
    writer_alive: bool
    queued: int
    unpublished_alert_lines: int | None = Field(
        description="Alert lines no sink has confirmed yet (null while the service stops)."
    )
    stop_problem: str | None = Field(
        None, description="Why the last stop could not close the store (null: it did)."
    )


class UnmaskIn(BaseModel):
    pseudonym: str = Field(
        pattern=r"^anon-[a-z2-7]{8}$", description="The staff pseudonym (never an employee id)."
    )
    reason: str = Field(
        min_length=1,
        max_length=2000,
        pattern=r"\S",
        description="Why the requester needs to know (required, not blank).",
    )


class DecisionIn(BaseModel):
    why: str = Field("", max_length=2000, description="Why; required to reject.")
    hours: float | None = Field(
        None, gt=0, le=24 * 366, description="Approve: how long it holds (default: unmask_hours)."
    )


class UnmaskOut(BaseModel):
    request_id: int
    requester: str
    pseudonym: str
    reason: str
    state: Literal["requested", "approved", "rejected", "expired", "revoked"]
    requested_at: dt.datetime
    approver: str | None
    decided_at: dt.datetime | None
    decision_why: str
    expires_at: dt.datetime | None
    revoked_by: str | None
    revoked_at: dt.datetime | None


class IdentityOut(BaseModel):
    pseudonym: str
    unmasked: bool = Field(description="True only under an approved, unexpired unmasking.")
    employee_id: str | None = Field(description="Only when unmasked.")
    display_name: str | None = Field(description="Only when unmasked.")
    grant: int | None = Field(description="The unmask request that allows it.")
    expires_at: dt.datetime | None = Field(description="When it is masked again.")


class AuditEntryOut(BaseModel):
    seq: int
    at: dt.datetime
    actor: str
    action: str
    subject_kind: str
    subject_id: str = Field(description="Staff appear as their pseudonym.")
    why: str
    detail: dict
    hash: str
