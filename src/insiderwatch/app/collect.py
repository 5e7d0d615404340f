"""Collect continuously: the NATS JetStream consumer and log tailing, into the store.

:class:`StoreSink` is what the collectors commit through: the one ingest pipeline (each
batch in its own transaction: events, dead letters and counters together), behind a lock
(or the service's writer task) so that the collectors, each on its own thread, take turns
as the store's one writer.
:func:`run_collectors` runs the ones the settings enable until stopped.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from insiderwatch.app.deployment import Deployment
from insiderwatch.errors import InsiderwatchError
from insiderwatch.ingest.logs import SourceFileResult, ingest_log_file
from insiderwatch.ingest.pipeline import load
from insiderwatch.privacy import HashKey
from insiderwatch.sources.readers import RawBatch
from insiderwatch.sources.streams.nats import NatsCollector, NatsConfig
from insiderwatch.sources.streams.tail import Tailer, TailSource, load_tail_sources
from insiderwatch.store import Store
from insiderwatch.store.loader import LoadCounts

log = logging.getLogger(__name__)

T = TypeVar("T")
Write = Callable[[Callable[[Store], T]], T]  # runs a function as the store's one writer


def locked(store: Store) -> Write:
    """Writes to ``store`` one at a time, under a lock (the service passes its writer
    task's queue instead)."""
    lock = threading.Lock()

    def write(fn: Callable[[Store], T]) -> T:
        with lock:
            return fn(store)

    return write


@dataclass
class StoreSink:
    """Commits collector batches through the store's one writer."""

    deployment: Deployment
    key: HashKey
    write: Write
    # Told after each commit (table, counts): the service's metrics and live detection.
    on_loaded: Callable[[str, LoadCounts], None] | None = None
    loaded: LoadCounts = field(default_factory=LoadCounts)

    def commit(self, origin: str, table: str, batch: RawBatch) -> LoadCounts:
        """Load one batch; raises when it did not commit (the collector must not ack)."""
        fmt = origin.split(":", 1)[0]
        region = self.deployment.phone_region

        def run(store: Store) -> LoadCounts:
            done = load(store, table, origin, fmt, self.key, [batch], phone_region=region)
            if done.error:
                raise InsiderwatchError(done.error)
            self._count(table, done.counts)
            return done.counts

        return self.write(run)

    def healthy(self) -> bool:
        try:
            self.write(lambda store: store.con.execute("SELECT 1").fetchall())
        except Exception:  # whatever keeps the writer from answering is unhealthy
            return False
        return True

    def read_log(self, source: TailSource, path: Path) -> SourceFileResult:
        options = self.deployment.source_options(Path(source.mapping) if source.mapping else None)

        def run(store: Store) -> SourceFileResult:
            result = ingest_log_file(
                store,
                source.kind,
                path,
                self.key,
                options,
                phone_region=self.deployment.phone_region,
            )
            self._count(result.table, result.counts)
            return result

        return self.write(run)

    def _count(self, table: str, counts: LoadCounts) -> None:
        self.loaded.add(counts)
        if self.on_loaded:
            self.on_loaded(table, counts)


@dataclass
class Collectors:
    """The collectors the settings enable; ``nats`` and ``tailer`` are None when off."""

    sink: StoreSink
    nats: NatsCollector | None = None
    tailer: Tailer | None = None
    error: InsiderwatchError | None = None  # why NATS stopped (unreachable at start)


def collectors_for(sink: StoreSink) -> Collectors:
    """The collectors the deployment's settings enable (a bad tail file fails here)."""
    settings = sink.deployment.settings
    found = Collectors(sink)
    if settings.nats_url:
        found.nats = NatsCollector(NatsConfig.from_settings(settings), sink)
    if settings.tail_sources:
        sources = load_tail_sources(Path(settings.tail_sources))
        found.tailer = Tailer(sources, sink.read_log, settings.tail_interval)
    return found


async def run_collectors(collectors: Collectors, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set: NATS on this event loop, tailing on a thread."""
    halt = threading.Event()
    tail_thread = None
    if collectors.tailer is not None:
        tail_thread = threading.Thread(
            target=collectors.tailer.run, args=(halt,), name="tail", daemon=True
        )
        tail_thread.start()
    try:
        if collectors.nats is not None:
            try:
                await collectors.nats.run(stop)
            except InsiderwatchError as exc:
                # Tailing goes on without NATS; the error is there for /healthz and logs.
                log.error("NATS collector stopped: %s", exc)
                collectors.error = exc
                collectors.nats = None
        await stop.wait()
    finally:
        halt.set()
        if collectors.nats is not None:
            await collectors.nats.close()
        if tail_thread is not None:
            await asyncio.to_thread(tail_thread.join)
