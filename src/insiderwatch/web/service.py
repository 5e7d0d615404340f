"""The running service: the store and its single writer, live detection, compaction,
metrics and the operational store, built from the settings. The HTTP layer (``api.py``)
and the tests drive this object; nothing here knows about HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from insiderwatch.app.collect import StoreSink, collectors_for
from insiderwatch.app.contain import StoreSubjects
from insiderwatch.app.deployment import Deployment
from insiderwatch.app.keys import ingest_key
from insiderwatch.app.response import open_responder
from insiderwatch.app.upkeep import Checkpointer, Compactor, Sealer
from insiderwatch.contract.runs import Totals
from insiderwatch.store.duckdb_store import Store
from insiderwatch.store.loader import LoadCounts
from insiderwatch.web.collectors import CollectorThread
from insiderwatch.web.lines import LinesResult
from insiderwatch.web.live import (
    AlertSink,
    JsonlSink,
    LiveDetection,
    ResponderSink,
    prepare,
    unpublished_count,
)
from insiderwatch.web.metrics import Metrics
from insiderwatch.web.models import Health
from insiderwatch.web.ports import OpsPort
from insiderwatch.web.pseudonyms import Pseudonyms
from insiderwatch.web.writer import Writer

T = TypeVar("T")


class Service:
    def __init__(
        self, deployment: Deployment, ops: OpsPort, sinks: list[AlertSink] | None = None
    ) -> None:
        self.deployment, self.ops = deployment, ops
        self.settings = settings = deployment.settings
        self.store = deployment.open_store()
        self.key = ingest_key(settings)
        self.store.bind_key(self.key)
        prepare(self.store)
        self.pseudonyms = Pseudonyms(self.key)
        self.metrics = Metrics()
        sinks = list(sinks or [])
        if settings.alerts_out:
            sinks.append(JsonlSink(Path(settings.alerts_out)))
        # Last: a sink that failed makes every sink get the lines again, and the others
        # are the ones that ignore a line they already have.
        self.responder = None
        if settings.respond_config:
            self.responder = open_responder(deployment, subjects=StoreSubjects(self.store))
            sinks.append(ResponderSink(self.responder))
        self.live = LiveDetection(
            deployment,
            sinks,
            self.metrics,
            key=self.key,
            interval=settings.detect_interval_seconds,
            after_events=settings.detect_after_events,
            backlog=lambda: self.writer.pending,
        )
        self.writer = Writer(
            deployment,
            self.store,
            queue_size=settings.writer_queue,
            coalesce_rows=settings.coalesce_rows,
            on_loaded=self._loaded,
        )
        self.writer.duties = [
            self.live,
            Sealer(deployment),
            Compactor.for_deployment(deployment, on_merged=self.metrics.segments_compacted.inc),
            Checkpointer(),
        ]
        sink = StoreSink(deployment, self.key, write=self._write, on_loaded=self._count)
        found = collectors_for(sink)
        self.collectors = CollectorThread(found) if found.nats or found.tailer else None
        # Events stored before a restart that detection has not seen yet (the server was
        # killed between a load and a step) are picked up by the first step.
        self.live.arrived(self._undetected())

    def _undetected(self) -> int:
        last = int(self.store.meta("detect_last_batch") or 0)
        return int(
            self.store.scalar(
                "SELECT coalesce(sum(rows), 0) FROM event_segments "
                "WHERE table_name = 'access' AND batch_id > ?",
                [last],
            )
        )

    def _write(self, fn: Callable[[Store], T]) -> T:
        """Run ``fn`` on the writer (for the collectors; Busy when its queue is full, and
        then they do not acknowledge and get the events again)."""
        return self.writer.call(fn).result()

    def _loaded(self, table: str, results: list[LinesResult]) -> None:
        """Writer thread, after each HTTP batch."""
        self._count(table, results[0].batch.totals)

    def _count(self, table: str, totals: Totals | LoadCounts) -> None:
        """Writer thread, after each batch: count it and tell live detection."""
        m = self.metrics
        m.events_in.labels(table, "loaded").inc(totals.loaded)
        m.events_in.labels(table, "updated").inc(totals.updated)
        m.events_in.labels(table, "duplicate").inc(totals.duplicates)
        m.events_in.labels(table, "rejected").inc(totals.rejected)
        m.dead_letters.labels(table).inc(totals.rejected)
        if table == "access":
            self.live.arrived(totals.loaded)

    @contextmanager
    def reading(self) -> Iterator[Store]:
        """A reader's own cursor on the store, for the length of a request."""
        reader = self.store.reader()
        try:
            yield reader
        finally:
            reader.close()

    def health(self) -> Health:
        with self.reading() as store:
            waiting = unpublished_count(store)
        alive = self.writer.alive
        # A collector that stopped (NATS unreachable at start) leaves HTTP working.
        collecting = self.collectors is None or not (
            self.collectors.error or self.collectors.collectors.error
        )
        return Health(
            status="ok" if alive and collecting else "degraded",
            writer_alive=alive,
            queued=self.writer.pending,
            unpublished_alert_lines=waiting,
        )

    def flush(self, timeout: float = 120.0) -> None:
        """Wait until every queued request is loaded and detection has seen it (every
        waiting day: a live step covers at most ``days_per_step`` of them)."""
        self.writer.call(self.live.catch_up).result(timeout)

    def start(self) -> None:
        if self.responder:
            self.responder.start()
        self.writer.start()
        if self.collectors:
            self.collectors.start()

    def stop(self) -> None:
        if self.collectors:
            self.collectors.stop()
        self.writer.stop()
        if self.responder:
            self.responder.close()
        self.store.close()
