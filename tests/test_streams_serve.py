"""`insiderwatch serve` with the NATS collector and tailing on: events arriving over NATS
and from a tailed log go through the service's one writer and its live detection, and the
live alert history equals a replay of the same events."""

from __future__ import annotations

import asyncio
import time

import nats
import nats.js.errors
from fastapi.testclient import TestClient

from insiderwatch.alerts import read_alert_history
from insiderwatch.sources.streams.nats import NatsConfig
from insiderwatch.web.api import create_app
from test_streams_nats import nats_server, publish  # noqa: F401  (the fixture)
from test_streams_tail import MAPPING, rows, write
from test_web import company, make_service, replay  # noqa: F401  (the fixture)


def test_serve_collects_from_nats_and_a_tailed_log_into_live_detection(
    tmp_path,
    company,  # noqa: F811
    nats_server,  # noqa: F811
):
    context, lines = company
    (tmp_path / "m.yaml").write_text(MAPPING)
    tail = tmp_path / "tail.yaml"
    tail.write_text("- kind: mapped\n  mapping: m.yaml\n  paths: [app.csv]\n")
    write(tmp_path / "app.csv", rows(0, 3))
    service, _ = make_service(
        tmp_path, context, nats_url=nats_server.url, tail_sources=str(tail),
        tail_interval=0.1, detect_after_events=100, detect_interval_seconds=0.05,
    )  # fmt: skip
    config = NatsConfig(url=nats_server.url)
    with TestClient(create_app(service)):
        asyncio.run(stream_ready(config))
        asyncio.run(publish(config, "crm", [line.encode() for line in lines]))
        deadline = time.monotonic() + 30
        counts = service.collectors.collectors.sink.loaded
        while counts.loaded < len(lines) + 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        service.flush()
        health = service.health()
        with service.reading() as store:
            live = read_alert_history(store)
            letters = store.scalar("SELECT count(*) FROM dead_letters")
        metrics = service.metrics
    assert counts.loaded == len(lines) + 3 and letters == 0
    assert health.status == "ok" and service.live.steps >= 1
    loaded = metrics.events_in.labels("access", "loaded")._value.get()
    assert loaded == len(lines) + 3
    # The tailed log's three exports are by an identity outside the roster, put on it as
    # unmapped: they change no alert of the company's staff.
    assert live == replay(context, lines, tmp_path) and live


async def stream_ready(config: NatsConfig, seconds: float = 20) -> None:
    """Wait until the service's collector has made its stream."""
    nc = await nats.connect(config.url)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            await nc.jetstream().stream_info(config.stream)
            break
        except nats.js.errors.NotFoundError:
            await asyncio.sleep(0.1)
    await nc.close()
