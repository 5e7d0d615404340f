"""Typed records of an investigation case as the console works it: its alerts, notes,
attached evidence and workflow, beside the containment actions its alerts asked for."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from insiderwatch.contract.workflow import CaseFile, CloseReason, Transition, TriagedAlert

UtcTime = Annotated[dt.datetime, msgspec.Meta(tz=True)]


class CaseNote(msgspec.Struct, kw_only=True, frozen=True):
    note_id: int
    case_id: int
    author: str
    at: UtcTime
    text: str


class CaseEvidence(msgspec.Struct, kw_only=True, frozen=True):
    """An access event attached to the case, from one of its alerts, and why."""

    case_id: int
    event_id: str
    alert_id: str
    added_by: str
    added_at: UtcTime
    why: str = ""


class CaseSummary(msgspec.Struct, kw_only=True, frozen=True):
    """A case as the case list shows it."""

    case: CaseFile
    assignee: str | None = None
    top_score: float | None = None
    employees: list[str] = []  # employee ids (shown as pseudonyms)


class CaseDossier(msgspec.Struct, kw_only=True, frozen=True):
    case: CaseFile
    assignee: str | None = None
    dismiss_reason: CloseReason | None = None  # the latest dismissal's, while dismissed
    alerts: list[TriagedAlert] = []
    notes: list[CaseNote] = []
    evidence: list[CaseEvidence] = []
    transitions: list[Transition] = []
