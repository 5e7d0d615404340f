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
from insiderwatch.sources.follow import START, LineReader, Position, file_identity
from insiderwatch.sources.identity import IdentityMap
from insiderwatch.sources.readers import RawBatch
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
        with LineReader(path, start) as reader:
            self._reader = reader
            self.position = start
            yield from self.read(reader)

    def read(self, reader: LineReader) -> Iterator[RawBatch]:
        raise NotImplementedError

    def event_id(self, *parts: object) -> str:
        """Deterministic id: the same log record always gets the same id."""
        text = "|".join(str(p) for p in (self.kind, *parts))
        return f"{self.kind}-{hashlib.sha256(text.encode()).hexdigest()[:24]}"


class DatasetSource(Source):
    """A folder (or file) already in the contract format: the default of ``ingest``."""

    kind = "dataset"
    description = "Dataset folder in the contract format (CSV, JSON Lines, Parquet)."
    table = None


SOURCES: Registry[type[Source]] = Registry("sources")


def source_for(kind: str, options: SourceOptions | None = None) -> Source:
    return SOURCES.get(kind)(options)
