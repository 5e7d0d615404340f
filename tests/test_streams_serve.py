"""`insiderwatch serve` with the tailer on, and with a NATS server it cannot reach: a
tailed log's lines go through the service's one writer into the store and the metrics
(NATS inside the service: test_web_collectors.py), and a collector that stopped makes
/healthz degraded while HTTP collection goes on."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from insiderwatch.web.api import create_app
from servers import free_port
from test_streams_tail import MAPPING, rows, write
from test_web import company, make_service, post  # noqa: F401  (the fixture)


def test_serve_tails_logs_and_reports_a_collector_that_stopped(tmp_path, company):  # noqa: F811
    context, lines = company
    (tmp_path / "m.yaml").write_text(MAPPING)
    tail = tmp_path / "tail.yaml"
    tail.write_text("- kind: mapped\n  mapping: m.yaml\n  paths: [app.csv]\n")
    write(tmp_path / "app.csv", rows(0, 3))
    service, tokens = make_service(
        tmp_path, context, tail_sources=str(tail), tail_interval=0.1,
        nats_url=f"nats://127.0.0.1:{free_port()}",  # nothing listens there
    )  # fmt: skip
    found = service.collectors.collectors
    with TestClient(create_app(service)) as client:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (found.error is None or found.tailer.reads < 1):
            time.sleep(0.1)
        write(tmp_path / "app.csv", rows(3, 2), header=False, mode="a")
        while time.monotonic() < deadline and found.tailer.reads < 2:
            time.sleep(0.1)
        health = client.get("/healthz").json()
        accepted = post(client, "\n".join(lines[:20]), tokens.collector)
        metrics = client.get("/metrics").text
        with service.reading() as store:
            stored = store.scalar("SELECT count(*) FROM access")
    assert "cannot connect to NATS" in str(found.error)
    assert health["status"] == "degraded" and health["writer_alive"]
    assert accepted.status_code == 202  # HTTP collection goes on
    assert stored == 25  # 20 over HTTP, 5 tailed
    assert 'insiderwatch_events_total{outcome="loaded",table="access"} 25.0' in metrics
