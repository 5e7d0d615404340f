"""Run the service under uvicorn: the analytics store, the operational store and the
HTTP API, from the settings."""

from __future__ import annotations

import gc

import uvicorn

from insiderwatch.app.deployment import from_settings
from insiderwatch.app.feedback import with_applied_suppressions
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


# Loading a batch makes a few objects per line (results, outcomes), so the collector
# triggers the cyclic garbage collector hundreds of times a second, and each older-
# generation pass walks every module loaded at start (FastAPI, pyarrow, DuckDB, SQLAlchemy):
# profiled, a fifth of the in-process ingest time. What exists once the service is built
# lives as long as the process, so it is frozen out of collection, and the youngest
# generation is collected after 50,000 allocations instead of 700.
GC_YOUNG_THRESHOLD = 50_000


def tune_gc() -> None:
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def serve(settings: Settings) -> None:
    """Serve until interrupted; the writer finishes its queue before the store closes."""
    service = build(settings)
    tune_gc()
    uvicorn.run(
        create_app(service),
        host=settings.host,
        port=settings.port,
        log_level="info",
        # One process: the store admits one writer.
        workers=1,
    )
