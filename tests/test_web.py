"""The service over HTTP, with the real operational store (SQLite) behind it: the
collector's answers (per line, refusals with a clear status), back-pressure, the alert and
timeline API with its audit trail, metrics, and live detection giving the history a
replay gives."""

from __future__ import annotations

import gzip
import json
import pickle
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from detect_scenarios import INSIDER
from insiderwatch.alerts import read_alert_history
from insiderwatch.app.alerts import triage
from insiderwatch.app.ops import audit_entries
from insiderwatch.app.tokens import create_token
from insiderwatch.app.users import add_user
from insiderwatch.detect import DetectionConfig, run_detection
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.settings import load_settings
from insiderwatch.store import Store
from insiderwatch.web.api import create_app
from insiderwatch.web.server import build
from insiderwatch.web.service import Service
from sample_data import KEY_HEX, folder_digest
from test_alert_history import episode_company

KEY = HashKey(bytes.fromhex(KEY_HEX))


@dataclass(frozen=True)
class Tokens:
    collector: str
    reader: str


def make_service(folder: Path, context: Path, **flags) -> tuple[Service, Tokens]:
    """A service over a store holding ``context`` (no events yet), with the operational
    store beside it (SQLite unless ``ops_url`` says otherwise), a collector token for
    source "crm" and a reader token for analyst "ana"."""
    flags = {"db": str(folder / "iw.duckdb"), "hash_key": KEY_HEX, "threads": 1, **flags}
    with Store(flags["db"], threads=1) as store:
        ingest_dataset(store, context, KEY)
    service = build(load_settings(flags))
    ops = service.ops.ops
    add_user(ops, "ana", "analyst", "correct horse battery", actor="test")
    tokens = Tokens(
        create_token(ops, kind="source", owner="crm", actor="test").token,
        create_token(ops, kind="user", owner="ana", actor="test").token,
    )
    return service, tokens


def take_events(dataset: Path) -> list[str]:
    """The access events taken out of a written dataset (its context tables stay), as JSON
    lines in time order: what collectors then send as the events arrive."""
    lines = (dataset / "access.jsonl").read_text().splitlines()
    (dataset / "access.jsonl").unlink()
    return sorted(lines, key=lambda line: json.loads(line)["time"])


@pytest.fixture(scope="module")
def company(tmp_path_factory) -> tuple[Path, list[str]]:
    """The episode company's context tables as a dataset, and its events as JSON lines
    in time order."""
    folder = episode_company().write(tmp_path_factory.mktemp("company") / "dataset")
    return folder, take_events(folder)


@pytest.fixture
def served(tmp_path, company):
    service, tokens = make_service(tmp_path, company[0], detect_interval_seconds=3600)
    with TestClient(create_app(service)) as client:
        yield client, service, tokens


def post(client, body: bytes | str, token: str | None, **headers):
    if token:
        headers["Authorization"] = f"Bearer {token}"
    headers.setdefault("Content-Type", "application/x-ndjson")
    data = body.encode() if isinstance(body, str) else body
    return client.post("/v1/events", content=data, headers=headers)


def test_lines_load_and_bad_ones_come_back_with_their_reason(served, company):
    client, service, tokens = served
    good = company[1][:5]
    bad_time = json.loads(good[0]) | {"event_id": "bad-time", "time": "yesterday"}
    body = "\n".join([*good, "{not json", json.dumps(bad_time), ""])
    reply = post(client, body, tokens.collector)
    assert reply.status_code == 202, reply.text
    result = reply.json()
    assert (result["lines"], result["accepted"], result["rejected"]) == (7, 5, 2)
    problems = {p["line"]: p for p in result["problems"]}
    assert set(problems) == {6, 7}
    assert problems[6]["status"] == problems[7]["status"] == "rejected"
    assert problems[6]["reasons"] == ["line:malformed_json"]
    assert problems[7]["reasons"][0].startswith("time:")
    source = result["batch"]["source"]
    assert source.startswith("http:crm/")
    with service.reading() as store:
        letters = store.con.execute(
            "SELECT row_no, field FROM dead_letters WHERE source = ? ORDER BY 1", [source]
        ).fetchall()
        assert store.scalar("SELECT count(*) FROM access") == 5
    assert letters == [(6, "line"), (7, "time")]
    # The same lines again: nothing is stored twice.
    again = post(client, body, tokens.collector).json()
    assert (again["accepted"], again["duplicates"], again["rejected"]) == (0, 5, 2)


def test_gzip_and_json_arrays_are_accepted(served, company):
    client, _, tokens = served
    records = [json.loads(line) for line in company[1][:4]]
    reply = post(client, gzip.compress(json.dumps(records).encode()), tokens.collector,
                 **{"Content-Type": "application/json", "Content-Encoding": "gzip"})  # fmt: skip
    assert reply.status_code == 202, reply.text
    assert reply.json()["accepted"] == 4


