"""Ingest logs through a source kind: log -> contract batches -> the store's loader.

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
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insiderwatch.contract import TABLES
from insiderwatch.errors import InsiderwatchError, UnreadableFileError
from insiderwatch.ingest import PerFileReport
from insiderwatch.privacy import HashKey
from insiderwatch.settings import Settings
from insiderwatch.sources.follow import (
    MAX_LINE_BYTES,
    START,
    LineReader,
    Position,
    file_identity,
    position_check,
)
from insiderwatch.sources.identity import UNMAPPED_ROLE, IdentityMap
from insiderwatch.sources.kinds import LogSource, SourceOptions, source_for
from insiderwatch.sources.mapped import MappedSource
from insiderwatch.sources.readers import ROW, RawBatch
from insiderwatch.sources.rows import STATEMENT
from insiderwatch.sources.sql_access import SqlMap
from insiderwatch.store import Store
from insiderwatch.store.loader import BatchLoader, LoadCounts
from insiderwatch.store.validate import TEXT, staged_select

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


def source_options(settings: Settings, mapping: Path | None = None) -> SourceOptions:
    """Source options from the settings (identity map, SQL map, internal apps ...)."""
    path = lambda name: Path(settings[name]) if settings[name] else None  # noqa: E731
    return SourceOptions(
        identities=IdentityMap.from_csv(path("identity_map")),
        sql_map=SqlMap.load(path("sql_map")),
        internal_apps=frozenset(
            a.strip() for a in str(settings.internal_apps).split(",") if a.strip()
        ),
        mapping=mapping,
        log_line_prefix=settings.pg_log_line_prefix,
        mariadb_timestamp_format=settings.mariadb_timestamp_format,
        batch_rows=settings.batch_rows or 500_000,
        max_line_bytes=settings.max_line_bytes or MAX_LINE_BYTES,
    )


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


def _register_unmapped(
    store: Store, key: HashKey, source: LogSource, raw: RawBatch, origin: str
) -> None:
    """Put identities without a mapping on the roster, so their events load."""
    made_up = source.options.identities.first_seen
    kind = source.identity_kind
    if raw.data is None or not made_up or "employee_id" not in raw.data.column_names:
        return
    ids = {e for e in raw.data["employee_id"].to_pylist() if e in made_up}
    known = {
        r[0]
        for r in store.con.execute(
            "SELECT employee_id FROM employees WHERE list_contains(?, employee_id)", [list(ids)]
        ).fetchall()
    }
    new = sorted(ids - known)
    if not new:
        return
    hired = [_first_day(made_up[e]) for e in new]
    batch = RawBatch(
        layout="columns",
        data=pa.table(
            {
                "employee_id": new,
                "display_name": [e.split(":", 1)[-1] for e in new],
                "role": [UNMAPPED_ROLE] * len(new),
                "team": [kind] * len(new),
                "hired_on": hired,
                ROW: pa.array(np.arange(1, len(new) + 1, dtype=np.int64)),
            }
        ),
        rows=len(new),
    )
    batch_id = store.new_batch("employees", origin, f"{kind}:unmapped")
    loader = BatchLoader(store, TABLES["employees"], origin, batch_id, key)
    counts = loader.load_in_transaction(batch)
    store.finish_batch(batch_id, counts.as_dict())


def _first_day(time: str) -> str:
    try:
        return (
            datetime.fromisoformat(time.replace("Z", "+00:00")).astimezone(UTC).date().isoformat()
        )
    except ValueError:
        return date.today().isoformat()


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
    result.batch_id = store.new_batch(table, origin, kind)
    loader = BatchLoader(store, TABLES[table], origin, result.batch_id, key, phone_region)
    status = "done"
    try:
        for raw in source.batches(path, start):
            if table in ("access", "cases"):  # both must name a known employee
                _register_unmapped(store, key, source, raw, origin)
            result.counts.add(loader.load_in_transaction(raw))
            _save_statements(store, source, raw)
            _save_position(store, origin, kind, source.identity, source.position)
            if progress:
                progress(path, source.bytes_done)
        # Lines after the last event (server messages, internal statements) are done too.
        _save_position(store, origin, kind, source.identity, source.position)
        if progress:
            progress(path, path.stat().st_size)
    except InsiderwatchError as exc:
        result.error, status = str(exc), "failed"
    except (duckdb.Error, pa.ArrowException) as exc:
        result.error, status = f"{path}: could not load: {exc}", "failed"
    result.skipped = source.skipped
    store.finish_batch(result.batch_id, result.counts.as_dict(), status)
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


def check_mapping(mapping: Path, sample: Path, limit: int = 20) -> dict:
    """Map the first ``limit`` records of ``sample``: the records as mapped, per column
    what could not be mapped, and the contract's problems (without roster checks)."""
    source = MappedSource(SourceOptions(mapping=mapping, batch_rows=limit))
    with LineReader(sample) as reader:
        source.identity = file_identity(sample)
        chunk = next(source.chunks(reader), None)
    if chunk is None:
        return {"records": [], "fields": {}, "malformed": [], "problems": {}}
    table, malformed = chunk
    table = table.slice(0, limit)  # a JSON chunk is a whole block of lines
    fields = source.diagnose(table)
    batch = source.map_batch(table, malformed)
    con = duckdb.connect()
    con.register("_mapped", batch.data)
    spec = TABLES[source.table or "access"]
    types = {name: TEXT for name in batch.data.column_names if name != ROW}
    staged = con.sql(staged_select(spec, "_mapped", types)).to_arrow_table()
    problems = Counter(p for row in staged["_problems"].to_pylist() for p in row)
    records = batch.data.drop_columns([ROW]).to_pylist()
    return {
        "records": records,
        "fields": fields,
        "malformed": batch.malformed,
        "problems": dict(problems),
    }


def unmapped_identities(store: Store) -> list[dict]:
    """Identities kept without a mapping, with their events: who to add to the map."""
    rows = store.con.execute(
        f"""
        SELECT e.employee_id, e.team AS source, e.hired_on AS first_seen, count(a.event_id) AS events
        FROM employees e LEFT JOIN access a ON a.employee_id = e.employee_id
        WHERE e.role = '{UNMAPPED_ROLE}'
        GROUP BY ALL ORDER BY events DESC, e.employee_id
        """
    ).fetchall()
    return [{"identity": i, "source": s, "first_seen": str(f), "events": n} for i, s, f, n in rows]
