"""Consistency between two signed heads: the later log only appended to the earlier."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from insiderwatch.errors import InsiderwatchError
from insiderwatch.report.evidence import log, merkle
from insiderwatch.report.evidence.records import Complaint, ConsistencyProof
from insiderwatch.report.evidence.sth import head_of_size, stored_heads, verify_head
from insiderwatch.store import Store


def prove_consistency(store: Store, from_size: int, to_size: int | None = None) -> ConsistencyProof:
    """The proof between the signed head of ``from_size`` and the latest (or ``to_size``)."""
    heads = stored_heads(store)
    sizes = sorted({h.tree_size for h in heads})
    old = head_of_size(store, from_size)
    new = heads[-1] if heads and to_size is None else head_of_size(store, to_size or 0)
    if old is None or new is None:
        missing = from_size if old is None else to_size
        raise InsiderwatchError(
            f"no signed tree head of size {missing}; signed sizes: {sizes or 'none'}"
        )
    if old.tree_size > new.tree_size or old.tree_size == 0:
        raise InsiderwatchError(
            f"no consistency proof from size {old.tree_size} to {new.tree_size}"
        )
    path = log.consistency_proof(store, old.tree_size, new.tree_size)
    return ConsistencyProof(old=old, new=new, path=[p.hex() for p in path])


def verify_consistency(proof: ConsistencyProof, key: Ed25519PublicKey) -> list[Complaint]:
    complaints = []
    for name, head in (("old", proof.old), ("new", proof.new)):
        if not verify_head(head, key):
            complaints.append(
                Complaint(
                    kind="signature_invalid",
                    item=f"{name} head (size {head.tree_size})",
                    detail="its signature does not verify with the public key",
                )
            )
    try:
        path = [bytes.fromhex(p) for p in proof.path]
        old_root, new_root = bytes.fromhex(proof.old.root_hash), bytes.fromhex(proof.new.root_hash)
    except ValueError:
        path, old_root, new_root = [], b"", b""
    if not merkle.verify_consistency(
        proof.old.tree_size, old_root, proof.new.tree_size, new_root, path
    ):
        complaints.append(
            Complaint(
                kind="not_append_only",
                item=f"log {proof.old.tree_size} -> {proof.new.tree_size}",
                detail="the proof does not show the later log extends the earlier one",
            )
        )
    return complaints
