"""The running service: the store and its single writer, live detection, compaction,
metrics and the operational store, built from the settings. The HTTP layer (``api.py``)
and the tests drive this object; nothing here knows about HTTP."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb

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
from insiderwatch.web.readers import Readers, Stopping
from insiderwatch.web.writer import Writer

T = TypeVar("T")
log = logging.getLogger("insiderwatch.service")


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
        self.readers = Readers(self.store)
        self.state = "running"  # then "stopping", "stopped"
        # Why the last stop could not close the store (None: it closed, or no stop yet).
        self.stop_problem: str | None = None
        self._unpublished_at_stop: int | None = None
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
        """A reader's own cursor on the store, for the length of a request
        (:class:`Stopping` once the service stops)."""
        with self.readers.open() as reader:
            yield reader

    def health(self) -> Health:
        try:
            with self.reading() as store:
                waiting: int | None = unpublished_count(store)
        except Stopping:
            waiting = self._unpublished_at_stop
        alive = self.writer.alive
        # A collector that stopped (NATS unreachable at start) leaves HTTP working.
        collecting = self.collectors is None or not (
            self.collectors.error or self.collectors.collectors.error
        )
        running = "ok" if alive and collecting else "degraded"
        return Health(
            status=running if self.state == "running" else self.state,
            writer_alive=alive,
            queued=self.writer.pending,
            unpublished_alert_lines=waiting,
            stop_problem=self.stop_problem,
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

    def stop(self, writer_grace: float | None = None, reader_grace: float | None = None) -> None:
        """Stop taking work (requests get 503, collectors stop fetching), finish what
        was taken (the writer's queue, the last detection step, publishing), wait for the
        requests still reading, then close the store. What cannot be waited for within
        the graces (by default the settings ``stop_writer_grace_seconds``, minutes on a
        loaded machine, and ``stop_reader_grace_seconds``) leaves the store open: logged
        and in health, never raised, and nothing committed is lost (the next start
        detects and publishes the rest)."""
        if self.state != "running":  # stopped once already
            return
        if writer_grace is None:
            writer_grace = self.settings.stop_writer_grace_seconds
        if reader_grace is None:
            reader_grace = self.settings.stop_reader_grace_seconds
        self.state = "stopping"
        self.readers.refuse()
        problems = []
        if self.collectors:
            try:
                self.collectors.stop()
            except Exception as exc:  # logged; the writer still drains, the store closes
                log.error("stop: the collectors did not stop: %s", exc)
        writer_done = self.writer.stop(writer_grace)
        if not writer_done:
            problems.append(f"the writer was still at work after {writer_grace:g} s")
        # A writer still at work may be publishing through the responder: left open too.
        if self.responder and writer_done:
            try:
                self.responder.close()
            except Exception as exc:  # logged; the store still closes
                log.error("stop: the responder did not close: %s", exc)
        left = self.readers.drain(reader_grace)
        if left:
            problems.append(f"{left} request(s) still reading after their queries were interrupted")
        if not problems:
            problems = self._close_store()
        if problems:
            self.stop_problem = (f"the store was left open ({'; '.join(problems)}); what was "
                                 "committed is kept, and the next start goes on from it")  # fmt: skip
            log.error("stop: %s", self.stop_problem)
        self.state = "stopped"

    def _close_store(self) -> list[str]:
        """Close the store (no one uses it now); what went wrong, if anything."""
        try:
            self._unpublished_at_stop = unpublished_count(self.store)
            self.store.close()
        except duckdb.Error as exc:
            return [f"closing it failed: {exc}"]
        if self._unpublished_at_stop:
            log.warning("stop: %d alert line(s) not published yet (a sink failed); the next "
                        "start offers them again", self._unpublished_at_stop)  # fmt: skip
        return []
