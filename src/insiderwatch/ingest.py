"""Ingest a dataset folder into the store: sources -> contract -> store.

The CLI and (later) the service call :func:`ingest_dataset`; progress is reported through
a callback so the library stays free of terminal code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from insiderwatch.contract import TABLES
from insiderwatch.errors import InsiderwatchError, UnreadableFileError
from insiderwatch.privacy import HashKey
from insiderwatch.sources import DatasetFile, discover, reader_for
from insiderwatch.sources.follow import MAX_LINE_BYTES
from insiderwatch.sources.readers import LINE, ROW
from insiderwatch.store import Store
from insiderwatch.store.loader import BatchLoader, LoadCounts

Progress = Callable[[DatasetFile, int], None]  # (file, bytes of it done so far)


@dataclass
class FileResult:
    file: DatasetFile
    counts: LoadCounts
    batch_id: int | None = None
    error: str | None = None
    unknown_columns: list[str] = field(default_factory=list)


class PerFileReport:
    """A report made of per-file results that each carry ``counts`` and ``error``."""

    files: list

    @property
    def totals(self) -> LoadCounts:
        total = LoadCounts()
        for result in self.files:
            total.add(result.counts)
        return total

    @property
    def errors(self) -> list:
        return [r for r in self.files if r.error]


@dataclass
class IngestReport(PerFileReport):
    root: Path
    files: list[FileResult] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)


def _check_columns(file: DatasetFile, columns: list[str] | None) -> list[str]:
    """Unknown columns (reported, ignored); a missing required column fails the file."""
    if columns is None:
        return []
    spec = TABLES[file.table]
    present = {c.lower() for c in columns}
    missing = [c for c in spec.required if c.lower() not in present]
    if missing:
        # Name only the contract's columns: a file without a header has data in its
        # first row, and that may be a customer's email.
        known = [c for c in columns if c.lower() in {n.lower() for n in spec.names}]
        others = len(columns) - len(known)
        raise UnreadableFileError(
            f"{file.path}: missing required column(s) {', '.join(missing)} for table "
            f"{file.table} (contract columns found: {', '.join(known) or 'none'}"
            f"{f'; {others} other column(s)' if others else ''}; is the header row missing?)"
        )
    known = {c.lower() for c in spec.names}
    return [c for c in columns if c.lower() not in known and c not in (ROW, LINE)]


def ingest_file(
    store: Store,
    file: DatasetFile,
    key: HashKey,
    *,
    phone_region: str = "GB",
    batch_rows: int = 500_000,
    max_line_bytes: int = MAX_LINE_BYTES,
    progress: Progress | None = None,
) -> FileResult:
    reader = reader_for(file, batch_rows, max_line_bytes)
    result = FileResult(file=file, counts=LoadCounts())
    try:
        result.unknown_columns = _check_columns(file, reader.columns())
    except InsiderwatchError as exc:
        result.error = str(exc)
        return result
    # The absolute path names the file in letters, so `data/x.csv` and `/abs/data/x.csv`
    # are one source.
    source = str(file.path.resolve())
    result.batch_id = store.new_batch(file.table, source, file.format)
    loader = BatchLoader(store, TABLES[file.table], source, result.batch_id, key, phone_region)
    status = "done"
    try:
        for raw in reader.batches():
            result.counts.add(loader.load_in_transaction(raw))
            if progress:
                progress(file, reader.bytes_done)
    except InsiderwatchError as exc:
        # Batches already loaded stay loaded: re-running the file skips them as duplicates.
        result.error, status = str(exc), "failed"
    except (duckdb.Error, pa.ArrowException) as exc:
        # An engine error is a bug or a value no check anticipated: the file is reported
        # as failed (not the whole run), with what the engine said.
        result.error, status = f"{file.path}: could not load: {exc}", "failed"
    store.finish_batch(result.batch_id, result.counts.as_dict(), status)
    return result


def ingest_dataset(
    store: Store,
    root: Path,
    key: HashKey,
    *,
    phone_region: str = "GB",
    batch_rows: int = 500_000,
    max_line_bytes: int = MAX_LINE_BYTES,
    progress: Progress | None = None,
    on_file_start: Callable[[DatasetFile], None] | None = None,
) -> IngestReport:
    """Load every contract file under ``root``; context tables first, then events."""
    dataset = discover(root)
    store.bind_key(key)
    report = IngestReport(root=root, ignored=dataset.ignored)
    for file in dataset.in_load_order():
        if on_file_start:
            on_file_start(file)
        report.files.append(
            ingest_file(
                store,
                file,
                key,
                phone_region=phone_region,
                batch_rows=batch_rows,
                max_line_bytes=max_line_bytes,
                progress=progress,
            )
        )
    return report
