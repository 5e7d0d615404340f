"""The evidence records every part exchanges and a bundle holds, as msgspec Structs.

Hashes and signatures are lower-case hex so the files read in any text editor.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

Hex = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]*$")]
Count = Annotated[int, msgspec.Meta(ge=0)]

BUNDLE_FORMAT = "insiderwatch-evidence/1"


class SignedTreeHead(msgspec.Struct, kw_only=True, frozen=True):
    """RFC 9162 §4.10: (timestamp, tree size, root hash) under one Ed25519 signature."""

    tree_size: Count
    timestamp_ms: Count
    root_hash: Hex
    signature: Hex
    key_id: Hex  # SHA-256 of the raw public key, as RFC 9162 derives a log id


class InclusionProof(msgspec.Struct, kw_only=True, frozen=True):
    event_id: str
    leaf_index: Count
    leaf_hash: Hex
    path: list[Hex]


class ConsistencyProof(msgspec.Struct, kw_only=True, frozen=True):
    """Two signed heads and the proof that the later log only appended to the earlier."""

    old: SignedTreeHead
    new: SignedTreeHead
    path: list[Hex]


class Custody(msgspec.Struct, kw_only=True, frozen=True):
    """Who exported what, when and why; nothing about the host it ran on."""

    exported_by: str
    exported_at: str
    reason: str
    tool: str
    tool_version: str
    employee_id: str
    time_from: str | None
    time_to: str | None
    events: Count
    alerts: Count
    tree_size: Count
    store_key_fingerprint: str | None


class ManifestEntry(msgspec.Struct, kw_only=True, frozen=True):
    path: str
    sha256: Hex
    bytes: Count


class Manifest(msgspec.Struct, kw_only=True, frozen=True):
    format: str
    created_at: str
    files: list[ManifestEntry]
    notes: list[str] = []


ComplaintKind = Literal[
    "file_altered",
    "file_missing",
    "file_added",
    "file_unreadable",
    "signature_invalid",
    "key_mismatch",
    "event_altered",
    "event_missing",
    "event_added",
    "proof_invalid",
    "log_altered",
    "not_append_only",
]


class Complaint(msgspec.Struct, kw_only=True, frozen=True):
    kind: ComplaintKind
    item: str
    detail: str

    def __str__(self) -> str:
        return f"{self.item}: {self.detail}"


class VerifyReport(msgspec.Struct, kw_only=True):
    bundle: str
    key_id: str | None = None
    tree_size: Count = 0
    events_checked: Count = 0
    complaints: list[Complaint] = []

    @property
    def ok(self) -> bool:
        return not self.complaints
