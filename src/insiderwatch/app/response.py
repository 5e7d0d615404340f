"""What the response use cases share: the response tables of the operational store, the
response file, the deployment key (pseudonyms are keyed with it), and a Responder."""

from __future__ import annotations

from pathlib import Path

from insiderwatch.app.deployment import Deployment
from insiderwatch.app.keys import ingest_key
from insiderwatch.errors import ConfigError
from insiderwatch.respond.config import ResponseConfig, load_config
from insiderwatch.respond.delivery import Clock, utcnow
from insiderwatch.respond.responder import Responder, SubjectLookup, unknown_subject
from insiderwatch.respond.store import ResponseStore


def response_store(deployment: Deployment) -> ResponseStore:
    return ResponseStore(deployment.open_ops().engine)


def response_config(deployment: Deployment) -> ResponseConfig:
    path = deployment.settings.respond_config
    if not path:
        raise ConfigError("no response file: set respond_config (or pass --respond-config)")
    return load_config(Path(path))


def open_responder(
    deployment: Deployment,
    subjects: SubjectLookup = unknown_subject,
    clock: Clock = utcnow,
    store: ResponseStore | None = None,
) -> Responder:
    """A Responder for this deployment (not started: use ``with`` or ``start()``). The
    key is the deployment's (created on first use, as ingest does), so a staff member's
    pseudonym is the same in every message and console."""
    return Responder(
        response_config(deployment),
        ingest_key(deployment.settings),
        store or response_store(deployment),
        subjects=subjects,
        clock=clock,
    )