@pytest.mark.parametrize(
    ("body", "headers", "token", "status", "says"),
    [
        (b"{}", {}, None, 401, "token"),
        (b"{}", {}, "iw_wrong", 401, "token"),
        (b"{}", {}, "reader", 401, "collector"),
        (b"x" * 2048, {}, "collector", 413, "max_request_bytes"),
        (gzip.compress(b"{}\n" * 4096), {"Content-Encoding": "gzip"}, "collector", 413,
         "decompressed"),
        (b"\x1f\x8b\x08garbage", {"Content-Encoding": "gzip"}, "collector", 400, "gzip"),
        (b"{}", {"Content-Encoding": "br"}, "collector", 415, "Content-Encoding"),
        (b"{}", {"Content-Type": "text/csv"}, "collector", 415, "Content-Type"),
        (b"{}", {"Content-Type": "application/json; charset=latin-1"}, "collector", 415,
         "charset"),
        (b'{"a": "\xe9"}', {}, "collector", 400, "UTF-8"),
        (b"{", {"Content-Type": "application/json"}, "collector", 400, "JSON"),
        (b'{"a": 1}', {"Content-Type": "application/json"}, "collector", 400, "array"),
    ],
    ids=["no-token", "bad-token", "reader-token", "oversized", "gzip-bomb", "bad-gzip",
         "brotli", "csv", "latin-1", "not-utf8", "bad-json", "not-array"],
)  # fmt: skip
def test_refusals_are_clear(refusing, body, headers, token, status, says):
    client, service, tokens = refusing
    token = getattr(tokens, token, token) if token else None
    before = refused(client, status)
    reply = post(client, body, token, **headers)
    assert reply.status_code == status
    assert says in reply.json()["detail"]
    assert refused(client, status) == before + 1
    with service.reading() as store:
        assert store.scalar("SELECT count(*) FROM ingest_batches WHERE format = 'http'") == 0


@pytest.fixture(scope="module")
def refusing(tmp_path_factory, company):
    """One service for every refusal: a refused request leaves nothing but its count."""
    folder = tmp_path_factory.mktemp("refusals")
    service, tokens = make_service(folder, company[0], max_request_bytes=1024)
    with TestClient(create_app(service)) as client:
        yield client, service, tokens


def refused(client, status: int) -> float:
    """How many requests the service has refused with ``status``."""
    name = f'insiderwatch_requests_refused_total{{status="{status}"}} '
    lines = client.get("/metrics").text.splitlines()
    return next((float(line.removeprefix(name)) for line in lines if line.startswith(name)), 0.0)


def test_a_full_queue_answers_503_with_retry_after(tmp_path, company):
    service, tokens = make_service(tmp_path, company[0], writer_queue=1)
    with TestClient(create_app(service)) as client:
        release = threading.Event()
        started = threading.Event()
        service.writer.call(lambda store: (started.set(), release.wait(10)))
        started.wait(10)
        service.writer.call(lambda store: None)  # the one place in the queue
        reply = post(client, company[1][0], tokens.collector)
        release.set()
        assert reply.status_code == 503
        assert reply.headers["Retry-After"] == "1"
        # Once the writer has taken the queued job there is room again (on a busy machine
        # that is not at once after the release).
        deadline = time.monotonic() + 10
        while service.writer.pending and time.monotonic() < deadline:
            time.sleep(0.01)
        assert post(client, company[1][0], tokens.collector).status_code == 202


