"""Records of what a use case did: ingest reports (per file, per log file, per line of an
in-memory batch) and detection summaries.

``app/`` returns them; the command line prints them (``--json`` is their encoding) and
the HTTP API answers with them, so both interfaces report the same thing.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from insiderwatch.contract.records import Alert, Count, _doc
from insiderwatch.contract.workflow import SyncReport

# What became of one line of an in-memory batch: stored (or a context row updated), already
# stored (or repeated within the batch), a dead letter, or a blank line (no record).
LineStatus = Literal["accepted", "duplicate", "rejected", "skipped"]


class Totals(msgspec.Struct, kw_only=True, frozen=True):
    """Every record read ends in exactly one of loaded, updated, duplicates, rejected."""

    rows_read: Count = 0
    loaded: Count = 0
    updated: Count = 0
    duplicates: Count = 0
    rejected: Count = 0
    fields_dropped: Annotated[Count, _doc("Loaded, but a personal-data field was dropped.")] = 0


class EvidenceNote(msgspec.Struct, kw_only=True, frozen=True):
    """What sealing the evidence log after an ingest did."""

    leaves: Annotated[Count, _doc("Events appended to the evidence log.")]
    tree_size: Count
    signed: Annotated[bool, _doc("False until a signing key exists (`evidence keygen`).")]
    warning: str | None = None


class LineResult(msgspec.Struct, kw_only=True, frozen=True):
    line: Annotated[int, msgspec.Meta(ge=1), _doc("1-based position in the batch.")]
    status: LineStatus
    reasons: Annotated[
        list[str], _doc("field:reason of a rejection, or of a personal-data field dropped.")
    ] = []


class BatchReport(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True):
    """An in-memory batch of contract records (an HTTP request, a NATS message)."""

    table: str
    source: Annotated[str, _doc("How dead letters name the batch: source/batch, then :line.")]
    batch_id: int
    totals: Totals
    reasons: dict[str, int]
    lines: list[LineResult]
    error: Annotated[str | None, _doc("The batch failed and nothing of it was stored.")] = None
    evidence: EvidenceNote | None = None


class FileReport(Totals, kw_only=True, frozen=True):
    """One file of a dataset folder, with its counters (:class:`Totals`)."""

    path: str
    table: str
    format: str
    batch_id: int | None
    error: str | None
    unknown_columns: list[str]


class DatasetReport(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True):
    dataset: str
    seconds: float
    totals: Totals
    reasons: dict[str, int]
    files: list[FileReport]
    ignored: Annotated[list[str], _doc("Files under the folder that are not contract files.")]
    interrupted: Annotated[
        list[int], _doc("Batches of an earlier, killed run found (and marked aborted).")
    ] = []
    evidence: EvidenceNote | None = None


class LogFileReport(Totals, kw_only=True, frozen=True):
    """One log file read through a source kind, with its counters (:class:`Totals`)."""

    path: str
    table: str
    from_line: Annotated[int, _doc("Where this run started reading (1 = the top).")]
    restarted: Annotated[bool, _doc("The file changed under its saved offset: read again.")]
    batch_id: int | None
    error: str | None
    skipped: Annotated[dict[str, int], _doc("Lines that are not events, by why.")]


class LogReport(msgspec.Struct, kw_only=True, frozen=True, omit_defaults=True):
    source: str
    seconds: float
    totals: Totals
    reasons: dict[str, int]
    unmapped_identities: Annotated[
        dict[str, int], _doc("Log identities kept as their own, with their events.")
    ]
    files: list[LogFileReport]
    interrupted: list[int] = []
    evidence: EvidenceNote | None = None


IngestReport = DatasetReport | LogReport


class DetectionSummary(msgspec.Struct, kw_only=True, frozen=True):
    """What one detection run (or live step) did."""

    first_day: dt.date | None
    last_day: dt.date | None
    steps: Count
    events: Count
    findings: Count
    alerts: Annotated[Count, _doc("Alerts in the whole history after the run.")]
    rewound: Annotated[str | None, _doc("Why the run went back before its watermark.")]
    seconds: float
    employees: Annotated[
        Count,
        _doc(
            "Employees whose day its last step evaluated: all active, or those new events touched."
        ),
    ] = 0
    explained: Annotated[
        Count,
        _doc("Access events it explained afresh (those earlier steps explained keep theirs)."),
    ] = 0


class DetectStep(msgspec.Struct, kw_only=True, frozen=True):
    summary: DetectionSummary
    new_lines: Annotated[
        list[Alert], _doc("Alert-history lines this step added or changed, in history order.")
    ]
    recorded: Annotated[
        SyncReport | None,
        _doc("Those lines recorded in the operational store for triage (None: no new lines)."),
    ] = None
    caught_up: Annotated[
        bool, _doc("False when the step stopped at its day limit and later events wait.")
    ] = True


class ExplainedShare(msgspec.Struct, kw_only=True, frozen=True):
    """Per role: data accesses (logins excluded) and how many a business reason explained."""

    role: str
    accesses: Count
    explained: Count
    by_reason: dict[str, int]
    meanings: Annotated[
        dict[str, str], _doc("What each reason of by_reason means, in a sentence.")
    ] = {}

    @property
    def share(self) -> float:
        return self.explained / self.accesses if self.accesses else 0.0


class DetectionReport(msgspec.Struct, kw_only=True, frozen=True):
    """A detection run with what a person looks at first."""

    summary: DetectionSummary
    explained: Annotated[list[ExplainedShare], _doc("Per role, largest first.")]
    top_alerts: Annotated[list[Alert], _doc("Alerts as they stand now, highest score first.")]
    recorded: Annotated[
        SyncReport | None,
        _doc("The alert history recorded in the operational store for triage."),
    ] = None


class Analysis(msgspec.Struct, kw_only=True, frozen=True):
    """A dataset ingested and detected in one go (``insiderwatch analyze``)."""

    ingest: DatasetReport
    detection: Annotated[
        DetectionReport | None, _doc("None when a file could not be read: nothing detected.")
    ]
    alerts_file: str | None


class ReplayLine(Totals, kw_only=True, frozen=True):
    """Dead letters of one table and source validated again, with their counters (:class:`Totals`)."""

    table: str
    source: str
    letters: Count


class ReplayReport(msgspec.Struct, kw_only=True, frozen=True):
    results: list[ReplayLine]
    evidence: EvidenceNote | None = None


class CompactionReport(msgspec.Struct, kw_only=True, frozen=True):
    """What merging small event segments into larger ones did (`insiderwatch store compact`)."""

    table: str
    segments_before: Count
    segments_after: Count
    merged: Annotated[Count, _doc("Small segments replaced.")]
    written: Annotated[Count, _doc("Segments written in their place.")]
    rows: Annotated[Count, _doc("Events rewritten (each still stored once).")]
    waiting: Annotated[
        Count,
        _doc("Small segments of batches detection has not read yet: they merge after it has."),
    ]
