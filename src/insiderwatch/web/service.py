"""The running service: the store and its single writer, live detection, compaction,
metrics and the operational store, built from the settings. The HTTP layer (``api.py``)
and the tests drive this object; nothing here knows about HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from insiderwatch.app.collect import CollectorThread, StoreSink, collectors_for
from insiderwatch.app.contain import StoreSubjects
from insiderwatch.app.deployment import Deployment
from insiderwatch.app.keys import ingest_key
from insiderwatch.app.response import open_responder
from insiderwatch.store.duckdb_store import Store
from insiderwatch.store.loader import LoadCounts
from insiderwatch.web.duties import Compactor, Sealer
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
            interval=settings.detect_interval_seconds,
            after_events=settings.detect_after_events,
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
            Compactor(
                self.metrics,
                min_segments=settings.compact_min_segments,
                small_rows=max(settings.batch_rows // 4, 1),
            ),
        ]
        # The NATS and tailing collectors the settings enable commit through the writer
        # too (a full queue makes them back off, as it makes HTTP clients retry).
        collectors = collectors_for(
            StoreSink(deployment, self.key, self._write, on_loaded=self._collected)
        )
        enabled = collectors.nats is not None or collectors.tailer is not None
        self.collectors = CollectorThread(collectors) if enabled else None
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

    def _loaded(self, table: str, results: list[LinesResult]) -> None:
        """Writer thread, after each batch: count it and tell live detection."""
        totals = results[0].batch.totals
        m = self.metrics
        m.events_in.labels(table, "loaded").inc(totals.loaded)
        m.events_in.labels(table, "updated").inc(totals.updated)
        m.events_in.labels(table, "duplicate").inc(totals.duplicates)
        m.events_in.labels(table, "rejected").inc(totals.rejected)
        m.dead_letters.labels(table).inc(totals.rejected)
        if table == "access":
            self.live.arrived(totals.loaded)

    def _write(self, fn):
        """Run ``fn(store)`` as the writer (from a collector's thread) and wait for it."""
        return self.writer.call(fn).result()

    def _collected(self, table: str, counts: LoadCounts) -> None:
        """Writer thread, after a collector's batch: the same accounting as HTTP's."""
        m = self.metrics
        for outcome, n in (
            ("loaded", counts.loaded),
            ("updated", counts.updated),
            ("duplicate", counts.duplicates),
            ("rejected", counts.rejected),
        ):
            m.events_in.labels(table, outcome).inc(n)
        m.dead_letters.labels(table).inc(counts.rejected)
        if table == "access":
            self.live.arrived(counts.loaded)

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
        collecting = self.collectors is None or self.collectors.error is None
        return Health(
            status="ok" if alive and collecting else "degraded",
            writer_alive=alive,
            queued=self.writer.pending,
            unpublished_alert_lines=waiting,
        )

    def flush(self, timeout: float = 120.0) -> None:
        """Wait until every queued request is loaded and detection has seen it."""
        self.writer.call(self.live.run).result(timeout)

    def start(self) -> None:
        if self.responder:
            self.responder.start()
        self.writer.start()
        if self.collectors is not None:
            self.collectors.start()

    def stop(self) -> None:
        if self.collectors is not None:
            self.collectors.stop()  # their last batches go through the writer first
        self.writer.stop()
        if self.responder:
            self.responder.close()
        self.store.close()
