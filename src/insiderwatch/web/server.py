"""Run the service under uvicorn: the analytics store, the operational store and the
HTTP API, from the settings."""

from __future__ import annotations

import uvicorn

from insiderwatch.app.deployment import from_settings
from insiderwatch.app.feedback import with_applied_suppressions
from insiderwatch.app.process import long_running_gc
from insiderwatch.settings import Settings
from insiderwatch.web.api import create_app
from insiderwatch.web.ops_gate import OpsGate
from insiderwatch.web.service import Service


def build(settings: Settings) -> Service:
    """The service with the operational store as its gate and first alert sink."""
    deployment = from_settings(settings)
    gate = OpsGate(deployment.open_ops())
    # Suppressions applied from the console weigh in detection beside the rules file's.
    deployment = with_applied_suppressions(deployment, gate.store)
    return Service(deployment, gate, sinks=[gate])


def serve(settings: Settings) -> None:
    """Serve until interrupted; the writer finishes its queue before the store closes."""
    service = build(settings)
    # After the build: the service's long-lived objects are frozen with the modules.
    with long_running_gc():
        uvicorn.run(
            create_app(service),
            host=settings.host,
            port=settings.port,
            log_level="info",
            # One process: the store admits one writer.
            workers=1,
        )
