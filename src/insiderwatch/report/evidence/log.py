"""The evidence log: every stored event as a leaf of an RFC 9162 Merkle tree, in the store.

Leaves are appended per ingest batch, in batch order and within a batch by event id, so
the order is reproducible. A batch enters the log once (``evidence_batches``); a
re-ingest stores no new events and so appends nothing. Beside the leaves the log keeps
every *perfect* subtree hash (``evidence_nodes``): they never change once complete, so
appending costs about one hash per new leaf and any root or proof needs only
``log2(size)`` lookups, never a pass over all events. All of it is computed in SQL,
level by level, set-at-a-time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from insiderwatch.errors import InsiderwatchError
from insiderwatch.report.evidence import merkle
from insiderwatch.report.evidence.leaf import NODE_HASH_SQL, leaf_hash_sql
from insiderwatch.store import Store

# A hash never compresses: left to choose, the engine tried every method on each one,
# which made storing a leaf cost a third of hashing it.
_HASH = "BLOB NOT NULL USING COMPRESSION uncompressed"

LOG_DDL = (
    # No primary key: an index over every event costs more than the loader's own care
    # (a batch is logged once, guarded by evidence_batches).
    f"""CREATE TABLE IF NOT EXISTS evidence_leaves (
  leaf_index BIGINT NOT NULL,
  event_id VARCHAR NOT NULL,
  batch_id BIGINT NOT NULL,
  leaf_hash {_HASH}
)""",
    # level >= 1; node_index i at level L covers leaves [i * 2^L, (i + 1) * 2^L)
    f"""CREATE TABLE IF NOT EXISTS evidence_nodes (
  level TINYINT NOT NULL,
  node_index BIGINT NOT NULL,
  hash {_HASH}
)""",
    """CREATE TABLE IF NOT EXISTS evidence_batches (
  batch_id BIGINT PRIMARY KEY,
  first_leaf BIGINT NOT NULL,
  leaves BIGINT NOT NULL,
  logged_at TIMESTAMPTZ NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS evidence_heads (
  tree_size BIGINT NOT NULL,
  timestamp_ms BIGINT NOT NULL,
  root_hash BLOB NOT NULL,
  signature BLOB NOT NULL,
  key_id VARCHAR NOT NULL,
  PRIMARY KEY (tree_size, timestamp_ms)
)""",
)


@dataclass(frozen=True)
class LogAppend:
    batches: int
    leaves: int
    tree_size: int


def ensure_log(store: Store) -> None:
    for ddl in LOG_DDL:
        store.con.execute(ddl)


def tree_size(store: Store) -> int:
    if not store.has_table("evidence_batches"):
        return 0
    return int(store.scalar("SELECT coalesce(sum(leaves), 0) FROM evidence_batches"))


def level_sql(level: int) -> str:
    """A level of the tree as (idx, hash): leaves at 0, stored nodes above."""
    if level == 0:
        return "SELECT leaf_index AS idx, leaf_hash AS hash FROM evidence_leaves"
    return f"SELECT node_index AS idx, hash FROM evidence_nodes WHERE level = {level}"


def append_pending(store: Store) -> LogAppend:
    """Append the events of every batch not yet logged, batch by batch; one transaction."""
    ensure_log(store)
    pending = store.con.execute(
        """SELECT batch_id, list(path ORDER BY path) FROM event_segments
           WHERE table_name = 'access'
             AND batch_id NOT IN (SELECT batch_id FROM evidence_batches)
           GROUP BY batch_id ORDER BY batch_id"""
    ).fetchall()
    start = size = tree_size(store)
    if not pending:
        return LogAppend(0, 0, start)
    con = store.con
    con.execute("BEGIN TRANSACTION")
    try:
        for batch_id, paths in pending:
            added = _append_batch(store, batch_id, [store.path.parent / p for p in paths], size)
            _add_nodes(store, size, size + added)
            size += added
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")
    return LogAppend(len(pending), size - start, size)


def _append_batch(store: Store, batch_id: int, files: list[Path], first: int) -> int:
    """Leaves of one batch, ordered by event id; returns how many. One batch at a time
    keeps memory bounded by the ingest batch size, however much is pending. The hashes
    go from the segment files to the table inside the engine: a Python object per leaf
    cost more than hashing it."""
    listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
    added = store.scalar(
        f"""INSERT INTO evidence_leaves (leaf_index, event_id, batch_id, leaf_hash)
            SELECT {first} - 1 + row_number() OVER (ORDER BY e.event_id), e.event_id,
                   {batch_id}, {leaf_hash_sql("e")}
            FROM read_parquet([{listed}]) e"""
    )
    store.con.execute(
        "INSERT INTO evidence_batches VALUES (?, ?, ?, now())", [batch_id, first, added]
    )
    return int(added)


def _add_nodes(store: Store, old_size: int, new_size: int) -> None:
    """Store the perfect subtrees that leaves [old_size, new_size) completed.

    Level by level, one set-based query each: node ``i`` of a level hashes nodes ``2i``
    and ``2i + 1`` below it, read from the tables (the new ones were just written, a
    left sibling from before is already there); about one node per new leaf is hashed.
    """
    level = 0
    while (high := new_size >> (level + 1)) > (low := old_size >> (level + 1)):
        hashed = NODE_HASH_SQL.format(left="l.hash", right="r.hash")
        children = f"SELECT * FROM ({level_sql(level)}) WHERE idx >= {2 * low} AND idx < {2 * high}"
        store.con.execute(
            f"""INSERT INTO evidence_nodes (level, node_index, hash)
                SELECT {level + 1}, l.idx // 2, {hashed}
                FROM ({children}) l JOIN ({children}) r ON r.idx = l.idx + 1
                WHERE l.idx % 2 = 0"""
        )
        level += 1


def fetch_nodes(store: Store, wanted: set[merkle.Node]) -> dict[merkle.Node, bytes]:
    """The stored hashes of the given perfect subtrees, in one query."""
    if not wanted:
        return {}
    levels, indexes = zip(*wanted, strict=True)
    store.con.register(
        "_wanted", pa.table({"level": pa.array(levels, pa.int8()), "idx": list(indexes)})
    )
    try:
        found = store.con.sql(
            """
            SELECT w.level, w.idx, coalesce(l.leaf_hash, n.hash) AS hash
            FROM _wanted w
            LEFT JOIN evidence_leaves l ON w.level = 0 AND l.leaf_index = w.idx
            LEFT JOIN evidence_nodes n ON w.level > 0 AND n.level = w.level
                                      AND n.node_index = w.idx
            WHERE coalesce(l.leaf_hash, n.hash) IS NOT NULL
            """
        ).to_arrow_table()
    finally:
        store.con.unregister("_wanted")
    keys = zip(found["level"].to_pylist(), found["idx"].to_pylist(), strict=True)
    nodes = dict(zip(keys, found["hash"].to_pylist(), strict=True))
    missing = wanted - nodes.keys()
    if missing:
        raise InsiderwatchError(
            f"the evidence log lacks {len(missing)} subtree(s), e.g. {sorted(missing)[:3]}: "
            "run `insiderwatch evidence audit`"
        )
    return nodes


def root_at(store: Store, size: int) -> bytes:
    return merkle.root(size, fetch_nodes(store, merkle.needed_nodes([(0, size)])))


def inclusion_proofs(store: Store, leaf_indexes: list[int], size: int) -> dict[int, list[bytes]]:
    """Audit paths of many leaves against one tree size; neighbouring leaves share most
    of their path, so each distinct subtree range is hashed (and its nodes fetched) once."""
    ranges = {i: merkle.inclusion_ranges(i, size) for i in leaf_indexes}
    distinct = {r for rs in ranges.values() for r in rs}
    nodes = fetch_nodes(store, merkle.needed_nodes(distinct))
    hashed = {r: merkle.range_hash(*r, nodes) for r in distinct}
    return {i: [hashed[r] for r in rs] for i, rs in ranges.items()}


def consistency_proof(store: Store, old: int, new: int) -> list[bytes]:
    ranges = merkle.consistency_ranges(old, new)
    return merkle.consistency_proof(old, new, fetch_nodes(store, merkle.needed_nodes(ranges)))
