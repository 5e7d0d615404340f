"""The service over HTTP: the collector's answers (per line, refusals with a clear
status), back-pressure, the alert and timeline API with its audit trail, metrics, and
live detection giving the history a replay gives."""

from __future__ import annotations

import gzip
import json
import shutil
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from detect_scenarios import INSIDER
from insiderwatch.alerts import read_alert_history
from insiderwatch.detect import DetectionConfig, run_detection
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.settings import load_settings
from insiderwatch.store import Store
from insiderwatch.web.api import create_app
from insiderwatch.web.service import Service
from sample_data import KEY_HEX
from test_alert_history import episode_company

KEY = HashKey(bytes.fromhex(KEY_HEX))
COLLECTOR, READER = "collector-secret", "reader-secret"


class Ops:
    """The operational store's port, recording what the API asked of it."""

    def __init__(self) -> None:
        self.audited: list[tuple[str, str, str]] = []
        self.audit_down = False

    def collector_source(self, token: str) -> str | None:
        return "crm" if token == COLLECTOR else None

    def reader_name(self, token: str) -> str | None:
        return "ana" if token == READER else None

    def audit_read(self, actor: str, what: str, subject: str) -> None:
        if self.audit_down:
            raise ConnectionError("ops database unreachable")
        self.audited.append((actor, what, subject))

    def alert_states(self, alert_ids: list[str]) -> dict[str, str]:
        return {}


@pytest.fixture(scope="module")
def company(tmp_path_factory) -> tuple[Path, list[str]]:
    """The episode company's context tables as a dataset, and its events as JSON lines
    in time order."""
    folder = episode_company().write(tmp_path_factory.mktemp("company") / "dataset")
    lines = (folder / "access.jsonl").read_text().splitlines()
    (folder / "access.jsonl").unlink()
    lines.sort(key=lambda line: json.loads(line)["time"])
    return folder, lines


def make_service(folder: Path, context: Path, **flags) -> tuple[Service, Ops]:
    flags = {"db": str(folder / "iw.duckdb"), "hash_key": KEY_HEX, "threads": 1, **flags}
    store = Store(flags["db"], threads=1)
    ingest_dataset(store, context, KEY)
    store.close()
    ops = Ops()
    return Service(load_settings(flags), ops), ops


@pytest.fixture
def served(tmp_path, company):
    service, ops = make_service(tmp_path, company[0], detect_interval_seconds=3600)
    with TestClient(create_app(service)) as client:
        yield client, service, ops


def post(client, body: bytes | str, token: str | None = COLLECTOR, **headers):
    if token:
        headers["Authorization"] = f"Bearer {token}"
    headers.setdefault("Content-Type", "application/x-ndjson")
    data = body.encode() if isinstance(body, str) else body
    return client.post("/v1/events", content=data, headers=headers)


def test_lines_load_and_bad_ones_come_back_with_their_reason(served, company):
    client, service, _ = served
    good = company[1][:5]
    bad_time = json.loads(good[0]) | {"event_id": "bad-time", "time": "yesterday"}
    body = "\n".join([*good, "{not json", json.dumps(bad_time), ""])
    reply = post(client, body)
    assert reply.status_code == 202, reply.text
    result = reply.json()
    assert (result["lines"], result["accepted"], result["rejected"]) == (7, 5, 2)
    assert result["batch"]["loaded"] == 5
    problems = {p["line"]: p for p in result["problems"]}
    assert set(problems) == {6, 7}
    assert problems[7]["field"] == "time" and problems[7]["disposition"] == "rejected"
    with service.reading() as store:
        letters = store.con.execute(
            "SELECT row_no, field FROM dead_letters WHERE source = 'http:crm' ORDER BY 1"
        ).fetchall()
        stored = store.scalar("SELECT count(*) FROM access")
    assert (problems[6]["field"], problems[6]["reason"]) == ("line", "malformed_json")
    assert letters == [(6, "line"), (7, "time")]
    assert stored == 5
    # The same lines again: nothing is stored twice.
    again = post(client, body).json()
    assert again["batch"]["duplicates"] == 5 and again["batch"]["loaded"] == 0


def test_gzip_and_json_arrays_are_accepted(served, company):
    client, _, _ = served
    records = [json.loads(line) for line in company[1][:4]]
    reply = post(client, gzip.compress(json.dumps(records).encode()),
                 **{"Content-Type": "application/json", "Content-Encoding": "gzip"})  # fmt: skip
    assert reply.status_code == 202, reply.text
    assert reply.json()["batch"]["loaded"] == 4


