"""Ingest logs through a source kind: log -> contract batches -> the one pipeline.

Each file is read from where the previous run stopped (``source_offsets``), so running
the same command on a growing log loads only what is new; event ids are derived from the
log itself, so even a re-read from the top never double counts. Identities without a
mapping are registered on the roster as ``unmapped`` before their events load, so their
events are kept, not rejected.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.compute as pc

from insiderwatch.errors import InsiderwatchError, UnreadableFileError
from insiderwatch.ingest.dataset import PerFileReport
from insiderwatch.ingest.pipeline import Hooks, load
from insiderwatch.ingest.roster import register_unmapped
from insiderwatch.privacy import HashKey
from insiderwatch.sources.follow import START, Position, file_identity, position_check
from insiderwatch.sources.kinds import LogSource, SourceOptions, source_for
from insiderwatch.sources.readers import RawBatch
from insiderwatch.sources.rows import STATEMENT
from insiderwatch.store import Store
from insiderwatch.store.loader import LoadCounts

Progress = Callable[[Path, int], None]  # (file, bytes of it done so far)


@dataclass
class SourceFileResult:
    path: Path
    kind: str
    table: str
    counts: LoadCounts = field(default_factory=LoadCounts)
    skipped: Counter = field(default_factory=Counter)
    start_line: int = 0  # lines already read by earlier runs
    restarted: bool = False  # a saved position was refused: the file changed under it
    batch_id: int | None = None
    error: str | None = None


@dataclass
class SourceReport(PerFileReport):
    kind: str
    files: list[SourceFileResult] = field(default_factory=list)
    unmapped: Counter = field(default_factory=Counter)  # made-up identity -> events


def log_files(paths: list[Path]) -> list[Path]:
    """The files named, folders expanded (hidden files skipped), in name order."""
    found: list[Path] = []
    for path in paths:
        if not path.exists():
            raise UnreadableFileError(f"not found: {path}")
        if path.is_dir():
            found.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file() and not any(s.startswith(".") for s in p.parts)
                )
            )
        else:
            found.append(path)
    return found


def saved_position(store: Store, source: str, path: Path) -> tuple[Position, bool]:
    """Where the last run stopped in ``path``, and whether a saved position was refused
    because the file is no longer the one it was taken in (rotated, truncated, replaced).

    A file with no valid position of its own may be one read before under another name
    (``app.log`` renamed to ``app.log.1`` by rotation): a position saved for any path
    whose first line and the bytes before the offset match is taken over, so the rest of
    a rotated file is read, not the whole of it again."""
    identity = file_identity(path)
    rows = store.con.execute(
        "SELECT source, identity, byte_offset, line, position_check FROM source_offsets "
        "WHERE source = ? OR (identity = ? AND identity <> '' AND position_check IS NOT NULL) "
        "ORDER BY byte_offset DESC",
        [source, identity],
    ).fetchall()
    own = [r for r in rows if r[0] == source]
    for _, saved, offset, line, check in own:
        # A position saved before checks existed (NULL) is trusted as it was then.
        if saved == identity and (check is None or check == position_check(path, int(offset))):
            return Position(int(offset), int(line)), False
    for other, _, offset, line, check in rows:
        if other != source and check == position_check(path, int(offset)):
            return Position(int(offset), int(line)), False
    return START, bool(own)


def _save_position(store: Store, source: str, kind: str, identity: str, at: Position) -> None:
    check = position_check(Path(source), at.offset)
    store.con.execute(
        "INSERT OR REPLACE INTO source_offsets "
        "(source, kind, identity, byte_offset, line, updated_at, position_check) "
        "VALUES (?, ?, ?, ?, ?, now(), ?)",
        [source, kind, identity, at.offset, at.line, check],
    )


def _save_statements(store: Store, source: LogSource, raw: RawBatch) -> None:
    if source.fingerprints:
        store.con.executemany(
            "INSERT OR IGNORE INTO statement_fingerprints VALUES (?, ?, ?)",
            [[f, source.kind, text] for f, text in source.fingerprints.items()],
        )
        source.fingerprints.clear()
    if raw.data is not None and STATEMENT in raw.data.column_names:
        pairs = raw.data.select(["event_id", STATEMENT]).filter(pc.is_valid(raw.data[STATEMENT]))
        store.con.register("_statements", pairs)
        try:
            store.con.execute(
                f"INSERT INTO event_statements SELECT DISTINCT event_id, {STATEMENT} "
                "FROM _statements WHERE event_id IS NOT NULL "
                "AND event_id NOT IN (SELECT event_id FROM event_statements)"
            )
        finally:
            store.con.unregister("_statements")


def ingest_log_file(
    store: Store,
    kind: str,
    path: Path,
    key: HashKey,
    options: SourceOptions,
    *,
    phone_region: str = "GB",
    from_start: bool = False,
    progress: Progress | None = None,
) -> SourceFileResult:
    source = source_for(kind, options)
    if not isinstance(source, LogSource):
        raise InsiderwatchError(f"source {kind!r} does not read log files")
    origin = str(path.resolve())
    table = source.table or "access"
    result = SourceFileResult(path=path, kind=kind, table=table)
    start, result.restarted = (START, False) if from_start else saved_position(store, origin, path)
    result.start_line = start.line

    def before(raw: RawBatch) -> None:
        if table in ("access", "cases"):  # both must name a known employee
            register_unmapped(store, key, source, raw, origin)

    def after(raw: RawBatch) -> None:
        _save_statements(store, source, raw)
        _save_position(store, origin, kind, source.identity, source.position)

    def finish() -> None:
        # Lines after the last event (server messages, internal statements) are done too.
        _save_position(store, origin, kind, source.identity, source.position)
        if progress:
            progress(path, path.stat().st_size)

    hooks = Hooks(
        before=before,
        after=after,
        progress=(lambda: progress(path, source.bytes_done)) if progress else None,
        finish=finish,
    )
    loaded = load(
        store,
        table,
        origin,
        kind,
        key,
        source.batches(path, start),
        phone_region=phone_region,
        where=str(path),
        hooks=hooks,
    )
    result.batch_id, result.counts, result.error = loaded.batch_id, loaded.counts, loaded.error
    result.skipped = source.skipped
    return result


def ingest_logs(
    store: Store,
    kind: str,
    paths: list[Path],
    key: HashKey,
    options: SourceOptions,
    *,
    phone_region: str = "GB",
    from_start: bool = False,
    progress: Progress | None = None,
    on_file_start: Callable[[Path], None] | None = None,
) -> SourceReport:
    """Load every file of ``paths`` (folders expanded) through source ``kind``."""
    store.bind_key(key)
    report = SourceReport(kind=kind)
    for path in log_files(paths):
        if on_file_start:
            on_file_start(path)
        report.files.append(
            ingest_log_file(
                store,
                kind,
                path,
                key,
                options,
                phone_region=phone_region,
                from_start=from_start,
                progress=progress,
            )
        )
    report.unmapped = options.identities.unmapped
    return report
