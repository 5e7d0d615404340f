"""Upkeep a long-running writer does between jobs: sealing the evidence log,
compacting segments and checkpointing the store. Both write, so both run as the store's one writer: on the service's
writer thread (``web/writer.py`` runs them between jobs) and, in ``insiderwatch collect``,
through the collectors' lock (:func:`run_upkeep`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from insiderwatch.app.compact import compaction_limits
from insiderwatch.app.deployment import Deployment
from insiderwatch.app.ingest import seal
from insiderwatch.store.compact import compact_segments
from insiderwatch.store.duckdb_store import Store

log = logging.getLogger(__name__)

SEAL_EVERY = 5.0  # seconds between evidence seals, in the service and in collect
CHECKPOINT_EVERY = 10.0  # seconds between store checkpoints, likewise


class Every:
    """A duty due every ``every`` seconds."""

    def __init__(self, every: float, first: float | None = None) -> None:
        self.every = every
        self.next_at = time.monotonic() + (every if first is None else first)

    def due(self, now: float) -> float | None:
        return self.next_at - now

    def run(self, store: Store) -> None:
        self.next_at = time.monotonic() + self.every
        self.work(store)

    def work(self, store: Store) -> None:
        raise NotImplementedError


class Sealer(Every):
    """Appends the batches loaded since the last seal to the evidence log (and signs the
    head when a key is set up): once every few seconds rather than per request."""

    def __init__(self, deployment: Deployment, every: float = SEAL_EVERY) -> None:
        super().__init__(every)
        self.deployment = deployment
        self.leaves = 0  # appended so far

    def work(self, store: Store) -> None:
        self.leaves += seal(store, self.deployment).leaves


class Compactor(Every):
    """Merges small segments, and deletes the files it replaced once no query that began
    before the switch can still be reading them. First due at start: what a collector
    left small before a restart (and, for ``insiderwatch collect``, what detection read
    while it was stopped) merges at once. One merge per run (a merge of a load batch's
    worth of events holds the writer for seconds): when more are waiting, it is due again
    after a second, so queued requests are loaded in between."""

    def __init__(
        self, small_rows: int, max_rows: int, *, min_segments: int,
        every: float = 10.0, grace: float = 60.0,
        on_merged: Callable[[int], None] | None = None,
    ) -> None:  # fmt: skip
        super().__init__(every, first=0.0)
        self.min_segments, self.small_rows, self.grace = min_segments, small_rows, grace
        self.max_rows = max_rows
        self.on_merged = on_merged  # the service's metric
        self.merged = 0
        self.retired: list[tuple[float, Path]] = []

    @classmethod
    def for_deployment(cls, deployment: Deployment, **kw) -> Compactor:
        settings = deployment.settings
        return cls(*compaction_limits(settings), min_segments=settings.compact_min_segments, **kw)

    def work(self, store: Store) -> None:
        now = time.monotonic()
        for _due, path in [r for r in self.retired if r[0] <= now]:
            path.unlink(missing_ok=True)
        self.retired = [r for r in self.retired if r[0] > now]
        if self.min_segments < 2:
            return
        done = compact_segments(
            store, small_rows=self.small_rows, max_rows=self.max_rows,
            min_segments=self.min_segments, max_merges=1,
        )  # fmt: skip
        self.merged += done.merged
        if self.on_merged:
            self.on_merged(done.merged)
        self.retired += [(now + self.grace, p) for p in done.retired]
        if done.pending:
            self.next_at = min(self.next_at, time.monotonic() + 1.0)


class Checkpointer(Every):
    """Checkpoints the store every few seconds, so that no commit does (first due at
    start, where it turns DuckDB's own checkpoints in commits off,
    :meth:`~insiderwatch.store.duckdb_store.Store.defer_checkpoints`). A live step
    committed every second, and DuckDB checkpointed inside every second or third of
    those commits; one checkpoint every few seconds writes the steps' repeated rewrites
    of the same day's rows once, off the steps' path."""

    def __init__(self, every: float = CHECKPOINT_EVERY) -> None:
        super().__init__(every, first=0.0)
        self.checkpoints = 0

    def work(self, store: Store) -> None:
        store.defer_checkpoints()
        store.checkpoint()
        self.checkpoints += 1


Write = Callable[[Callable[[Store], object]], object]


async def run_upkeep(write: Write, duties: Sequence[Every], stop: asyncio.Event) -> None:
    """Run ``duties`` when due, through ``write`` (the store's one writer), until ``stop``
    (the caller seals what was stored last). A duty that fails is logged and retried
    when next due: a collector keeps collecting."""

    def run_due() -> None:
        now = time.monotonic()
        for duty in duties:
            wait = duty.due(now)
            if wait is not None and wait <= 0:
                try:
                    write(duty.run)
                except Exception:  # retried when next due
                    log.exception("%s failed", type(duty).__name__)

    while not stop.is_set():
        await asyncio.to_thread(run_due)
        now = time.monotonic()
        waits = [w for d in duties if (w := d.due(now)) is not None]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, min(waits, default=0.5)))