def test_alerts_timeline_audit_and_metrics(served, company, monkeypatch):
    client, service, tokens = served
    gate = service.ops

    def not_yet(lines):  # the moment between the step's write and the ops store's copy
        raise ConnectionError("the ops store has not taken the lines yet")

    monkeypatch.setattr(gate, "publish", not_yet)
    assert post(client, "\n".join(company[1]), tokens.collector).status_code == 202
    service.flush()
    auth = {"Authorization": f"Bearer {tokens.reader}"}
    # A live step writes the alert to the analytics store, then publishes it to the ops
    # store, where triage happens: in between, the API does not list it.
    with service.reading() as store:
        assert read_alert_history(store), "the step wrote the insider's alert"
    assert client.get("/v1/alerts", headers=auth).json() == []
    monkeypatch.delattr(gate, "publish")  # the ops store takes the lines at the retry
    service.flush()
    assert client.get("/v1/alerts").status_code == 401
    assert (
        client.get(
            "/v1/alerts", headers={"Authorization": f"Bearer {tokens.collector}"}
        ).status_code
        == 401
    )
    alerts = client.get("/v1/alerts", headers=auth).json()
    assert alerts, "the insider's day should raise an alert"
    insider = service.pseudonyms.of(INSIDER)
    assert INSIDER not in json.dumps(alerts), "staff appear as pseudonyms"
    theirs = [a for a in alerts if a["employee"] == insider]
    assert len(theirs) == 1 and theirs[0]["state"] == "new"
    assert [h["revision"] for h in theirs[0]["history"]] == list(range(len(theirs[0]["history"])))
    # Triage done in the operational store shows in the API.
    ops = service.ops.ops
    triage(ops, theirs[0]["alert_id"], "triaging", actor="ana", why="looking")
    one = client.get(f"/v1/alerts/{theirs[0]['alert_id']}", headers=auth).json()
    assert one == theirs[0] | {"state": "triaging"}
    assert client.get("/v1/alerts/A-nothing", headers=auth).status_code == 404
    picked = client.get("/v1/alerts", params={"state": "triaging"}, headers=auth).json()
    assert [a["alert_id"] for a in picked] == [theirs[0]["alert_id"]]
    # The timeline is written to the audit log before it is answered.
    assert not audit_entries(ops, subject_kind="employee", subject_id=INSIDER)
    reply = client.get(f"/v1/employees/{insider}/timeline", headers=auth)
    assert reply.status_code == 200
    entries = reply.json()["entries"]
    assert len(entries) == sum(json.loads(e)["employee_id"] == INSIDER for e in company[1])
    (read,) = audit_entries(ops, subject_kind="employee", subject_id=INSIDER)
    assert (read.actor, read.action) == ("ana", "employee.read")
    assert client.get("/v1/employees/anon-unknown/timeline", headers=auth).status_code == 404
    metrics = client.get("/metrics").text
    loaded = f'insiderwatch_events_total{{outcome="loaded",table="access"}} {len(company[1])}.0'
    assert loaded in metrics
    assert "insiderwatch_detect_step_seconds_count 1.0" in metrics
    health = client.get("/healthz").json()
    assert health["writer_alive"] and health["unpublished_alert_lines"] == 0


def replay(context: Path, lines: list[str], built_once) -> list:
    """The alert history of one replay of ``context`` with ``lines`` as its events: the
    reference a live run must equal. Replaying is deterministic, so the same inputs (the
    key is their content) are replayed once per run (``built_once``), whichever module
    asks first."""

    def build(folder: Path) -> None:
        dataset = folder / "replay"
        shutil.copytree(context, dataset)
        (dataset / "access.jsonl").write_text("\n".join(lines) + "\n")
        with Store(folder / "replay.duckdb", threads=1) as store:
            ingest_dataset(store, dataset, KEY)
            run_detection(store, DetectionConfig(), KEY)
            (folder / "history.pickle").write_bytes(pickle.dumps(read_alert_history(store)))

    events = "\n".join(lines).encode()
    folder = built_once(f"replay-{folder_digest(context, events)}", build)
    return pickle.loads((folder / "history.pickle").read_bytes())


def test_live_history_equals_a_replay_even_with_late_events(tmp_path, company, built_once):
    context, lines = company
    out, findings = tmp_path / "alerts.jsonl", tmp_path / "findings.jsonl"
    respond = tmp_path / "respond.yaml"
    respond.write_text(
        "version: 1\n"
        f"sinks: {{lake: {{type: ocsf-file, path: {findings}}}}}\n"
        "routes: [{name: all, min_severity: low, sinks: [lake], throttle: null}]\n"
    )
    service, tokens = make_service(
        tmp_path, context, detect_after_events=150, detect_interval_seconds=0.05,
        alerts_out=str(out), respond_config=str(respond),
    )  # fmt: skip
    # In time order in small requests, except one earlier day that arrives last (late).
    day3 = [line for line in lines if json.loads(line)["time"].startswith("2026-09-03")]
    rest = [line for line in lines if line not in day3]
    with TestClient(create_app(service)) as client:
        for k in range(0, len(rest), 60):
            assert post(client, "\n".join(rest[k : k + 60]), tokens.collector).status_code == 202
        assert post(client, "\n".join(day3), tokens.collector).status_code == 202
        service.flush()
        assert service.live.steps > 3
        with service.reading() as store:
            live = read_alert_history(store)
    reference = replay(context, lines, built_once)
    assert live == reference and len(reference) >= 2
    published = [json.loads(line) for line in out.read_text().splitlines()]
    keys = [(a["alert_id"], a["revision"]) for a in published]
    assert len(keys) == len(set(keys))
    assert set(keys) >= {(a.alert_id, a.revision) for a in reference}
    # The responder got every line once (one finding each), staff as pseudonyms.
    sent = findings.read_text()
    assert len(sent.splitlines()) == len(keys)
    assert f'"{INSIDER}"' not in sent and service.pseudonyms.of(INSIDER) in sent
