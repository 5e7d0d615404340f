"""The Merkle tree against RFC 6962/9162 published vectors and a naive transcription."""

from __future__ import annotations

import hashlib

import pytest

from insiderwatch.report.evidence import merkle

# The Certificate Transparency test leaves and roots (RFC 6962 reference test data, as
# used by every CT implementation's merkle tests).
CT_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
CT_INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CT_CONSISTENCY = [
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]


# -- a naive transcription of the RFC's recursive definitions --------------------------
def _sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def naive_mth(d: list[bytes]) -> bytes:
    if not d:
        return _sha(b"")
    if len(d) == 1:
        return _sha(b"\x00" + d[0])
    k = _k(len(d))
    return _sha(b"\x01" + naive_mth(d[:k]) + naive_mth(d[k:]))


def naive_path(m: int, d: list[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = _k(len(d))
    if m < k:
        return [*naive_path(m, d[:k]), naive_mth(d[k:])]
    return [*naive_path(m - k, d[k:]), naive_mth(d[:k])]


def naive_subproof(m: int, d: list[bytes], complete: bool) -> list[bytes]:
    if m == len(d):
        return [] if complete else [naive_mth(d)]
    k = _k(len(d))
    if m <= k:
        return [*naive_subproof(m, d[:k], complete), naive_mth(d[k:])]
    return [*naive_subproof(m - k, d[k:], False), naive_mth(d[:k])]


def tree_of(data: list[bytes]) -> dict:
    return merkle.build_nodes([merkle.leaf_hash(x) for x in data])


DATA64 = [f"event-{i}".encode() for i in range(64)]
NODES64 = tree_of(DATA64)


@pytest.mark.parametrize("n", range(9))
def test_roots_match_the_ct_vectors(n):
    assert merkle.root(n, tree_of(CT_LEAVES[:n])).hex() == CT_ROOTS[n]
    assert naive_mth(CT_LEAVES[:n]).hex() == CT_ROOTS[n]


@pytest.mark.parametrize(("index", "size", "expected"), CT_INCLUSION)
def test_inclusion_proofs_match_the_ct_vectors(index, size, expected):
    nodes = tree_of(CT_LEAVES[:size])
    proof = merkle.inclusion_proof(index, size, nodes)
    assert [p.hex() for p in proof] == expected
    leaf = merkle.leaf_hash(CT_LEAVES[index])
    assert merkle.verify_inclusion(leaf, index, size, proof, bytes.fromhex(CT_ROOTS[size]))


@pytest.mark.parametrize(("old", "new", "expected"), CT_CONSISTENCY)
def test_consistency_proofs_match_the_ct_vectors(old, new, expected):
    proof = merkle.consistency_proof(old, new, tree_of(CT_LEAVES[:new]))
    assert [p.hex() for p in proof] == expected
    assert merkle.verify_consistency(
        old, bytes.fromhex(CT_ROOTS[old]), new, bytes.fromhex(CT_ROOTS[new]), proof
    )


@pytest.mark.parametrize("size", range(1, 65))
def test_every_inclusion_proof_up_to_64_matches_the_naive_reference(size):
    root = merkle.root(size, NODES64)
    assert root == naive_mth(DATA64[:size])
    for index in range(size):
        proof = merkle.inclusion_proof(index, size, NODES64)
        assert proof == naive_path(index, DATA64[:size])
        leaf = NODES64[(0, index)]
        assert merkle.verify_inclusion(leaf, index, size, proof, root)
        # The wrong leaf, a wrong index and a damaged path all fail.
        assert not merkle.verify_inclusion(merkle.leaf_hash(b"other"), index, size, proof, root)
        if size > 1:
            assert not merkle.verify_inclusion(leaf, (index + 1) % size, size, proof, root)
            damaged = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
            assert not merkle.verify_inclusion(leaf, index, size, damaged, root)
            assert not merkle.verify_inclusion(leaf, index, size, proof[:-1], root)


@pytest.mark.parametrize("new", range(1, 65))
def test_every_consistency_proof_up_to_64_matches_the_naive_reference(new):
    new_root = merkle.root(new, NODES64)
    for old in range(1, new + 1):
        proof = merkle.consistency_proof(old, new, NODES64)
        assert proof == naive_subproof(old, DATA64[:new], True)
        old_root = merkle.root(old, NODES64)
        assert merkle.verify_consistency(old, old_root, new, new_root, proof)
        # A rewritten history (another old root) or a damaged proof fails.
        forged = merkle.root(old, tree_of([b"forged", *DATA64[1:old]]))
        assert not merkle.verify_consistency(old, forged, new, new_root, proof)
        if proof:
            damaged = [*proof[:-1], bytes([proof[-1][0] ^ 1]) + proof[-1][1:]]
            assert not merkle.verify_consistency(old, old_root, new, new_root, damaged)


def test_verification_refuses_structural_lies():
    root8 = merkle.root(8, NODES64)
    root6 = merkle.root(6, NODES64)
    proof = merkle.consistency_proof(6, 8, NODES64)
    assert not merkle.verify_consistency(8, root8, 6, root6, proof)  # a shrinking log
    assert not merkle.verify_consistency(6, root6, 8, root8, [])
    assert merkle.verify_consistency(8, root8, 8, root8, [])
    assert not merkle.verify_consistency(8, root8, 8, root6, [])
    assert not merkle.verify_inclusion(NODES64[(0, 0)], 8, 8, [], root8)
    assert not merkle.verify_inclusion(NODES64[(0, 0)], 0, 8, [b"short"], root8)
    with pytest.raises(ValueError, match="outside"):
        merkle.inclusion_ranges(8, 8)
    with pytest.raises(ValueError, match="no consistency proof"):
        merkle.consistency_ranges(0, 8)


def test_leaf_and_node_hashes_are_domain_separated():
    assert merkle.leaf_hash(b"") == _sha(b"\x00")
    left, right = merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")
    assert merkle.node_hash(left, right) == _sha(b"\x01" + left + right)
    assert merkle.leaf_hash(left + right) != merkle.node_hash(left, right)


def test_needed_nodes_are_exactly_what_a_proof_reads():
    size = 45
    ranges = merkle.inclusion_ranges(17, size) + merkle.consistency_ranges(13, size)
    needed = merkle.needed_nodes(ranges)
    subset = {node: NODES64[node] for node in needed}
    assert merkle.inclusion_proof(17, size, subset) == merkle.inclusion_proof(17, size, NODES64)
    assert merkle.consistency_proof(13, size, subset) == merkle.consistency_proof(13, size, NODES64)
