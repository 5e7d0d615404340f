"""Merkle tree hashes and proofs exactly as RFC 9162 §2.1 (Certificate Transparency v2).

Pure functions, no storage: a tree is reached through ``nodes``, a mapping from
``(level, index)`` to the hash of the *perfect* subtree covering leaves
``[index * 2**level, (index + 1) * 2**level)`` (level 0 = leaf hashes). Every range the
RFC's recursion visits splits into such perfect subtrees, so a log only has to keep
those (they never change once complete), and a caller can first ask which it needs
(:func:`needed_nodes`) and fetch them in one query.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

Node = tuple[int, int]  # (level, index)
Range = tuple[int, int]  # leaves [start, end)

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    """HASH(0x00 || leaf) — the prefix keeps a leaf from passing for an interior node."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """HASH(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def split_point(n: int) -> int:
    """k, the largest power of two smaller than n (n >= 2), where the RFC splits D[n]."""
    if n < 2:
        raise ValueError(f"a tree of {n} leaves does not split")
    return 1 << ((n - 1).bit_length() - 1)


def perfect_nodes(start: int, end: int) -> list[Node]:
    """The perfect subtrees that MTH(D[start:end]) combines, left to right.

    Valid for ranges the RFC recursion produces: ``start`` is a multiple of the largest
    power of two not exceeding the range, so each part is an aligned subtree.
    """
    parts: list[Node] = []
    while end > start:
        level = (end - start).bit_length() - 1
        if start % (1 << level):
            raise ValueError(f"range [{start}, {end}) is not aligned to a subtree")
        parts.append((level, start >> level))
        start += 1 << level
    return parts


def range_hash(start: int, end: int, nodes: Mapping[Node, bytes]) -> bytes:
    """MTH(D[start:end]): the perfect parts folded from the right, as the RFC's split does."""
    if end == start:
        return EMPTY_ROOT
    parts = [nodes[p] for p in perfect_nodes(start, end)]
    acc = parts[-1]
    for part in reversed(parts[:-1]):
        acc = node_hash(part, acc)
    return acc


def root(size: int, nodes: Mapping[Node, bytes]) -> bytes:
    return range_hash(0, size, nodes)


def inclusion_ranges(index: int, size: int) -> list[Range]:
    """The ranges whose MTH make up PATH(index, D[size]) (RFC 9162 §2.1.3.1), in order."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is outside a tree of {size}")
    ranges: list[Range] = []
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start += k
    return ranges[::-1]


def consistency_ranges(old: int, new: int) -> list[Range]:
    """The ranges whose MTH make up PROOF(old, D[new]) (RFC 9162 §2.1.4.1), in order."""
    if not 0 < old <= new:
        raise ValueError(f"no consistency proof from size {old} to {new}")
    ranges: list[Range] = []
    start, end, m, complete = 0, new, old, True
    while m != end - start:
        k = split_point(end - start)
        if m <= k:
            ranges.append((start + k, end))
            end = start + k
        else:
            ranges.append((start, start + k))
            start, m, complete = start + k, m - k, False
    if not complete:
        ranges.append((start, end))
    return ranges[::-1]


def needed_nodes(ranges: Iterable[Range]) -> set[Node]:
    """Every perfect subtree the given ranges need: what to fetch before proving."""
    return {node for start, end in ranges for node in perfect_nodes(start, end)}


def inclusion_proof(index: int, size: int, nodes: Mapping[Node, bytes]) -> list[bytes]:
    return [range_hash(s, e, nodes) for s, e in inclusion_ranges(index, size)]


def consistency_proof(old: int, new: int, nodes: Mapping[Node, bytes]) -> list[bytes]:
    return [range_hash(s, e, nodes) for s, e in consistency_ranges(old, new)]


def _shift_while_even(fn: int, sn: int) -> tuple[int, int]:
    while fn and not fn & 1:
        fn, sn = fn >> 1, sn >> 1
    return fn, sn


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: list[bytes], root_hash: bytes
) -> bool:
    """RFC 9162 §2.1.3.2, step by step. Malformed input is ``False``, never an exception."""
    if not 0 <= index < size or any(len(p) != 32 for p in proof):
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            fn, sn = _shift_while_even(fn, sn)
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root_hash


def verify_consistency(
    old: int, old_root: bytes, new: int, new_root: bytes, proof: list[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: the tree of size ``new`` extends the one of size ``old``.

    Equal sizes need an empty proof and equal roots (the RFC leaves that case to the
    caller); a log that shrank proves nothing.
    """
    if not 0 < old <= new or any(len(p) != 32 for p in proof):
        return False
    if old == new:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = [old_root, *proof] if old & (old - 1) == 0 else list(proof)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            fn, sn = _shift_while_even(fn, sn)
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == old_root and sr == new_root and sn == 0


def build_nodes(leaf_hashes: list[bytes]) -> dict[Node, bytes]:
    """Every perfect subtree of a list of leaf hashes (small trees: tests, bundles)."""
    nodes: dict[Node, bytes] = {(0, i): h for i, h in enumerate(leaf_hashes)}
    level, count = 0, len(leaf_hashes)
    while count > 1:
        for i in range(count // 2):
            nodes[(level + 1, i)] = node_hash(nodes[(level, 2 * i)], nodes[(level, 2 * i + 1)])
        level, count = level + 1, count // 2
    return nodes
