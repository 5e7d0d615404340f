"""Merge small event segments into one, so a long-running collector does not leave
thousands of tiny Parquet files for every scan to open.

Each HTTP batch writes one segment; compaction rewrites runs of small ones as a single
segment sorted by time, in one transaction: the new file enters the catalog and the old
ones leave it together, so a reader sees either the old files or the new one, never
both (no event counted twice) and never neither. The old files are deleted later, by the
caller, once no query that started before the switch can still be reading them; a crash
in between leaves unlisted files that the next open of the store removes.

Which segments may merge: only those of batches detection has already read (the engine
finds late events by batch id, ``detect_last_batch``), and never a batch the evidence
log has sealed together with one it has not (the log appends events by batch id; see
``report/evidence/log.py``). The merged segment takes the largest batch id of its group.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq

from insiderwatch.store.duckdb_store import Store


@dataclass
class Compaction:
    merged: int = 0  # segments replaced
    written: int = 0  # segments written
    rows: int = 0
    retired: list[Path] = field(default_factory=list)  # old files, to delete later


def _candidates(store: Store, table: str, small_rows: int) -> list[list[tuple[str, int]]]:
    """Groups of small segments that may merge: (path, batch_id), oldest first."""
    last = int(store.meta("detect_last_batch") or 0)
    sealed = (
        "batch_id IN (SELECT batch_id FROM evidence_batches)"
        if store.has_table("evidence_batches")
        else "false"
    )
    rows = store.con.execute(
        f"""SELECT path, batch_id, {sealed} AS sealed FROM event_segments
            WHERE table_name = ? AND rows < ? AND batch_id <= ?
            ORDER BY batch_id, path""",
        [table, small_rows, last],
    ).fetchall()
    groups: dict[bool, list[tuple[str, int]]] = {}
    for path, batch_id, is_sealed in rows:
        groups.setdefault(bool(is_sealed), []).append((path, batch_id))
    return [g for g in groups.values() if len(g) > 1]


def compact_segments(
    store: Store, *, table: str = "access", small_rows: int = 100_000, min_segments: int = 16
) -> Compaction:
    """Merge the small segments of ``table`` when at least ``min_segments`` of them may."""
    result = Compaction()
    for group in _candidates(store, table, small_rows):
        if len(group) < min_segments:
            continue
        _merge(store, table, group, result)
    return result


def _merge(store: Store, table: str, group: list[tuple[str, int]], result: Compaction) -> None:
    base = store.path.parent
    files = [base / p for p, _ in group]
    batch_id = max(b for _, b in group)
    listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
    data = store.con.sql(f"SELECT * FROM read_parquet([{listed}]) ORDER BY time").to_arrow_table()
    folder = store.segments_dir / table
    # The batch-* prefix is what the store's recovery looks for when it removes files a
    # crashed transaction left unlisted.
    final = folder / f"batch-{batch_id:06d}-compact-{uuid.uuid4().hex[:12]}.parquet"
    partial = final.with_suffix(".parquet.partial")
    pq.write_table(data, partial, compression="zstd", compression_level=3)
    os.replace(partial, final)
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "DELETE FROM event_segments WHERE list_contains(?, path)", [[p for p, _ in group]]
        )
        con.execute(
            """INSERT INTO event_segments
               SELECT ?, ?, ?, count(*), ?, min(time), max(time) FROM read_parquet(?)""",
            [str(final.relative_to(base)), table, batch_id, final.stat().st_size, str(final)],
        )
        # The view switches to the new file in the same transaction as the catalog.
        store.refresh_views()
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
