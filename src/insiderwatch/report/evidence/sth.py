"""Signed tree heads: Ed25519 over RFC 9162's TreeHeadDataV2, with the key kept outside
the store.

The private key is a PEM (PKCS #8) file created by ``insiderwatch evidence keygen`` with
mode 0600; its public half sits beside it as ``KEY.pub`` and travels in every bundle. A
store never holds the private key, so whoever can rewrite the store cannot sign a head
for the rewritten log.
"""

from __future__ import annotations

import hashlib
import os
import stat
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from insiderwatch.errors import ConfigError
from insiderwatch.report.evidence.log import (
    LogAppend,
    append_pending,
    ensure_log,
    root_at,
    tree_size,
)
from insiderwatch.report.evidence.records import SignedTreeHead
from insiderwatch.store import Store


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    warning: str | None = None  # e.g. the file is readable by others

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()


def public_path(private_path: Path) -> Path:
    return private_path.with_name(private_path.name + ".pub")


def public_pem(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def generate_key(path: Path) -> Path:
    """Write a new private key (mode 0600) and its public half; never overwrite a key."""
    if path.exists():
        raise ConfigError(f"{path} already exists: a new key would orphan every signed head")
    path.parent.mkdir(parents=True, exist_ok=True)
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public_path(path).write_bytes(public_pem(private.public_key()))
    return public_path(path)


def load_signing_key(path: Path) -> SigningKey:
    if not path.exists():
        raise ConfigError(
            f"no evidence signing key at {path}: create one with `insiderwatch evidence keygen`"
        )
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"{path}: not a PEM private key ({exc})") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise ConfigError(f"{path}: not an Ed25519 key")
    mode = stat.S_IMODE(path.stat().st_mode)
    warning = None
    if mode & 0o077:
        warning = f"{path} is readable by others (mode {mode:o}): chmod 600 it"
    return SigningKey(private, warning)


def load_public_key(path: Path) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigError(f"{path}: not an Ed25519 public key")
    return key


def tree_head_data(tree_size: int, timestamp_ms: int, root_hash: bytes) -> bytes:
    """TreeHeadDataV2 (RFC 9162 §4.9) in TLS encoding: uint64 timestamp, uint64 tree_size,
    opaque root_hash<32..2^8-1>, Extension sth_extensions<0..2^16-1> (none)."""
    return struct.pack(">QQB", timestamp_ms, tree_size, len(root_hash)) + root_hash + b"\0\0"


def sign(key: SigningKey, size: int, root_hash: bytes, when: datetime) -> SignedTreeHead:
    timestamp_ms = int(when.timestamp() * 1000)
    signature = key.private.sign(tree_head_data(size, timestamp_ms, root_hash))
    return SignedTreeHead(
        tree_size=size,
        timestamp_ms=timestamp_ms,
        root_hash=root_hash.hex(),
        signature=signature.hex(),
        key_id=key_id(key.public),
    )


def verify_head(head: SignedTreeHead, public: Ed25519PublicKey) -> bool:
    try:
        data = tree_head_data(head.tree_size, head.timestamp_ms, bytes.fromhex(head.root_hash))
        public.verify(bytes.fromhex(head.signature), data)
    except (InvalidSignature, ValueError, struct.error):
        return False
    return True


def sign_current(store: Store, key: SigningKey, when: datetime | None = None) -> SignedTreeHead:
    """Sign the log as it stands and keep the head in the store."""
    ensure_log(store)
    size = tree_size(store)
    head = sign(key, size, root_at(store, size), when or datetime.now(UTC))
    store.con.execute(
        "INSERT OR REPLACE INTO evidence_heads VALUES (?, ?, ?, ?, ?)",
        [
            head.tree_size,
            head.timestamp_ms,
            bytes.fromhex(head.root_hash),
            bytes.fromhex(head.signature),
            head.key_id,
        ],
    )
    return head


def stored_heads(store: Store) -> list[SignedTreeHead]:
    if not store.has_table("evidence_heads"):
        return []
    rows = store.con.execute(
        "SELECT tree_size, timestamp_ms, root_hash, signature, key_id FROM evidence_heads "
        "ORDER BY timestamp_ms, tree_size"
    ).fetchall()
    return [
        SignedTreeHead(
            tree_size=s,
            timestamp_ms=t,
            root_hash=bytes(r).hex(),
            signature=bytes(g).hex(),
            key_id=k,
        )
        for s, t, r, g, k in rows
    ]


def head_of_size(store: Store, size: int) -> SignedTreeHead | None:
    """The latest signed head of exactly this size, if one was signed."""
    found = [h for h in stored_heads(store) if h.tree_size == size]
    return found[-1] if found else None


@dataclass(frozen=True)
class Sealed:
    append: LogAppend
    head: SignedTreeHead | None
    warning: str | None = None


def seal_log(store: Store, key_path: Path) -> Sealed:
    """After an ingest: log the new batches and, when a signing key is set up, sign the
    new head (no key yet: the log still grows, and the first export signs it)."""
    append = append_pending(store)
    if not key_path.exists():
        return Sealed(append, None)
    key = load_signing_key(key_path)
    head = head_of_size(store, append.tree_size)
    if append.leaves or head is None:
        head = sign_current(store, key)
    return Sealed(append, head, key.warning)
