"""Check a bundle offline with only the public key, naming every altered, missing or
added item.

Two layers: the signed manifest catches any change to any file ("file X altered",
"file Y missing", "file Z added"); the inclusion proofs, checked against the signed tree
head, say which event rows changed ("event X altered", "event Y missing", "event Z
added"), and would still do so if someone rebuilt the manifest without the key. Nothing
here touches a store or the network.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from insiderwatch.errors import ConfigError
from insiderwatch.report.evidence import merkle
from insiderwatch.report.evidence.bundle import SEAL_FILES, file_sha256
from insiderwatch.report.evidence.leaf import leaf_hash_sql
from insiderwatch.report.evidence.records import (
    Complaint,
    ComplaintKind,
    InclusionProof,
    Manifest,
    SignedTreeHead,
    VerifyReport,
)
from insiderwatch.report.evidence.sth import key_id, load_public_key, verify_head


class _Checker:
    def __init__(self, bundle: Path, report: VerifyReport) -> None:
        self.bundle = bundle
        self.report = report

    def complain(self, kind: ComplaintKind, item: str, detail: str) -> None:
        self.report.complaints.append(Complaint(kind=kind, item=item, detail=detail))

    def read(self, name: str) -> bytes | None:
        path = self.bundle / name
        if not path.is_file():
            return None
        return path.read_bytes()

    def decode(self, name: str, kind: type):
        data = self.read(name)
        if data is None:
            return None
        try:
            return msgspec.json.decode(data, type=kind)
        except msgspec.DecodeError as exc:
            self.complain("file_unreadable", name, f"cannot be read ({exc})")
            return None


def verify_bundle(bundle: Path, public_key: Path | None = None) -> VerifyReport:
    if not bundle.is_dir():
        raise ConfigError(f"no bundle folder at {bundle}")
    report = VerifyReport(bundle=str(bundle))
    check = _Checker(bundle, report)
    key = _trusted_key(check, public_key)
    if key is not None:
        report.key_id = key_id(key)
    manifest = _check_manifest(check, key)
    if manifest is not None:
        _check_files(check, manifest)
    head = _check_head(check, key)
    if head is not None:
        report.tree_size = head.tree_size
        _check_events(check, head)
    return report


def _trusted_key(check: _Checker, given: Path | None) -> Ed25519PublicKey | None:
    """The key the caller trusts; the bundle's own copy only proves self-consistency."""
    bundled = None
    if (check.bundle / "public_key.pem").is_file():
        try:
            bundled = load_public_key(check.bundle / "public_key.pem")
        except ConfigError as exc:
            check.complain("file_unreadable", "public_key.pem", str(exc))
    if given is None:
        return bundled
    trusted = load_public_key(given)
    if bundled is not None and key_id(bundled) != key_id(trusted):
        check.complain(
            "key_mismatch", "public_key.pem", "is not the public key you gave (--public-key)"
        )
    return trusted


def _check_manifest(check: _Checker, key: Ed25519PublicKey | None) -> Manifest | None:
    body = check.read("manifest.json")
    if body is None:
        check.complain("file_missing", "manifest.json", "missing: no file can be checked")
        return None
    signature = check.read("manifest.sig")
    if signature is None:
        check.complain("file_missing", "manifest.sig", "missing: the manifest is unsigned")
    elif key is not None:
        try:
            key.verify(bytes.fromhex(signature.decode().strip()), body)
        except (InvalidSignature, ValueError, UnicodeDecodeError):
            check.complain(
                "signature_invalid",
                "manifest.json",
                "altered: its signature (manifest.sig) does not verify with the public key",
            )
    return check.decode("manifest.json", Manifest)


def _check_files(check: _Checker, manifest: Manifest) -> None:
    listed = {entry.path: entry for entry in manifest.files}
    for name, entry in sorted(listed.items()):
        path = check.bundle / name
        if not path.is_file():
            check.complain("file_missing", name, "missing: listed in the manifest")
        elif file_sha256(path) != entry.sha256:
            check.complain("file_altered", name, "altered: its SHA-256 differs from the manifest")
    for path in sorted(check.bundle.iterdir()):
        if path.name not in listed and path.name not in SEAL_FILES:
            check.complain("file_added", path.name, "added: not listed in the manifest")


def _check_head(check: _Checker, key: Ed25519PublicKey | None) -> SignedTreeHead | None:
    head = check.decode("sth.json", SignedTreeHead)
    if head is None:
        if check.read("sth.json") is None:
            check.complain("file_missing", "sth.json", "missing: events cannot be proven")
        return None
    if key is None or not verify_head(head, key):
        check.complain(
            "signature_invalid", "sth.json", "altered: the tree head's signature does not verify"
        )
    return head


def _bundle_leaves(check: _Checker) -> dict[str, list[bytes]] | None:
    """event id -> leaf hashes recomputed from events.parquet (a list: ids may repeat)."""
    path = check.bundle / "events.parquet"
    if not path.is_file():
        return None
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        rows = con.execute(
            f"SELECT e.event_id, {leaf_hash_sql('e')} FROM read_parquet(?) e", [str(path)]
        ).fetchall()
    except duckdb.Error as exc:
        check.complain("file_unreadable", "events.parquet", f"cannot be read ({exc})")
        return None
    finally:
        con.close()
    leaves: dict[str, list[bytes]] = {}
    for event_id, leaf in rows:
        # A planted row may lack an id; it is still named, never a crash.
        leaves.setdefault(event_id or "(no id)", []).append(bytes(leaf))
    return leaves


def _proofs(check: _Checker) -> list[InclusionProof]:
    data = check.read("proofs.jsonl")
    if data is None:
        return []
    proofs = []
    decoder = msgspec.json.Decoder(InclusionProof)
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            proofs.append(decoder.decode(line))
        except msgspec.DecodeError as exc:
            check.complain("proof_invalid", f"proofs.jsonl:{number}", f"unreadable ({exc})")
    return proofs


def _check_events(check: _Checker, head: SignedTreeHead) -> None:
    leaves = _bundle_leaves(check)
    if leaves is None:
        return
    root = bytes.fromhex(head.root_hash)
    proven: set[str] = set()
    for proof in _proofs(check):
        proven.add(proof.event_id)
        event = f"event {proof.event_id}"
        try:
            logged = bytes.fromhex(proof.leaf_hash)
            path = [bytes.fromhex(p) for p in proof.path]
        except ValueError:
            check.complain("proof_invalid", event, "its proof is not hex")
            continue
        found = leaves.get(proof.event_id)
        if not found:
            check.complain(
                "event_missing", event, "missing from events.parquet (its proof is here)"
            )
            continue
        check.report.events_checked += 1
        proof_ok = merkle.verify_inclusion(logged, proof.leaf_index, head.tree_size, path, root)
        if found[0] != logged:
            detail = "altered: the row no longer hashes to its leaf in the signed log"
            check.complain(
                "event_altered",
                event,
                detail if proof_ok else detail + " (nor does its proof verify)",
            )
        elif not proof_ok:
            check.complain("proof_invalid", event, "its proof does not lead to the signed root")
        for _ in found[1:]:
            check.complain("event_added", event, "added: a second row with this id")
    for event_id in sorted(leaves.keys() - proven):
        check.complain("event_added", f"event {event_id}", "added: no proof puts it in the log")
