"""Ingest use cases: records in memory, dataset folders, log files, dead-letter replay.

Each one hashes with the deployment's key (created on first use), goes through the one
ingest pipeline and then seals the evidence log over what it stored, and returns a
contract record of what happened.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

from insiderwatch.app.deployment import Deployment
from insiderwatch.app.keys import ingest_key
from insiderwatch.contract.runs import (
    BatchReport,
    DatasetReport,
    EvidenceNote,
    FileReport,
    LineResult,
    LogFileReport,
    LogReport,
    ReplayLine,
    ReplayReport,
    Totals,
)
from insiderwatch.errors import InsiderwatchError
from insiderwatch.ingest import IngestReport, SourceReport, ingest_dataset, ingest_logs, log_files
from insiderwatch.ingest.records import Line, batch_name, ingest_batch
from insiderwatch.report.evidence.sth import seal_log
from insiderwatch.sources import DatasetFile
from insiderwatch.sources.kinds import source_for
from insiderwatch.store import Store
from insiderwatch.store.loader import LoadCounts
from insiderwatch.store.rejects import replay

DATASET = "dataset"  # the source kind of contract files; every other kind reads logs


def seal(store: Store, deployment: Deployment) -> EvidenceNote:
    """Log the batches stored since the last seal and sign the new head (when a signing
    key exists)."""
    sealed = seal_log(store, deployment.settings.evidence_key_path)
    return EvidenceNote(
        leaves=sealed.append.leaves,
        tree_size=sealed.append.tree_size,
        signed=sealed.head is not None,
        warning=sealed.warning,
    )


def _totals(counts: LoadCounts) -> Totals:
    return Totals(**counts.as_dict())


def ingest_records(
    deployment: Deployment,
    table: str,
    lines: Iterable[Line],
    *,
    source: str,
    batch: str | None = None,
    store: Store | None = None,
    sealed: bool = True,
) -> BatchReport:
    """Load records of contract ``table`` (JSON texts or dicts) sent by ``source``.

    Dead letters name them ``source/batch:line``; ``batch`` defaults to a hash of the
    content, so a redelivered batch is recognised as the same batch. Re-sent records
    come back as duplicates, never counted twice. ``sealed=False`` leaves sealing the
    evidence log to the caller (a collector may seal once per second, not per batch).
    """
    lines = list(lines)
    origin = f"{source}/{batch or batch_name(lines)}"
    key = ingest_key(deployment.settings)
    with deployment.using(store) as s:
        s.bind_key(key)
        result = ingest_batch(
            s,
            table,
            lines,
            key,
            origin=origin,
            phone_region=deployment.phone_region,
            max_line_bytes=deployment.settings.max_line_bytes,
        )
        evidence = seal(s, deployment) if sealed and not result.error else None
    return BatchReport(
        table=table,
        source=origin,
        batch_id=result.batch_id,
        totals=_totals(result.counts),
        reasons=dict(result.counts.reasons),
        lines=[LineResult(line=n, status=st, reasons=why) for n, st, why in result.lines],
        error=result.error,
        evidence=evidence,
    )


def ingest_paths(
    deployment: Deployment,
    paths: list[Path],
    *,
    source: str = DATASET,
    mapping: Path | None = None,
    from_start: bool = False,
    progress: Callable[[Path, int], None] | None = None,
    on_file_start: Callable[[Path, str, int], None] | None = None,
) -> DatasetReport | LogReport:
    """Load a dataset folder (``source="dataset"``) or log files through a source kind.

    ``on_file_start(path, table_or_kind, size)`` and ``progress(path, bytes_done)`` let
    a caller draw progress; mistakes in the arguments fail before the store is opened,
    so they leave no empty store behind.
    """
    if source == DATASET:
        return _ingest_dataset(deployment, paths, progress, on_file_start)
    return _ingest_logs(deployment, source, paths, mapping, from_start, progress, on_file_start)


def _ingest_dataset(deployment, paths, progress, on_file_start) -> DatasetReport:
    if len(paths) != 1:
        raise InsiderwatchError("a dataset is one folder or file; several paths need --source")
    dataset = paths[0]
    if not dataset.exists():
        raise InsiderwatchError(f"dataset not found: {dataset}")
    began = time.perf_counter()
    key = ingest_key(deployment.settings)
    settings = deployment.settings
    with deployment.open_store() as store:
        report = ingest_dataset(
            store,
            dataset,
            key,
            phone_region=deployment.phone_region,
            batch_rows=settings.batch_rows,
            max_line_bytes=settings.max_line_bytes,
            progress=(lambda f, done: progress(f.path, done)) if progress else None,
            on_file_start=_file_start(on_file_start),
        )
        evidence = seal(store, deployment)
    return _dataset_report(report, time.perf_counter() - began, store.aborted, evidence)


def _file_start(callback) -> Callable[[DatasetFile], None] | None:
    if callback is None:
        return None
    return lambda f: callback(f.path, f.table, f.size)


def _dataset_report(report: IngestReport, seconds, aborted, evidence) -> DatasetReport:
    totals = report.totals
    return DatasetReport(
        dataset=str(report.root),
        seconds=seconds,
        totals=_totals(totals),
        reasons=dict(totals.reasons),
        files=[
            FileReport(
                path=str(r.file.path),
                table=r.file.table,
                format=r.file.format,
                batch_id=r.batch_id,
                error=r.error,
                unknown_columns=r.unknown_columns,
                **r.counts.as_dict(),
            )
            for r in report.files
        ],
        ignored=[str(p) for p in report.ignored],
        interrupted=list(aborted),
        evidence=evidence,
    )


def _ingest_logs(deployment, kind, paths, mapping, from_start, progress, on_file_start):
    began = time.perf_counter()
    options = deployment.source_options(mapping)
    source_for(kind, options)  # an unknown kind or a bad mapping fails here
    log_files(paths)  # and so does a path that is not there
    key = ingest_key(deployment.settings)
    with deployment.open_store() as store:
        report = ingest_logs(
            store,
            kind,
            paths,
            key,
            options,
            phone_region=deployment.phone_region,
            from_start=from_start,
            progress=progress,
            on_file_start=(lambda p: on_file_start(p, kind, p.stat().st_size))
            if on_file_start
            else None,
        )
        evidence = seal(store, deployment)
    return _log_report(report, time.perf_counter() - began, store.aborted, evidence)


def _log_report(report: SourceReport, seconds, aborted, evidence) -> LogReport:
    totals = report.totals
    return LogReport(
        source=report.kind,
        seconds=seconds,
        totals=_totals(totals),
        reasons=dict(totals.reasons),
        unmapped_identities=dict(report.unmapped),
        files=[
            LogFileReport(
                path=str(r.path),
                table=r.table,
                from_line=r.start_line + 1,
                restarted=r.restarted,
                batch_id=r.batch_id,
                error=r.error,
                skipped=dict(r.skipped),
                **r.counts.as_dict(),
            )
            for r in report.files
        ],
        interrupted=list(aborted),
        evidence=evidence,
    )


def replay_rejects(deployment: Deployment, *, store: Store | None = None) -> ReplayReport:
    """Validate the open dead letters again (after a roster fix, say)."""
    key = ingest_key(deployment.settings)
    with deployment.using(store, create=False) as s:
        s.bind_key(key)
        results = replay(s, key, phone_region=deployment.phone_region)
        evidence = seal(s, deployment)
    return ReplayReport(
        results=[
            ReplayLine(table=r.table, source=r.source, letters=r.letters, **r.counts.as_dict())
            for r in results
        ],
        evidence=evidence,
    )


def failed(report: DatasetReport | LogReport) -> bool:
    """A file could not be read or loaded."""
    return any(f.error for f in report.files)
