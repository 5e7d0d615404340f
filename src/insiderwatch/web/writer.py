"""The store's single writer: one thread owns the read-write DuckDB connection.

DuckDB admits one writing connection per database, and a transaction per batch; so, as in
Datasette's ``execute_write_fn``, every write is a job queued for this thread and everyone
else reads through their own cursor (``Store.reader``). The queue is bounded: when it is
full a new job is refused at once (:class:`Busy`, the HTTP layer answers 503 with
Retry-After) instead of the server holding unbounded work in memory. Queued ingest jobs of
one table and source are loaded together (coalesced) up to ``coalesce_rows`` lines, so a
burst of small requests makes one batch and one segment. Between jobs the writer does its
duties (live detection, compaction) when they are due.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Protocol

from insiderwatch.app.deployment import Deployment
from insiderwatch.store.duckdb_store import Store
from insiderwatch.web.lines import LinesResult, load_lines

log = logging.getLogger("insiderwatch.writer")


class Busy(Exception):
    """The writer's queue is full: try again later."""


class Duty(Protocol):
    """Periodic work the writer does between jobs (it alone may write)."""

    def due(self, now: float) -> float | None:
        """Seconds until due (<= 0: now), or None when there is nothing to do."""

    def run(self, store: Store) -> bool | None:
        """Do it; True when more is due at once (a stop then runs it again)."""


@dataclass
class _Ingest:
    table: str
    source: str
    lines: list[str]
    future: Future = field(default_factory=Future)


@dataclass
class _Call:
    fn: Callable[[Store], Any]
    future: Future = field(default_factory=Future)


_STOP = object()


class Writer:
    def __init__(
        self,
        deployment: Deployment,
        store: Store,
        *,
        queue_size: int = 64,
        coalesce_rows: int = 50_000,
        on_loaded: Callable[[str, list[LinesResult]], None] | None = None,
    ) -> None:
        self.deployment, self.store = deployment, store
        self.coalesce_rows = max(1, coalesce_rows)
        self.on_loaded = on_loaded
        self.duties: list[Duty] = []
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, queue_size))
        self._held: list[Any] = []  # jobs taken while coalescing that did not fit
        self._intake = threading.Lock()  # a job is queued before the stop, or refused
        self._stopping = False
        # When the stop's forced detection starts no further step (see stop()).
        self._last_step_by = float("inf")
        self._thread = threading.Thread(target=self._loop, name="insiderwatch-writer", daemon=True)

    # -- for other threads ----------------------------------------------------------------
    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> bool:
        """Refuse new jobs, finish the queued ones and the duties, then stop; False when
        the thread still works after ``timeout`` seconds (it then holds the store)."""
        with self._intake:
            self._stopping = True
        if self._thread.is_alive():
            deadline = time.monotonic() + timeout
            # A backlog of days can outlast the grace: no new step starts after half of
            # it, so the step under way can finish within the other half and the store
            # is closed cleanly; the next start detects the rest from the watermark.
            self._last_step_by = time.monotonic() + timeout / 2
            try:  # the queue drains, so there is room for the stop before long
                self._queue.put(_STOP, timeout=timeout)
            except queue.Full:
                return False
            self._thread.join(max(0.0, deadline - time.monotonic()))
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def ingest(self, table: str, source: str, lines: list[str]) -> Future:
        """Queue lines for loading; the future gives their :class:`LinesResult`."""
        return self._put(_Ingest(table, source, lines))

    def call(self, fn: Callable[[Store], Any]) -> Future:
        """Run ``fn(store)`` on the writer thread (any write that is not an ingest)."""
        return self._put(_Call(fn))

    def _put(self, job):
        with self._intake:
            if self._stopping or not self._thread.is_alive():
                # Queued after the stop, the job would never run and its caller never
                # hear back.
                raise Busy(
                    "the writer is stopping" if self._stopping else "the writer is not running"
                )
            try:
                self._queue.put_nowait(job)
            except queue.Full:
                raise Busy(f"{self._queue.maxsize} requests are already waiting") from None
        return job.future

    # -- the writer thread ----------------------------------------------------------------
    def _next(self, timeout: float | None):
        if self._held:
            return self._held.pop(0)
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def _loop(self) -> None:
        while True:
            job = self._next(self._wait())
            if job is _STOP:
                self._run_duties(force=True)
                return
            if isinstance(job, _Ingest):
                self._ingest(job)
            elif isinstance(job, _Call):
                self._call(job)
            self._run_duties()

    def _wait(self) -> float:
        now = time.monotonic()
        waits = [w for d in self.duties if (w := d.due(now)) is not None]
        return max(0.0, min(waits)) if waits else 0.5

    def _run_duties(self, force: bool = False) -> None:
        now = time.monotonic()
        for duty in self.duties:
            wait = duty.due(now)
            if wait is not None and (force or wait <= 0):
                # Forced (the stop), a duty runs until done: live detection over every
                # waiting day, not only the first.
                while self._run_duty(duty) and force and time.monotonic() < self._last_step_by:
                    pass

    def _run_duty(self, duty: Duty) -> bool:
        try:
            return bool(duty.run(self.store))
        except Exception:  # a duty that fails retries when next due
            log.exception("%s failed", type(duty).__name__)
            return False

    def _coalesce(self, first: _Ingest) -> list[_Ingest]:
        """``first`` and the queued ingest jobs of the same table and source after it,
        up to ``coalesce_rows`` lines; anything else taken is held for the next round."""
        jobs, rows = [first], len(first.lines)
        while rows < self.coalesce_rows:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            same = (
                isinstance(job, _Ingest)
                and (job.table, job.source) == (first.table, first.source)
                and rows + len(job.lines) <= self.coalesce_rows
            )
            if not same:
                self._held.append(job)
                break
            jobs.append(job)
            rows += len(job.lines)
        return jobs

    def _ingest(self, first: _Ingest) -> None:
        jobs = self._coalesce(first)
        try:
            results = load_lines(
                self.deployment, self.store, first.table, first.source, [j.lines for j in jobs]
            )
        except Exception as exc:
            for job in jobs:
                job.future.set_exception(exc)
            return
        if self.on_loaded:
            self.on_loaded(first.table, results)
        for job, result in zip(jobs, results, strict=True):
            job.future.set_result(result)

    def _call(self, job: _Call) -> None:
        try:
            job.future.set_result(job.fn(self.store))
        except Exception as exc:
            job.future.set_exception(exc)
