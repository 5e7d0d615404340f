"""Merge small event segments, so a long-running collector does not leave thousands of
tiny Parquet files for every scan to open.

Each HTTP batch (or NATS fetch) writes one segment; compaction rewrites runs of small
ones as a single segment sorted by time, in one transaction: the new file enters the
catalog and the old ones leave it together, so a reader sees either the old files or the
new one, never both (no event counted twice) and never neither. The old files are
deleted later, by the caller, once no query that started before the switch can still be
reading them; a crash in between leaves unlisted files that the next open of the store
removes.

Which segments may merge: only those of batches detection has already read (the engine
finds late events by batch id, ``detect_last_batch``), and never a batch the evidence
log has sealed together with one it has not (the log appends events by batch id; see
``report/evidence/log.py``). The merged segment takes the largest batch id of its group.

Segments merge by size tier, as in a size-tiered LSM tree: only segments within the same
power of ``min_segments`` rows merge together, so ``min_segments`` merged batches make
one segment of the next tier instead of joining the last merged segment again (which
rewrote every event once per merge until the segment stopped being small: quadratic).
An event is rewritten about once per tier, and a merge holds at most ``max_rows`` rows
in memory.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from insiderwatch.failpoints import kill_point
from insiderwatch.store.duckdb_store import Store, write_segment


@dataclass
class Compaction:
    merged: int = 0  # segments replaced
    written: int = 0  # segments written
    rows: int = 0
    retired: list[Path] = field(default_factory=list)  # old files, to delete later
    waiting: int = 0  # small segments detection has not read yet (never merged)
    pending: int = 0  # merges left for another call (max_merges)


@dataclass(frozen=True)
class _Segment:
    path: str
    batch_id: int
    rows: int


def tier(rows: int, base: int) -> int:
    """The size class of a segment: how many times ``base`` goes into its rows (0 below
    ``base`` rows, 1 below ``base**2`` ...)."""
    level, bound = 0, max(base, 2)
    while rows >= bound:
        level, bound = level + 1, bound * max(base, 2)
    return level


def _candidates(
    store: Store, table: str, small_rows: int, min_segments: int
) -> list[list[_Segment]]:
    """Small segments that may merge, by (sealed, tier), oldest batch first."""
    last = int(store.meta("detect_last_batch") or 0)
    sealed = (
        "batch_id IN (SELECT batch_id FROM evidence_batches)"
        if store.has_table("evidence_batches")
        else "false"
    )
    rows = store.con.execute(
        f"""SELECT path, batch_id, rows, {sealed} AS sealed FROM event_segments
            WHERE table_name = ? AND rows < ? AND batch_id <= ?
            ORDER BY batch_id, path""",
        [table, small_rows, last],
    ).fetchall()
    kinds: dict[tuple[bool, int], list[_Segment]] = {}
    for path, batch_id, n, is_sealed in rows:
        kinds.setdefault((bool(is_sealed), tier(n, min_segments)), []).append(
            _Segment(path, batch_id, n)
        )
    return list(kinds.values())


def _groups(segments: list[_Segment], min_segments: int, max_rows: int) -> list[list[_Segment]]:
    """Runs of at most ``max_rows`` rows; a run merges when it has ``min_segments``
    segments, or when it is full (the next segment did not fit) and has two or more."""
    groups: list[list[_Segment]] = []
    run: list[_Segment] = []
    rows = 0
    for seg in segments:
        if run and rows + seg.rows > max_rows:
            if len(run) >= 2:
                groups.append(run)
            run, rows = [], 0
        run.append(seg)
        rows += seg.rows
    if len(run) >= min_segments:
        groups.append(run)
    return groups


def waiting_segments(store: Store, table: str, small_rows: int) -> int:
    """Small segments of batches detection has not read (compaction leaves them alone)."""
    last = int(store.meta("detect_last_batch") or 0)
    return int(
        store.scalar(
            "SELECT count(*) FROM event_segments WHERE table_name = ? AND rows < ? "
            "AND batch_id > ?",
            [table, small_rows, last],
        )
    )


def compact_segments(
    store: Store,
    *,
    table: str = "access",
    small_rows: int = 100_000,
    max_rows: int = 500_000,
    min_segments: int = 16,
    max_merges: int | None = None,
) -> Compaction:
    """Merge the small segments of ``table`` (fewer than ``small_rows`` rows) of one size
    tier, ``min_segments`` or more at a time, into segments of at most ``max_rows``; at
    most ``max_merges`` merges (all when None), oldest batches first."""
    result = Compaction(waiting=waiting_segments(store, table, small_rows))
    groups = [
        group
        for kind in _candidates(store, table, small_rows, min_segments)
        for group in _groups(kind, min_segments, max_rows)
    ]
    groups.sort(key=lambda g: g[0].batch_id)
    for group in groups[:max_merges]:
        _merge(store, table, group, result)
    result.pending = len(groups) - result.written
    return result


def _merge(store: Store, table: str, group: list[_Segment], result: Compaction) -> None:
    base = store.path.parent
    files = [base / s.path for s in group]
    batch_id = max(s.batch_id for s in group)
    listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
    data = store.con.sql(f"SELECT * FROM read_parquet([{listed}]) ORDER BY time").to_arrow_table()
    folder = store.segments_dir / table
    # The batch-* prefix is what the store's recovery looks for when it removes files a
    # crashed transaction left unlisted.
    final = folder / f"batch-{batch_id:06d}-compact-{uuid.uuid4().hex[:12]}.parquet"
    partial = final.with_suffix(".parquet.partial")
    write_segment(data, partial, compression="zstd", compression_level=3)
    os.replace(partial, final)
    kill_point("compact.written")
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "DELETE FROM event_segments WHERE list_contains(?, path)", [[s.path for s in group]]
        )
        con.execute(
            """INSERT INTO event_segments
                 (path, table_name, batch_id, rows, bytes, min_time, max_time)
               SELECT ?, ?, ?, count(*), ?, min(time), max(time) FROM read_parquet(?)""",
            [str(final.relative_to(base)), table, batch_id, final.stat().st_size, str(final)],
        )
        # The view switches to the new file in the same transaction as the catalog.
        store.refresh_views()
        kill_point("compact.before_commit")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        store.refresh_views()
        final.unlink(missing_ok=True)
        raise
    result.merged += len(group)
    result.written += 1
    result.rows += data.num_rows
    result.retired += files
