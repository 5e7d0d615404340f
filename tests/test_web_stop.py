"""A clean stop whatever is still in flight: a request reading the store (its query
running when the stop comes), a request arriving during the stop, a writer that cannot
finish. The stop never raises, keeps what was committed, and says in the log and in
health when it could not close the store."""

from __future__ import annotations

import json
import threading

import pytest
from fastapi.testclient import TestClient

from insiderwatch.alerts import read_alert_history
from insiderwatch.store import Store
from insiderwatch.web.api import create_app
from insiderwatch.web.readers import Stopping
from insiderwatch.web.writer import Writer
from test_web import company, make_service, post, replay  # noqa: F401  (company: the fixture)


def stopping(service, **graces) -> tuple[threading.Thread, list[BaseException]]:
    """``service.stop`` on a thread of its own; what it raised, if anything."""
    raised: list[BaseException] = []

    def stop() -> None:
        try:
            service.stop(**graces)
        except BaseException as exc:  # noqa: BLE001  (the test says what it was)
            raised.append(exc)

    thread = threading.Thread(target=stop)
    thread.start()
    return thread, raised


def until_refused(service, stopper: threading.Thread) -> None:
    """Return once the service refuses new readers (or the stop has ended)."""
    while stopper.is_alive():
        try:
            with service.reading():
                pass
        except Stopping:
            return
        stopper.join(0.01)


def holding(service, entered: threading.Event, release: threading.Event) -> list:
    """A reader whose query waits inside DuckDB until ``release`` (``entered`` once it
    runs); its result, or what it raised, lands in the list returned."""
    out: list = []

    def hold(x: int) -> int:
        entered.set()
        release.wait(60)
        return x

    def read() -> None:
        try:
            with service.reading() as store:
                store.con.create_function("hold", hold, ["BIGINT"], "BIGINT")
                out.append(store.scalar("SELECT hold(41) + 1"))
        except BaseException as exc:  # noqa: BLE001
            out.append(exc)

    threading.Thread(target=read, daemon=True).start()
    return out


def test_stop_waits_for_a_reader_mid_query_and_refuses_new_requests(tmp_path, company):  # noqa: F811
    context, lines = company
    service, tokens = make_service(tmp_path, context, detect_interval_seconds=3600)
    with TestClient(create_app(service, run_service=False)) as client:
        service.start()
        assert post(client, "\n".join(lines[:50]), tokens.collector).status_code == 202
        entered, release = threading.Event(), threading.Event()
        read = holding(service, entered, release)
        assert entered.wait(30)
        stopper, raised = stopping(service)
        try:
            until_refused(service, stopper)
        except Exception:  # the old stop closed the store under the reader
            release.set()
            raise
        # During the stop: a read is refused with Retry-After, a load too, health says so.
        auth = {"Authorization": f"Bearer {tokens.reader}"}
        reply = client.get("/v1/alerts", headers=auth)
        assert reply.status_code == 503 and reply.headers["Retry-After"]
        assert post(client, "\n".join(lines[50:60]), tokens.collector).status_code == 503
        health = client.get("/healthz").json()
        assert health["status"] == "stopping" and health["unpublished_alert_lines"] is None
        release.set()
        stopper.join(60)
    assert not stopper.is_alive() and raised == []
    assert read == [42]  # the reader finished its query before the store closed
    health = service.health()
    assert health.status == "stopped" and health.stop_problem is None
    assert health.unpublished_alert_lines == 0
    with Store(tmp_path / "iw.duckdb", threads=1, read_only=True) as store:  # closed: opens
        assert store.scalar("SELECT count(*) FROM access") == 50


