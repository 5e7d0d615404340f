"""The key policy: which hashing key a use case gets.

Ingest creates the key on first use (a new deployment has none yet). Everything that
matches data against what was ingested (attribution, breach scope, canaries, outside
lists) must use that same key: a fresh key would match nothing, so there it is an error
to have none, and a key that differs from the one the store was hashed with is refused.
"""

from __future__ import annotations

from insiderwatch.errors import ConfigError
from insiderwatch.privacy import HashKey, load_or_create_key
from insiderwatch.settings import Settings
from insiderwatch.store import Store


def ingest_key(settings: Settings) -> HashKey:
    """The configured key, created (mode 0600) when there is none yet."""
    return load_or_create_key(settings.secret_path, settings.hash_key)


def configured_key(settings: Settings) -> HashKey:
    """The configured key, which must exist (nothing to check it against: for outputs
    that only pseudonymise staff, like exports)."""
    if not settings.hash_key and not settings.secret_path.exists():
        raise ConfigError(
            f"no hashing key at {settings.secret_path}: point secret_file/hash_key at the "
            "deployment's key (staff are shown as pseudonyms made with it)"
        )
    return load_or_create_key(settings.secret_path, settings.hash_key)


def existing_key(settings: Settings, store: Store) -> HashKey:
    """The configured key, which must exist and be the one the store was hashed with."""
    if not settings.hash_key and not settings.secret_path.exists():
        raise ConfigError(
            f"no hashing key at {settings.secret_path}: point secret_file/hash_key at the key "
            "the customers were ingested with"
        )
    key = load_or_create_key(settings.secret_path, settings.hash_key)
    store.check_key(key)
    return key
