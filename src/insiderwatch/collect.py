"""Run the continuous collectors (NATS JetStream, log tailing) against the store.

:class:`StoreSink` is what the collectors commit through: the same loader as files (one
transaction per batch: events, dead letters and counters together), behind a lock so
that the collectors, each on its own thread, take turns as the store's one writer.
:func:`run_collectors` starts the ones the settings enable and runs until stopped.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from insiderwatch.contract import TABLES
from insiderwatch.ingest_sources import SourceFileResult, ingest_log_file, source_options
from insiderwatch.privacy import HashKey
from insiderwatch.settings import Settings
from insiderwatch.sources.readers import RawBatch
from insiderwatch.sources.streams.nats import NatsCollector, NatsConfig
from insiderwatch.sources.streams.tail import Tailer, TailSource, load_tail_sources
from insiderwatch.store import Store
from insiderwatch.store.loader import BatchLoader, LoadCounts


@dataclass
class StoreSink:
    """Commits collector batches into one store, one writer at a time."""

    store: Store
    key: HashKey
    settings: Settings
    lock: threading.Lock = field(default_factory=threading.Lock)
    loaded: LoadCounts = field(default_factory=LoadCounts)

    def commit(self, origin: str, table: str, batch: RawBatch) -> LoadCounts:
        with self.lock:
            store = self.store
            batch_id = store.new_batch(table, origin, origin.split(":", 1)[0])
            loader = BatchLoader(
                store, TABLES[table], origin, batch_id, self.key, self.settings.phone_region
            )
            try:
                counts = loader.load_in_transaction(batch)
            except BaseException:
                store.finish_batch(batch_id, {}, "failed")
                raise
            store.finish_batch(batch_id, counts.as_dict())
            self.loaded.add(counts)
            return counts

    def healthy(self) -> bool:
        with self.lock:
            try:
                self.store.con.execute("SELECT count(*) FROM ingest_batches").fetchall()
            except duckdb.Error:
                return False
            return True

    def read_log(self, source: TailSource, path: Path) -> SourceFileResult:
        mapping = Path(source.mapping) if source.mapping else None
        options = source_options(self.settings, mapping)
        with self.lock:
            result = ingest_log_file(
                self.store,
                source.kind,
                path,
                self.key,
                options,
                phone_region=self.settings.phone_region,
            )
            self.loaded.add(result.counts)
            return result


@dataclass
class Collectors:
    """The collectors the settings enable; ``nats`` and ``tailer`` are None when off."""

    sink: StoreSink
    nats: NatsCollector | None = None
    tailer: Tailer | None = None


def collectors_for(sink: StoreSink) -> Collectors:
    settings = sink.settings
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
            await collectors.nats.run(stop)
        else:
            await stop.wait()
    finally:
        halt.set()
        if collectors.nats is not None:
            await collectors.nats.close()
        if tail_thread is not None:
            await asyncio.to_thread(tail_thread.join)
