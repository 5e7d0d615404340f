"""Ingest: every input (dataset files, log files, in-memory batches of records) goes
through one pipeline, validate -> dead letters -> store (:mod:`.pipeline`)."""

from insiderwatch.ingest.check import check_mapping
from insiderwatch.ingest.dataset import FileResult, IngestReport, ingest_dataset, ingest_file
from insiderwatch.ingest.logs import (
    SourceFileResult,
    SourceReport,
    ingest_log_file,
    ingest_logs,
    log_files,
    saved_position,
)
from insiderwatch.ingest.records import RecordsResult, ingest_batch
from insiderwatch.ingest.roster import unmapped_identities

__all__ = [
    "FileResult",
    "IngestReport",
    "RecordsResult",
    "SourceFileResult",
    "SourceReport",
    "check_mapping",
    "ingest_batch",
    "ingest_dataset",
    "ingest_file",
    "ingest_log_file",
    "ingest_logs",
    "log_files",
    "saved_position",
    "unmapped_identities",
]
