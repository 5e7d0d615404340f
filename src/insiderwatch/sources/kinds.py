"""Source kinds: the plug-ins that turn a kind of log into contract records.

``insiderwatch ingest --source KIND PATH`` looks the kind up in :data:`SOURCES`
(entry-point group ``insiderwatch.sources``, where the built-ins are declared exactly as
an outside plug-in would be). A log source streams one file into contract-shaped
``RawBatch``es of one table, numbered by source line, and says after each batch how far
it got, so that the next run starts there. The store's loader then validates,
deduplicates and keeps the rejects, the same as for dataset files.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from insiderwatch.registry import Registry
from insiderwatch.settings import DEFAULT_INTERNAL_APPS
from insiderwatch.sources.follow import (
    MAX_LINE_BYTES,
    START,
    LineReader,
    Position,
    file_identity,
)
from insiderwatch.sources.identity import IdentityMap
from insiderwatch.sources.readers import RawBatch
from insiderwatch.sources.rows import RowBuffer
from insiderwatch.sources.sql_access import SqlMap


@dataclass
class SourceOptions:
    identities: IdentityMap = field(default_factory=IdentityMap)
    sql_map: SqlMap = field(default_factory=SqlMap)
    internal_apps: frozenset[str] = frozenset(DEFAULT_INTERNAL_APPS)
    mapping: Path | None = None  # for mapped sources
    log_line_prefix: str = "%m [%p] %q%u@%d "  # PostgreSQL stderr logs (Debian's default)
    mariadb_timestamp_format: str = "%Y%m%d %H:%i:%s"  # server_audit_timestamp_format
    batch_rows: int = 500_000  # records per batch (the setting batch_rows)
    max_line_bytes: int = MAX_LINE_BYTES  # longer lines are dead letters (max_line_bytes)


class Source:
    """Base of every source kind; ``kind`` is the registry name."""

    kind: ClassVar[str]
    description: ClassVar[str]
    table: str | None = "access"  # None: the source holds several tables (a dataset)

    def __init__(self, options: SourceOptions | None = None) -> None:
        self.options = options or SourceOptions()
        # Records read but not turned into events, by why (internal, not customer data...):
        # counted so that nothing read disappears without a trace.
        self.skipped: Counter[str] = Counter()
        self.fingerprints: dict[str, str] = {}  # statement fingerprint -> normalised text


class LogSource(Source):
    """A log read line by line from a remembered position."""

    def __init__(self, options: SourceOptions | None = None) -> None:
        super().__init__(options)
        self.position = START
        self._reader: LineReader | None = None
        self.identity = ""

    @property
    def identity_kind(self) -> str:
        """The prefix of identities without a mapping (``pgaudit:alice``)."""
        return self.kind

    @property
    def bytes_done(self) -> int:
        return self._reader.bytes_done if self._reader else 0

    def batches(self, path: Path, start: Position = START) -> Iterator[RawBatch]:
        self.identity = file_identity(path)
        with LineReader(path, start, self.options.max_line_bytes) as reader:
            self._reader = reader
            self.position = start
            seen: set[int] = set()
            for batch in self.read(reader):
                yield _with_rejected_lines(batch, reader, seen)
            if reader.rejected:  # rejected lines after the last record
                empty = RowBuffer(self.table or "access").flush()
                yield _with_rejected_lines(empty, reader, seen)

    def read(self, reader: LineReader) -> Iterator[RawBatch]:
        raise NotImplementedError

    def event_id(self, *parts: object) -> str:
        """Deterministic id: the same log record always gets the same id."""
        text = "|".join(str(p) for p in (self.kind, *parts))
        return f"{self.kind}-{hashlib.sha256(text.encode()).hexdigest()[:24]}"


def _with_rejected_lines(batch: RawBatch, reader: LineReader, seen: set[int]) -> RawBatch:
    """The batch plus the lines the reader rejected (too long, not UTF-8) so far: each
    becomes a dead letter with its line number, and the batch's count includes it. Such a
    line reaches the source kind as an empty line, which some kinds call malformed: that
    second letter for the same line is dropped (the reader reads ahead of the kind, so
    the reader's letter always comes first)."""
    rejected = reader.take_rejected()
    seen.update(r[0] for r in rejected)
    own = [m for m in batch.malformed if len(m) > 2 or m[0] not in seen]
    batch.rows += len(rejected) - (len(batch.malformed) - len(own))
    batch.malformed = [*own, *rejected]
    return batch


class DatasetSource(Source):
    """A folder (or file) already in the contract format: the default of ``ingest``."""

    kind = "dataset"
    description = "Dataset folder in the contract format (CSV, JSON Lines, Parquet)."
    table = None


SOURCES: Registry[type[Source]] = Registry("sources")


def source_for(kind: str, options: SourceOptions | None = None) -> Source:
    return SOURCES.get(kind)(options)
