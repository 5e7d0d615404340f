"""Upkeep the writer does between jobs: sealing the evidence log and compacting
segments. Both write, so both run on the writer thread."""

from __future__ import annotations

import time
from pathlib import Path

from insiderwatch.app.deployment import Deployment
from insiderwatch.app.ingest import seal
from insiderwatch.store.compact import compact_segments
from insiderwatch.store.duckdb_store import Store
from insiderwatch.web.metrics import Metrics


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

    def __init__(self, deployment: Deployment, every: float = 5.0) -> None:
        super().__init__(every)
        self.deployment = deployment

    def work(self, store: Store) -> None:
        seal(store, self.deployment)


class Compactor(Every):
    """Merges small segments, and deletes the files it replaced once no query that began
    before the switch can still be reading them. First due at start: what a collector
    left small before a restart merges at once. One merge per run (a merge of a load
    batch's worth of events holds the writer for seconds): when more are waiting, it is
    due again after a second, so queued requests are loaded in between."""

    def __init__(
        self, metrics: Metrics, small_rows: int, max_rows: int, *, min_segments: int,
        every: float = 10.0, grace: float = 60.0,
    ) -> None:  # fmt: skip
        super().__init__(every, first=0.0)
        self.metrics = metrics
        self.min_segments, self.small_rows, self.grace = min_segments, small_rows, grace
        self.max_rows = max_rows
        self.retired: list[tuple[float, Path]] = []

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
        self.metrics.segments_compacted.inc(done.merged)
        self.retired += [(now + self.grace, p) for p in done.retired]
        if done.pending:
            self.next_at = min(self.next_at, time.monotonic() + 1.0)
