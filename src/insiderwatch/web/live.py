"""Live detection: the engine advances on arriving events, in short steps, and every new
line of the alert history is published once.

A step is exactly what ``insiderwatch detect`` does (``detect_step``: from the watermark
to the latest event, late events rewinding it), so the live alert history is the history a
replay of the same events gives. It runs on the writer thread (it writes the engine's
state) when ``detect_after_events`` events have been loaded, or ``detect_interval_seconds``
after the first event it has not seen yet. While loads wait in the writer's queue, a step
also waits as long as the last one took after it ended (so detection holds the writer at
most about half the time while the queue is full); with nothing waiting it does not, since
resting would only delay the alert.

Publishing is at least once, and each sink is idempotent on (alert_id, revision): a line is
marked published in the store only after every sink took it; a sink that fails (the ops
database is down) is retried with backoff, and nothing is marked meanwhile, so nothing is
lost and a restart re-offers only lines no sink confirmed.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import msgspec

from insiderwatch.alerts import read_alert_history
from insiderwatch.app.deployment import Deployment
from insiderwatch.app.detect import detect_step
from insiderwatch.contract import Alert
from insiderwatch.privacy import HashKey
from insiderwatch.respond.responder import Responder
from insiderwatch.store.duckdb_store import Store
from insiderwatch.web.metrics import Metrics

log = logging.getLogger("insiderwatch.live")

_PUBLISHED_DDL = """CREATE TABLE IF NOT EXISTS published_alerts (
  alert_id VARCHAR NOT NULL,
  revision INTEGER NOT NULL,
  published_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (alert_id, revision)
)"""


class AlertSink(Protocol):
    """Where new alert lines go. ``publish`` must be idempotent on (alert_id, revision)
    and raise when the lines were not taken."""

    name: str

    def publish(self, lines: list[Alert]) -> None: ...


class JsonlSink:
    """Appends each alert line to a JSON Lines file once, even across restarts."""

    name = "alerts_out"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.seen: set[tuple[str, int]] = set()
        if self.path.exists():
            for raw in self.path.read_bytes().splitlines():
                line = msgspec.json.decode(raw, type=Alert)
                self.seen.add((line.alert_id, line.revision))

    def publish(self, lines: list[Alert]) -> None:
        fresh = [a for a in lines if (a.alert_id, a.revision) not in self.seen]
        if not fresh:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as fh:
            fh.write(b"".join(msgspec.json.encode(a) + b"\n" for a in fresh))
        self.seen.update((a.alert_id, a.revision) for a in fresh)


class ResponderSink:
    """Hands new alert lines to the responder (delivery and containment). It queues
    notices and records containment at once; a containment action is never started twice
    for one alert, and notices carry ids a receiver can deduplicate on."""

    name = "responder"

    def __init__(self, responder: Responder) -> None:
        self.responder = responder

    def publish(self, lines: list[Alert]) -> None:
        self.responder.handle(lines)


def prepare(store: Store) -> None:
    """Create the table of published lines (before the writer starts)."""
    store.con.execute(_PUBLISHED_DDL)


def unpublished(store: Store) -> list[Alert]:
    """Lines of the alert history no sink has confirmed yet, in history order."""
    # The anti-join runs in DuckDB: only the few unpublished lines become records.
    return read_alert_history(
        store,
        "NOT EXISTS (SELECT 1 FROM published_alerts p "
        "WHERE p.alert_id = alerts.alert_id AND p.revision = alerts.revision)",
    )


def unpublished_count(store: Store) -> int:
    if not store.has_table("alerts"):
        return 0
    return int(
        store.scalar(
            "SELECT count(*) FROM alerts a ANTI JOIN published_alerts p USING (alert_id, revision)"
        )
    )


class LiveDetection:
    """The writer's detection duty."""

    def __init__(
        self,
        deployment: Deployment,
        sinks: list[AlertSink],
        metrics: Metrics,
        *,
        key: HashKey | None = None,
        interval: float = 0.5,
        after_events: int = 20_000,
        retry_max: float = 30.0,
        backlog: Callable[[], int] = lambda: 0,
        days_per_step: int = 1,
    ) -> None:
        self.deployment, self.sinks, self.metrics = deployment, sinks, metrics
        self.key = key  # the service's hashing key (alert ids are keyed with it)
        self.backlog = backlog  # loads waiting for the writer
        # A backlog of several days is detected (and its alerts published) a day at a
        # time: the first day's alerts need not wait for the last day's detection.
        self.days_per_step = days_per_step
        self.interval, self.after_events, self.retry_max = interval, max(1, after_events), retry_max
        self.new_events = 0
        self.waiting_since: float | None = None  # first event loaded since the last step
        self.retry_at: float | None = None  # when publishing failed: try again then
        self.failures = 0
        self.steps = 0
        # While loads are waiting, the next step waits at least as long as the last one
        # took, so detection holds the writer at most half the time and loading keeps up.
        self.rest_until = 0.0

    def arrived(self, events: int) -> None:
        """Events were loaded (called on the writer thread)."""
        if events <= 0:
            return
        self.new_events += events
        if self.waiting_since is None:
            self.waiting_since = time.monotonic()

    def due(self, now: float) -> float | None:
        waits = []
        if self.waiting_since is not None:
            self.metrics.lag.set(now - self.waiting_since)
            due_at = self.waiting_since + self.interval
            if self.backlog() > 0:
                due_at = max(due_at, self.rest_until)
            waits.append(0.0 if self.new_events >= self.after_events else due_at - now)
        if self.retry_at is not None:
            waits.append(self.retry_at - now)
        return min(waits) if waits else None

    def run(self, store: Store) -> bool:
        """One step over what has arrived, then publishing; True when the step stopped
        at its day limit and the next one is due at once."""
        more = False
        if self.waiting_since is not None:
            began, arrived = time.monotonic(), self.new_events
            self.new_events, self.waiting_since = 0, None
            try:
                # Its lines reach the ops store through publishing below (the ops sink).
                step = detect_step(
                    self.deployment,
                    store=store,
                    record=False,
                    key=self.key,
                    max_days=self.days_per_step,
                )
                self.steps += 1
                if not step.caught_up:  # the next step is due at once
                    self.new_events, self.waiting_since = arrived, began
                    more = True
            except Exception as exc:
                # The step failed: it runs again at the next interval (a step with
                # nothing new is cheap) and publishing below retries any lines.
                self.new_events, self.waiting_since = arrived, began
                log.warning("live detection step: %s", exc)
            ended = time.monotonic()
            self.metrics.step_seconds.observe(ended - began)
            self.rest_until = ended + (ended - began)
            if self.waiting_since is None:
                self.metrics.lag.set(0)
        self.publish(store)
        return more

    def catch_up(self, store: Store) -> None:
        """Step until every loaded event is detected and its lines are published (a
        failed step ends it: ``run`` logged why and retries at the next interval)."""
        while self.run(store):
            pass

    def publish(self, store: Store) -> None:
        lines = unpublished(store)
        if not lines:
            self.retry_at, self.failures = None, 0
            return
        for sink in self.sinks:
            try:
                sink.publish(lines)
            except Exception as exc:
                self.metrics.publish_failures.labels(sink.name).inc()
                self.failures += 1
                backoff = min(self.retry_max, 0.5 * 2 ** min(self.failures, 8))
                self.retry_at = time.monotonic() + backoff
                log.warning("publishing %d alert line(s) to %s failed (%s); retrying in %.1f s",
                            len(lines), sink.name, exc, backoff)  # fmt: skip
                return
        store.con.executemany(
            "INSERT OR IGNORE INTO published_alerts VALUES (?, ?, now())",
            [(a.alert_id, a.revision) for a in lines],
        )
        self.metrics.alert_lines.inc(len(lines))
        self.retry_at, self.failures = None, 0
