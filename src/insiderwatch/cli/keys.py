"""The hashing key for commands that must match what ingest hashed (never a new key)."""

from __future__ import annotations

from insiderwatch.errors import ConfigError
from insiderwatch.privacy import HashKey, load_or_create_key
from insiderwatch.settings import Settings
from insiderwatch.store.duckdb_store import Store


def existing_key(settings: Settings, store: Store) -> HashKey:
    """The configured key, which must exist and be the one the store was hashed with.

    A fresh key would match nothing, so instead of creating one this is an error.
    """
    if not settings.hash_key and not settings.secret_path.exists():
        raise ConfigError(
            f"no hashing key at {settings.secret_path}: point secret_file/hash_key at the key "
            "the customers were ingested with"
        )
    key = load_or_create_key(settings.secret_path, settings.hash_key)
    store.check_key(key)
    return key
