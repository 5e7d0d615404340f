"""What both response use cases need: the operational store's response tables, the
response file, the deployment key (for pseudonyms), and a Responder built from them."""

from __future__ import annotations

from pathlib import Path

from insiderwatch.app.ops import open_ops_store
from insiderwatch.errors import ConfigError
from insiderwatch.privacy import HashKey, load_or_create_key
from insiderwatch.respond.config import ResponseConfig, load_config
from insiderwatch.respond.delivery import Clock, utcnow
from insiderwatch.respond.responder import Responder, SubjectLookup, unknown_subject
from insiderwatch.respond.store import ResponseStore
from insiderwatch.settings import Settings


def response_store(settings: Settings) -> ResponseStore:
    return ResponseStore(open_ops_store(settings).engine)


def response_config(settings: Settings) -> ResponseConfig:
    if not settings.respond_config:
        raise ConfigError("no response file: set respond_config (or pass --respond-config)")
    return load_config(Path(settings.respond_config))


def deployment_key(settings: Settings) -> HashKey:
    return load_or_create_key(settings.secret_path, settings.hash_key)


def open_responder(
    settings: Settings,
    subjects: SubjectLookup = unknown_subject,
    clock: Clock = utcnow,
    store: ResponseStore | None = None,
) -> Responder:
    """A Responder for this deployment (not started: use ``with`` or ``start()``)."""
    return Responder(
        response_config(settings),
        deployment_key(settings),
        store or response_store(settings),
        subjects=subjects,
        clock=clock,
    )