def test_a_reader_that_does_not_finish_is_interrupted_and_refused(tmp_path, company):  # noqa: F811
    """The issue's failure: a request's query still running when the service stops made
    closing the store raise DuckDB's "connection is busy"."""
    service, _ = make_service(tmp_path, company[0], detect_interval_seconds=3600)
    service.start()
    entered, out, cursors = threading.Event(), [], []

    def endless() -> None:
        try:
            with service.reading() as store:
                cursors.append(store.con)
                store.con.create_function("mark", lambda i: entered.set() or i,
                                          ["BIGINT"], "BIGINT")  # fmt: skip
                # The subquery runs first, once; then DuckDB scans without end.
                store.scalar("SELECT count(*) FROM range(10000000000000) t(i) "
                             "WHERE i % 7 = (SELECT mark(3))")  # fmt: skip
        except BaseException as exc:  # noqa: BLE001
            out.append(exc)

    reader = threading.Thread(target=endless)
    reader.start()
    assert entered.wait(30)
    try:
        service.stop(reader_grace=0)
    finally:  # whatever the stop did, the query ends
        if reader.is_alive():
            cursors[0].interrupt()
        reader.join(30)
    assert len(out) == 1 and isinstance(out[0], Stopping)
    assert service.health().stop_problem is None
    Store(tmp_path / "iw.duckdb", threads=1).close()  # the store was closed: it opens


@pytest.mark.parametrize(
    ("configured", "given"),
    [({}, {"writer_grace": 0}), ({"stop_writer_grace_seconds": 0}, {})],
    ids=["grace-given", "grace-configured"],
)
def test_a_writer_that_does_not_finish_leaves_the_store_open_and_says_so(
    tmp_path,
    company,  # noqa: F811
    caplog,
    configured,
    given,
):
    """The writer's grace is the caller's, else the deployment's setting
    ``stop_writer_grace_seconds`` (a stop as `serve` makes it gives none)."""
    service, _ = make_service(tmp_path, company[0], detect_interval_seconds=3600, **configured)
    service.start()
    entered, release = threading.Event(), threading.Event()

    def hold(x: int) -> int:
        entered.set()
        release.wait(60)
        return x

    def job(store) -> int:
        store.con.create_function("hold", hold, ["BIGINT"], "BIGINT")
        return store.scalar("SELECT hold(7)")

    done = service.writer.call(job)
    assert entered.wait(30)
    service.stop(**given)  # the writer's query runs on: no close, no exception
    health = service.health()
    assert health.status == "stopped"
    assert "the writer was still at work after 0 s" in health.stop_problem
    assert "the store was left open" in caplog.text
    release.set()
    assert done.result(30) == 7  # the store was not closed under the writer
    service.writer.stop()
    service.store.close()


def test_a_stop_detects_every_waiting_day(tmp_path, company, built_once):  # noqa: F811
    """A live step covers one day past the watermark; the stop's last detection covers
    every day that waits."""
    context, lines = company
    service, tokens = make_service(tmp_path, context, detect_interval_seconds=3600,
                                   detect_after_events=10**9)  # fmt: skip
    first = json.loads(lines[0])["time"][:10]
    day1 = [line for line in lines if json.loads(line)["time"].startswith(first)]
    with TestClient(create_app(service)) as client:  # its end stops the service
        assert post(client, "\n".join(day1), tokens.collector).status_code == 202
        service.flush()  # the watermark stands in the first day
        steps = service.live.steps
        assert post(client, "\n".join(lines[len(day1) :]), tokens.collector).status_code == 202
        assert service.live.steps == steps  # the days after it wait for the stop
    with Store(tmp_path / "iw.duckdb", threads=1, read_only=True) as store:
        assert read_alert_history(store) == replay(context, lines, built_once)
    assert service.live.steps > steps + 1


class EndlessBacklog:
    """A duty that always has more due at once, as a long backlog of waiting days has."""

    def __init__(self) -> None:
        self.runs = 0

    def due(self, now: float) -> float | None:
        return 0.0

    def run(self, store) -> bool:
        self.runs += 1
        return True


def test_a_stop_starts_no_step_after_half_its_grace(tmp_path):
    """A backlog longer than the grace: the stop's forced duty starts no new step after
    half of it, so the writer ends within the grace and the store can close cleanly."""
    with Store(tmp_path / "iw.duckdb", threads=1) as store:
        writer = Writer(None, store)
        backlog = EndlessBacklog()
        writer.duties.append(backlog)
        writer.start()
        assert writer.stop(2.0)  # ended within the grace
        assert not writer.alive and backlog.runs > 1