@pytest.mark.parametrize(
    ("body", "headers", "token", "status", "says"),
    [
        (b"{}", {}, None, 401, "token"),
        (b"{}", {}, "wrong", 401, "token"),
        (b"x" * 2048, {}, COLLECTOR, 413, "max_request_bytes"),
        (
            gzip.compress(b"{}\n" * 4096),
            {"Content-Encoding": "gzip"},
            COLLECTOR,
            413,
            "decompressed",
        ),
        (b"\x1f\x8b\x08garbage", {"Content-Encoding": "gzip"}, COLLECTOR, 400, "gzip"),
        (b"{}", {"Content-Encoding": "br"}, COLLECTOR, 415, "Content-Encoding"),
        (b"{}", {"Content-Type": "text/csv"}, COLLECTOR, 415, "Content-Type"),
        (b"{}", {"Content-Type": "application/json; charset=latin-1"}, COLLECTOR, 415, "charset"),
        (b'{"a": "\xe9"}', {}, COLLECTOR, 400, "UTF-8"),
        (b"{", {"Content-Type": "application/json"}, COLLECTOR, 400, "JSON"),
        (b'{"a": 1}', {"Content-Type": "application/json"}, COLLECTOR, 400, "array"),
    ],
    ids=[
        "no-token",
        "bad-token",
        "oversized",
        "gzip-bomb",
        "bad-gzip",
        "brotli",
        "csv",
        "latin-1",
        "not-utf8",
        "bad-json",
        "not-array",
    ],  # fmt: skip
)
def test_refusals_are_clear(tmp_path, company, body, headers, token, status, says):
    service, _ = make_service(tmp_path, company[0], max_request_bytes=1024)
    with TestClient(create_app(service)) as client:
        reply = post(client, body, token, **headers)
        assert reply.status_code == status
        assert says in reply.json()["detail"]
        with service.reading() as store:
            assert store.scalar("SELECT count(*) FROM ingest_batches WHERE format = 'http'") == 0


def test_a_full_queue_answers_503_with_retry_after(tmp_path, company):
    service, _ = make_service(tmp_path, company[0], writer_queue=1)
    with TestClient(create_app(service)) as client:
        release = threading.Event()
        started = threading.Event()
        service.writer.call(lambda store: (started.set(), release.wait(10)))
        started.wait(10)
        service.writer.call(lambda store: None)  # the one place in the queue
        reply = post(client, company[1][0])
        release.set()
        assert reply.status_code == 503
        assert reply.headers["Retry-After"] == "1"
        assert post(client, company[1][0]).status_code == 202


def test_alerts_timeline_audit_and_metrics(served, company):
    client, service, ops = served
    assert post(client, "\n".join(company[1])).status_code == 202
    service.flush()
    auth = {"Authorization": f"Bearer {READER}"}
    assert client.get("/v1/alerts").status_code == 401
    alerts = client.get("/v1/alerts", headers=auth).json()
    assert alerts, "the insider's day should raise an alert"
    insider = service.pseudonyms.of(INSIDER)
    assert INSIDER not in json.dumps(alerts), "staff appear as pseudonyms"
    theirs = [a for a in alerts if a["employee"] == insider]
    assert len(theirs) == 1 and theirs[0]["state"] == "new"
    assert [h["revision"] for h in theirs[0]["history"]] == list(range(len(theirs[0]["history"])))
    one = client.get(f"/v1/alerts/{theirs[0]['alert_id']}", headers=auth).json()
    assert one == theirs[0]
    assert client.get("/v1/alerts/A-nothing", headers=auth).status_code == 404
    high = client.get("/v1/alerts", params={"min_score": theirs[0]["score"]}, headers=auth)
    assert all(a["score"] >= theirs[0]["score"] for a in high.json())
    # The timeline is audited before it is answered, and not answered without an audit.
    reply = client.get(f"/v1/employees/{insider}/timeline", headers=auth)
    assert reply.status_code == 200
    entries = reply.json()["entries"]
    assert len(entries) == sum(json.loads(e)["employee_id"] == INSIDER for e in company[1])
    assert ops.audited == [("ana", "timeline", INSIDER)]
    ops.audit_down = True
    assert client.get(f"/v1/employees/{insider}/timeline", headers=auth).status_code == 503
    assert client.get("/v1/employees/emp-unknown/timeline", headers=auth).status_code == 404
    metrics = client.get("/metrics").text
    assert (
        f'insiderwatch_events_total{{outcome="loaded",table="access"}} {len(company[1])}.0'
        in metrics
    )
    assert "insiderwatch_detect_step_seconds_count" in metrics
    health = client.get("/healthz").json()
    assert health["writer_alive"] and health["unpublished_alert_lines"] == 0


def replay(context: Path, lines: list[str], folder: Path) -> list:
    dataset = folder / "replay"
    shutil.copytree(context, dataset)
    (dataset / "access.jsonl").write_text("\n".join(lines) + "\n")
    with Store(folder / "replay.duckdb", threads=1) as store:
        ingest_dataset(store, dataset, KEY)
        run_detection(store, DetectionConfig())
        return read_alert_history(store)


def test_live_history_equals_a_replay_even_with_late_events(tmp_path, company):
    context, lines = company
    out = tmp_path / "alerts.jsonl"
    service, _ = make_service(
        tmp_path, context, detect_after_events=150, detect_interval_seconds=0.05,
        alerts_out=str(out),
    )  # fmt: skip
    # In time order in small requests, except one earlier day that arrives last (late).
    day3 = [line for line in lines if json.loads(line)["time"].startswith("2026-09-03")]
    rest = [line for line in lines if line not in day3]
    with TestClient(create_app(service)) as client:
        for k in range(0, len(rest), 60):
            assert post(client, "\n".join(rest[k : k + 60])).status_code == 202
        assert post(client, "\n".join(day3)).status_code == 202
        service.flush()
        assert service.live.steps > 3
        with service.reading() as store:
            live = read_alert_history(store)
    reference = replay(context, lines, tmp_path)
    assert live == reference and len(reference) >= 2
    published = [json.loads(line) for line in out.read_text().splitlines()]
    keys = [(a["alert_id"], a["revision"]) for a in published]
    assert len(keys) == len(set(keys))
    assert set(keys) >= {(a.alert_id, a.revision) for a in reference}
