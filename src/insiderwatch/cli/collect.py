"""``insiderwatch collect``: run the continuous collectors (NATS, tailing) until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from pathlib import Path
from typing import Annotated

import typer

from insiderwatch.app import ingest_key, seal
from insiderwatch.app.collect import (
    Collectors,
    StoreSink,
    collectors_for,
    locked,
    run_collectors,
)
from insiderwatch.app.process import long_running_gc
from insiderwatch.app.upkeep import Checkpointer, Compactor, Sealer, run_upkeep
from insiderwatch.cli.app import (
    ConfigOption,
    DbOption,
    JsonOption,
    app,
    deployment_for,
    err,
    fail,
    note_aborted,
    note_evidence,
    print_json,
)
from insiderwatch.errors import InsiderwatchError


async def _until_signal(collectors: Collectors, seconds: float | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if seconds is not None:
        loop.call_later(seconds, stop.set)
    if collectors.nats is not None:
        await collectors.nats.connect()  # a wrong URL fails the command at once
    # Sealing as the service does; compaction merges, at start, what detection read
    # while collection was stopped (only read segments merge, and a separate detection
    # run cannot open the store while this process holds it).
    deployment = collectors.sink.deployment
    duties = [Sealer(deployment), Compactor.for_deployment(deployment, grace=0.0), Checkpointer()]
    upkeep = asyncio.create_task(run_upkeep(collectors.sink.write, duties, stop))
    try:
        await run_collectors(collectors, stop)
    finally:
        stop.set()
        await upkeep


def _summary(collectors: Collectors, seconds: float) -> dict:
    loaded = collectors.sink.loaded
    summary: dict = {"seconds": round(seconds, 1), **loaded.as_dict()}
    summary["reasons"] = dict(loaded.reasons)
    if collectors.nats is not None:
        counters = collectors.nats.counters
        summary["nats"] = {k: v for k, v in vars(counters).items() if k != "by_source"} | {
            "by_source": dict(counters.by_source)
        }
    if collectors.tailer is not None:
        summary["tail"] = {
            "reads": collectors.tailer.reads,
            "errors": {str(p): e for p, e in collectors.tailer.errors.items()},
        }
    return summary


@app.command("collect")
def collect(
    db: DbOption = None,
    config: ConfigOption = None,
    nats_url: Annotated[
        str | None,
        typer.Option(
            help="NATS server to consume from (the nats_url setting).", show_default=False
        ),
    ] = None,
    tail_sources: Annotated[
        Path | None,
        typer.Option(
            help="YAML file of logs to tail (the tail_sources setting).", show_default=False
        ),
    ] = None,
    seconds: Annotated[
        float | None,
        typer.Option(
            "--for",
            help="Stop after this many seconds (default: until Ctrl-C).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Consume events from NATS JetStream and tail logs into the store until stopped.

    Events are committed before they are acknowledged, so a restart resumes without
    losing or double counting any. `insiderwatch serve` runs the same collectors."""
    deployment = deployment_for(db, config, nats_url=nats_url, tail_sources=tail_sources)
    if not deployment.settings.nats_url and not deployment.settings.tail_sources:
        raise fail(
            "nothing to collect: set nats_url or tail_sources (or --nats-url, --tail-sources)"
        )
    began = time.perf_counter()
    try:
        key = ingest_key(deployment.settings)
        with deployment.open_store() as store:
            note_aborted(store.aborted)
            store.bind_key(key)
            collectors = collectors_for(StoreSink(deployment, key, locked(store)))
            err.print("collecting; Ctrl-C stops")
            with contextlib.suppress(KeyboardInterrupt), long_running_gc():
                asyncio.run(_until_signal(collectors, seconds))
            note_evidence(seal(store, deployment))
    except InsiderwatchError as exc:
        raise fail(exc) from None
    summary = _summary(collectors, time.perf_counter() - began)
    if as_json:
        print_json(summary)
    else:
        err.print(
            f"collected for {summary['seconds']} s: {summary['loaded']:,} loaded, "
            f"{summary['duplicates']:,} duplicates, {summary['rejected']:,} rejected"
        )
