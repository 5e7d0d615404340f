"""Ingest a dataset folder (files in the contract format) through the one pipeline.

Progress is reported through callbacks so the library stays free of terminal code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from insiderwatch.contract import TABLES
from insiderwatch.errors import InsiderwatchError, UnreadableFileError
from insiderwatch.ingest.pipeline import Hooks, load
from insiderwatch.privacy import HashKey
from insiderwatch.sources import DatasetFile, discover, reader_for
from insiderwatch.sources.follow import MAX_LINE_BYTES
from insiderwatch.sources.readers import LINE, ROW
from insiderwatch.store import Store
from insiderwatch.store.loader import LoadCounts

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
    hooks = Hooks(progress=(lambda: progress(file, reader.bytes_done)) if progress else None)
    loaded = load(
        store,
        file.table,
        str(file.path.resolve()),
        file.format,
        key,
        reader.batches(),
        phone_region=phone_region,
        where=str(file.path),
        hooks=hooks,
    )
    result.batch_id, result.counts, result.error = loaded.batch_id, loaded.counts, loaded.error
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
