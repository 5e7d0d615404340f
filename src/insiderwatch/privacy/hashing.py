"""Keyed hashing (HMAC-SHA256) of normalised identifiers with a per-deployment key.

A plain hash of an email can be reversed by hashing a list of known emails; a keyed hash
cannot without the key, which is kept outside the database. The store records the key's
fingerprint so that opening it with another key is an error instead of silent mismatches.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from insiderwatch.errors import ConfigError

KEY_BYTES = 32


@dataclass(frozen=True)
class HashKey:
    secret: bytes

    @property
    def fingerprint(self) -> str:
        """Public id of the key (safe to store): a hash of a hash, not the key."""
        return hashlib.sha256(b"insiderwatch-key-id:" + self.secret).hexdigest()[:16]

    def digest(self, kind: str, value: str | None) -> str | None:
        """Hex HMAC of a normalised value; the kind keeps emails and phones apart."""
        if value is None:
            return None
        msg = kind.encode() + b"\x00" + value.encode()
        return hmac.new(self.secret, msg, hashlib.sha256).hexdigest()

    def digest_many(self, kind: str, values: Iterable[str | None]) -> list[str | None]:
        prefix = kind.encode() + b"\x00"
        new = hmac.new
        sha = hashlib.sha256
        key = self.secret
        return [
            None if v is None else new(key, prefix + v.encode(), sha).hexdigest() for v in values
        ]


def _read_key_file(path: Path) -> bytes:
    """The secret in ``path``; anything that is not a readable file of hex is a clear
    error, and a key others may read is used with a warning (it should be 0600)."""
    if not path.is_file():
        raise ConfigError(f"{path}: hashing key file is not a regular file")
    try:
        text = path.read_bytes()[:4096].decode("ascii").strip()
        secret = bytes.fromhex(text)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the hashing key file: {exc.strerror}") from None
    except ValueError:
        raise ConfigError(f"{path}: hashing key file is not hex") from None
    if len(secret) < 16:
        raise ConfigError(f"{path}: hashing key is too short")
    if path.stat().st_mode & 0o077:
        warnings.warn(
            f"{path}: the hashing key can be read by other users; chmod 600 it",
            KeyFileWarning,
            stacklevel=3,
        )
    return secret


class KeyFileWarning(UserWarning):
    """The hashing key file is readable or writable by users other than its owner."""


def load_or_create_key(path: Path, hex_key: str | None = None) -> HashKey:
    """The key from ``hex_key`` if given, else from ``path``, created there on first use."""
    if hex_key:
        try:
            secret = bytes.fromhex(hex_key.strip())
        except ValueError:
            raise ConfigError("hash_key is not valid hex") from None
        if len(secret) < 16:
            raise ConfigError("hash_key must be at least 16 bytes (32 hex characters)")
        return HashKey(secret)
    if path.exists():
        return HashKey(_read_key_file(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_bytes(KEY_BYTES)
    # Create with 0600 from the start so the key is never world-readable, even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret.hex() + "\n")
    return HashKey(secret)
