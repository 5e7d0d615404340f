"""Reliability done for real: the server killed with SIGKILL in the middle of a stream
and restarted, and the operational PostgreSQL stopped for a while. Every event is
counted once, no alert line is lost or repeated, triage survives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from detect_scenarios import INSIDER
from insiderwatch.alerts import read_alert_history
from insiderwatch.app.alerts import alert_states, triage
from insiderwatch.app.deployment import load_deployment
from insiderwatch.app.tokens import create_token
from insiderwatch.app.users import add_user
from insiderwatch.ingest import ingest_dataset
from insiderwatch.settings import REGISTRY
from insiderwatch.store import Store
from insiderwatch.store.ops.models import AlertLine
from insiderwatch.web.api import create_app
from sample_data import KEY_HEX
from servers import Postgres, free_port
from test_web import (
    KEY,
    company,  # noqa: F401  (the fixture)
    make_service,
    post,
    replay,
)


def stored_lines(ops) -> list[tuple[str, int]]:
    with ops.session() as s:
        return sorted(tuple(r) for r in s.execute(select(AlertLine.alert_id, AlertLine.revision)))


class Server:
    """``insiderwatch serve`` in its own process."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port = folder, port
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self, wait: bool = True, **settings: str) -> None:
        """Start it; ``settings`` are more environment variables (``INSIDERWATCH_...``).
        Unless ``wait`` is False, return once it answers /healthz."""
        env = {
            **os.environ,
            "INSIDERWATCH_HASH_KEY": KEY_HEX,
            "INSIDERWATCH_THREADS": "1",
            "INSIDERWATCH_DETECT_AFTER_EVENTS": "200",
            "INSIDERWATCH_DETECT_INTERVAL_SECONDS": "0.2",
            **settings,
        }
        code = "from insiderwatch.cli import main; main()"
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code, "serve", "--db", str(self.folder / "iw.duckdb"),
             "--port", str(self.port)],
            env=env, stdout=subprocess.DEVNULL, stderr=(self.folder / "server.log").open("a"),
        )  # fmt: skip
        if not wait:
            return
        # Only a guard against a server that hangs: a correct one on a machine at a
        # load average of 7+ took over 30 s to answer, so the guard is generous.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError((self.folder / "server.log").read_text()[-3000:])

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        # uvicorn shuts down cleanly, then re-raises the signal it caught. The wait only
        # guards against a hang: a stop may take the writer's grace (its last detection
        # step on a loaded machine) and the readers'.
        grace = sum(REGISTRY[f"stop_{who}_grace_seconds"].default for who in ("writer", "reader"))
        assert self.proc.wait(grace + 60) in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in (self.folder / "server.log").read_text()


def send(url: str, token: str, lines: list[str]) -> bool:
    """One request; True when the server confirmed it (202)."""
    try:
        reply = httpx.post(f"{url}/v1/events", content="\n".join(lines).encode(), timeout=30,
                           headers={"Authorization": f"Bearer {token}",
                                    "Content-Type": "application/x-ndjson"})  # fmt: skip
    except httpx.TransportError:
        return False
    return reply.status_code == 202


def test_kill_9_mid_stream_then_restart(tmp_path, company, built_once):  # noqa: F811
    context, lines = company
    with Store(tmp_path / "iw.duckdb", threads=1) as store:
        ingest_dataset(store, context, KEY)
    ops = load_deployment({"db": str(tmp_path / "iw.duckdb")}).open_ops()
    add_user(ops, "ana", "analyst", "correct horse battery", actor="test")
    collector = create_token(ops, kind="source", owner="crm", actor="test").token
    reader = create_token(ops, kind="user", owner="ana", actor="test").token
    # Requests of 40 lines up to the insider's harvest, of 5 after it.
    harvest = next(k for k, line in enumerate(lines) if '"search"' in line) + 1
    chunks = [lines[k : min(k + 40, harvest)] for k in range(0, harvest, 40)]
    chunks += [lines[k : k + 5] for k in range(harvest, len(lines), 5)]
    server = Server(tmp_path, free_port())
    server.start()
    # Everything up to the harvest, then wait for the alert and triage it.
    export = next(k for k, c in enumerate(chunks) if c[-1] == lines[harvest - 1])
    for chunk in chunks[: export + 1]:
        assert send(server.url, collector, chunk)
    auth = {"Authorization": f"Bearer {reader}"}
    deadline = time.monotonic() + 30
    while not (alerts := httpx.get(f"{server.url}/v1/alerts", headers=auth).json()):
        assert time.monotonic() < deadline, "no alert within 30 s"
        time.sleep(0.2)
    alert_id = alerts[0]["alert_id"]
    triage(ops, alert_id, "triaging", actor="ana", why="on it")
    # The next request is in flight when the server is killed.
    inflight = threading.Thread(target=send, args=(server.url, collector, chunks[export + 1]))
    inflight.start()
    time.sleep(0.05)
    server.kill()
    inflight.join()
    server.start()
    # The collector resends what it was not sure of, then the rest.
    for chunk in chunks[export + 1 :]:
        assert send(server.url, collector, chunk)
    server.stop()  # a clean stop runs the last detection step and publishes
    with Store(tmp_path / "iw.duckdb", threads=1, read_only=True) as store:
        ids = [r[0] for r in store.con.execute("SELECT event_id FROM access").fetchall()]
        history = read_alert_history(store)
    assert len(ids) == len(set(ids)) == len(lines)
    assert history == replay(context, lines, built_once)
    assert stored_lines(ops) == sorted((a.alert_id, a.revision) for a in history)
    assert alert_states(ops, [alert_id]) == {alert_id: "triaging"}


def test_ops_postgres_down_for_a_while(tmp_path, company):  # noqa: F811
    context, lines = company
    pg = Postgres(pgaudit=False)
    pg.start()
    try:
        pg.psql("CREATE DATABASE ops")
        url = f"postgresql+psycopg://postgres@127.0.0.1:{pg.port}/ops"
        service, tokens = make_service(tmp_path, context, ops_url=url, detect_interval_seconds=3600)
        half = len(lines) // 2
        with TestClient(create_app(service)) as client:
            assert post(client, "\n".join(lines[:half]), tokens.collector).status_code == 202
            pg.stop()
            # Collectors keep sending with a token the store confirmed before it went away.
            assert post(client, "\n".join(lines[half:]), tokens.collector).status_code == 202
            service.flush()  # detection runs; publishing to the ops store fails
            health = client.get("/healthz").json()
            assert health["unpublished_alert_lines"] > 0
            assert 'insiderwatch_publish_failures_total{sink="ops"}' in client.get("/metrics").text
            reply = client.get("/v1/alerts", headers={"Authorization": f"Bearer {tokens.reader}"})
            assert reply.status_code == 503 and reply.headers["Retry-After"]
            pg.start()
            service.flush()  # the retry
            assert client.get("/healthz").json()["unpublished_alert_lines"] == 0
            with service.reading() as store:
                history = read_alert_history(store)
                assert store.scalar("SELECT count(*) FROM access") == len(lines)
        assert history and stored_lines(service.ops.ops) == sorted(
            (a.alert_id, a.revision) for a in history
        )
        assert any(a.employee_id == INSIDER for a in history)
    finally:
        pg.remove()
