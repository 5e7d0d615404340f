"""The NATS collector inside the service: its events go through the service's single
writer into the store, the metrics and live detection, as HTTP's do."""

from __future__ import annotations

import asyncio
import time

import nats
import nats.js.errors
from fastapi.testclient import TestClient

from insiderwatch.alerts import read_alert_history
from insiderwatch.web.api import create_app
from servers import Nats
from test_web import company, make_service, replay  # noqa: F401  (the fixture)


async def publish(url: str, stream: str, subject: str, bodies: list[str]) -> None:
    """Publish once the collector has created its stream (it starts on its own thread)."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    deadline = time.monotonic() + 30
    while True:
        try:
            await js.stream_info(stream)
            break
        except nats.js.errors.NotFoundError:
            assert time.monotonic() < deadline, "the collector made no stream in 30 s"
            await asyncio.sleep(0.1)
    for body in bodies:
        await js.publish(subject, body.encode())
    await nc.close()


def test_nats_events_reach_the_store_and_live_detection(tmp_path, company, built_once):  # noqa: F811
    context, lines = company
    server = Nats()
    server.start()
    try:
        service, _ = make_service(
            tmp_path, context, nats_url=server.url, nats_batch=200, detect_interval_seconds=0.1
        )
        with TestClient(create_app(service)) as client:
            subject = f"{service.settings.nats_subject_prefix}.crm"
            asyncio.run(publish(server.url, service.settings.nats_stream, subject, lines))
            deadline = time.monotonic() + 30
            while True:
                with service.reading() as store:
                    count = store.scalar("SELECT count(*) FROM access")
                if count == len(lines) or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert count == len(lines)
            service.flush()
            metrics = client.get("/metrics").text
            with service.reading() as store:
                history = read_alert_history(store)
        loaded = f'insiderwatch_events_total{{outcome="loaded",table="access"}} {len(lines)}.0'
        assert loaded in metrics
        assert history == replay(context, lines, built_once) and history
    finally:
        server.remove()
