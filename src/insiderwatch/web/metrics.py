"""The service's Prometheus metrics, in a registry of its own (one per running app, so
tests can run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events_in = Counter(
            "insiderwatch_events", "Lines received by the collector, by outcome.",
            ["table", "outcome"], registry=r,
        )  # fmt: skip
        self.dead_letters = Counter(
            "insiderwatch_dead_letters", "Lines kept as dead letters.", ["table"], registry=r
        )
        self.requests_refused = Counter(
            "insiderwatch_requests_refused", "Collector requests refused, by HTTP status.",
            ["status"], registry=r,
        )  # fmt: skip
        self.queue_depth = Gauge(
            "insiderwatch_writer_queue", "Jobs waiting for the store's writer.", registry=r
        )
        self.lag = Gauge(
            "insiderwatch_detect_lag_seconds",
            "Seconds the oldest loaded event not yet through detection has waited (0: caught up).",
            registry=r,
        )
        self.step_seconds = Histogram(
            "insiderwatch_detect_step_seconds", "Duration of a live detection step.",
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60), registry=r,
        )  # fmt: skip
        self.alert_lines = Counter(
            "insiderwatch_alert_lines", "Alert history lines published.", registry=r
        )
        self.publish_failures = Counter(
            "insiderwatch_publish_failures", "Failed attempts to publish alert lines, by sink.",
            ["sink"], registry=r,
        )  # fmt: skip
        self.segments_compacted = Counter(
            "insiderwatch_segments_compacted", "Event segments merged by compaction.", registry=r
        )
