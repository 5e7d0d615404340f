"""Run the service under uvicorn: the analytics store, the operational store and the
HTTP API, from the settings."""

from __future__ import annotations

import uvicorn

from insiderwatch.app.ops import open_ops_store
from insiderwatch.settings import Settings
from insiderwatch.web.api import create_app
from insiderwatch.web.ops_gate import OpsGate
from insiderwatch.web.service import Service


def build(settings: Settings) -> Service:
    """The service with the operational store as its gate and first alert sink."""
    gate = OpsGate(open_ops_store(settings))
    return Service(settings, gate, sinks=[gate])


def serve(settings: Settings) -> None:
    """Serve until interrupted; the writer finishes its queue before the store closes."""
    service = build(settings)
    uvicorn.run(
        create_app(service),
        host=settings.host,
        port=settings.port,
        log_level="info",
        # One process: the store admits one writer.
        workers=1,
    )
