"""Check the store against its own evidence log: events, leaves, subtrees, signed heads.

Each layer is checked against the one below, all in SQL: every logged event still
hashes to its leaf, every stored subtree to its two children, and every signed head's
root to the subtrees. An event row edited in a segment, a leaf rewritten to match it,
or a whole tree recomputed after an edit each break one of these links.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from insiderwatch.errors import InsiderwatchError
from insiderwatch.report.evidence import log
from insiderwatch.report.evidence.leaf import NODE_HASH_SQL, leaf_hash_sql
from insiderwatch.report.evidence.records import Complaint
from insiderwatch.report.evidence.sth import stored_heads, verify_head
from insiderwatch.store import Store


def audit_store(store: Store, key: Ed25519PublicKey | None = None) -> list[Complaint]:
    if not store.has_table("evidence_leaves"):
        return []
    return [*_events_against_leaves(store), *_nodes_against_children(store), *_heads(store, key)]


def _events_against_leaves(store: Store) -> list[Complaint]:
    rows = store.con.execute(
        f"""
        SELECT coalesce(l.event_id, e.event_id), e.event_id IS NULL, l.event_id IS NULL
        FROM (SELECT e.event_id, e.batch_id, {leaf_hash_sql("e")} AS h FROM access e) e
        FULL JOIN evidence_leaves l ON l.event_id = e.event_id
        WHERE e.h IS DISTINCT FROM l.leaf_hash
          AND (l.event_id IS NOT NULL
               OR e.batch_id IN (SELECT batch_id FROM evidence_batches))
        ORDER BY 1
        """
    ).fetchall()
    out = []
    for event_id, gone, unlogged in rows:
        if gone:
            kind, detail = "event_missing", "missing from the store: its leaf is in the log"
        elif unlogged:
            kind, detail = "event_added", "added to a logged batch after it was logged"
        else:
            kind, detail = "event_altered", "altered in the store: no longer hashes to its leaf"
        out.append(Complaint(kind=kind, item=f"event {event_id}", detail=detail))
    return out


def _nodes_against_children(store: Store) -> list[Complaint]:
    """Every stored subtree equals the hash of its two children, and none is missing."""
    size = log.tree_size(store)
    out = []
    level = 1
    while size >> level:
        hashed = NODE_HASH_SQL.format(left="k.kids[1]", right="k.kids[2]")
        rows = store.con.execute(
            f"""
            SELECT coalesce(n.idx, k.idx) FROM ({log.level_sql(level)}) n
            FULL JOIN (
                SELECT idx // 2 AS idx, list(hash ORDER BY idx) AS kids
                FROM ({log.level_sql(level - 1)}) WHERE idx < {2 * (size >> level)} GROUP BY 1
            ) k ON k.idx = n.idx
            WHERE len(k.kids) IS DISTINCT FROM 2 OR n.hash IS DISTINCT FROM {hashed}
            ORDER BY 1 LIMIT 10
            """
        ).fetchall()
        out += [
            Complaint(
                kind="log_altered",
                item=f"subtree {level}/{idx}",
                detail="does not hash from its two children",
            )
            for (idx,) in rows
        ]
        level += 1
    return out


def _heads(store: Store, key: Ed25519PublicKey | None) -> list[Complaint]:
    out = []
    size = log.tree_size(store)
    for head in stored_heads(store):
        item = f"tree head {head.tree_size}@{head.timestamp_ms}"
        if key is not None and not verify_head(head, key):
            out.append(Complaint(kind="signature_invalid", item=item, detail="bad signature"))
        if head.tree_size > size:
            out.append(Complaint(kind="log_altered", item=item, detail="log is now smaller"))
            continue
        try:
            root = log.root_at(store, head.tree_size) if head.tree_size else None
        except InsiderwatchError as exc:
            out.append(Complaint(kind="log_altered", item=item, detail=str(exc)))
            continue
        if root is not None and root.hex() != head.root_hash:
            out.append(
                Complaint(kind="log_altered", item=item, detail="the log no longer has this root")
            )
    return out
