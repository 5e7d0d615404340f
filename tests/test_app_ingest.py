"""app.ingest_records: in-memory batches through the one pipeline, an outcome per line,
dead letters that name the batch and line, and re-sent batches never counted twice."""

from __future__ import annotations

import json

import msgspec
import pytest

from insiderwatch import app
from insiderwatch.errors import InsiderwatchError
from insiderwatch.store.rejects import list_letters
from sample_data import EVENTS_ONLY, KEY_HEX, sample, write_sample


@pytest.fixture
def deployment(tmp_path):
    """A deployment whose store already holds the sample roster."""
    dep = app.load_deployment({"db": tmp_path / "store" / "iw.duckdb", "hash_key": KEY_HEX})
    roster = write_sample(tmp_path / "roster", only=("employees",))
    assert not app.failed(app.ingest_paths(dep, [roster]))
    return dep


def events() -> list[dict]:
    return [msgspec.to_builtins(e) for e in sample("access")]


def test_every_line_gets_an_outcome_and_the_counts_agree(deployment):
    good = events()
    lines = [
        good[0],  # a dict
        json.dumps(good[1], default=str),  # a JSON text
        {**good[2], "time": "not a time"},
        "{ not json",
        "",
        {**good[3], "employee_id": "nobody"},
        good[0],  # repeated within the batch
    ]
    report = app.ingest_records(deployment, "access", lines, source="test")
    status = {r.line: (r.status, r.reasons) for r in report.lines}
    assert [r.line for r in report.lines] == list(range(1, len(lines) + 1))
    assert status[1] == ("accepted", []) and status[2] == ("accepted", [])
    assert status[3][0] == "rejected" and status[3][1][0].startswith("time:")
    assert status[4] == ("rejected", ["line:malformed_json"])
    assert status[5] == ("skipped", [])
    assert status[6] == ("rejected", ["employee_id:unknown_employee"])
    assert status[7][0] == "duplicate"
    t = report.totals
    assert (t.loaded, t.duplicates, t.rejected) == (2, 1, 3)
    assert t.rows_read == t.loaded + t.updated + t.duplicates + t.rejected
    assert report.error is None and report.evidence is not None and report.evidence.leaves == 2


def test_dead_letters_name_the_batch_and_the_line(deployment):
    lines = [events()[0], {**events()[1], "action": "teleport"}]
    report = app.ingest_records(deployment, "access", lines, source="crm-http", batch="req-7")
    assert report.source == "crm-http/req-7"
    with deployment.open_store(create=False, read_only=True) as store:
        letters = list_letters(store, table="access")
    assert [(x["source"], x["row_no"], x["field"]) for x in letters] == [
        ("crm-http/req-7", 2, "action")
    ]


def test_a_resent_batch_is_never_counted_twice(deployment):
    lines = events() + [{**events()[0], "event_id": "bad", "time": "never"}]
    first = app.ingest_records(deployment, "access", lines, source="nats")
    again = app.ingest_records(deployment, "access", lines, source="nats")
    assert first.source == again.source  # the content names the batch
    assert first.totals.loaded == len(lines) - 1
    assert again.totals.loaded == 0 and again.totals.duplicates == len(lines) - 1
    assert [r.status for r in again.lines] == ["duplicate"] * (len(lines) - 1) + ["rejected"]
    with deployment.open_store(create=False, read_only=True) as store:
        stored = store.scalar("SELECT count(*) FROM access")
        letters = list_letters(store, table="access")
    assert stored == len(lines) - 1
    assert len(letters) == 1  # the same letter, seen again


def test_context_rows_are_loaded_updated_or_duplicates(deployment):
    staff = [msgspec.to_builtins(e) for e in sample("employees")]
    changed = {**staff[0], "team": "another"}
    report = app.ingest_records(deployment, "employees", [staff[1], changed], source="hr")
    assert [r.status for r in report.lines] == ["duplicate", "accepted"]
    assert (report.totals.duplicates, report.totals.updated) == (1, 1)


def test_an_unknown_table_is_refused(deployment):
    with pytest.raises(InsiderwatchError, match="unknown table 'nope'"):
        app.ingest_records(deployment, "nope", [{}], source="x")


def test_records_and_files_agree(deployment, tmp_path):
    """The same events through a file and through a batch end up the same in the store."""
    other = app.load_deployment({"db": tmp_path / "other" / "iw.duckdb", "hash_key": KEY_HEX})
    folder = write_sample(tmp_path / "full", "jsonl", only=EVENTS_ONLY)
    app.ingest_paths(other, [folder])
    app.ingest_records(deployment, "access", events(), source="s")
    query = "SELECT * EXCLUDE (batch_id) FROM access ORDER BY event_id"
    with deployment.open_store(create=False, read_only=True) as a:
        from_batch = a.con.execute(query).fetchall()
    with other.open_store(create=False, read_only=True) as b:
        from_file = b.con.execute(query).fetchall()
    assert from_batch == from_file and len(from_batch) == len(events())


def test_lines_the_parser_must_not_see_are_letters_with_their_line(tmp_path):
    dep = app.load_deployment(
        {"db": tmp_path / "iw.duckdb", "hash_key": KEY_HEX, "max_line_bytes": 300}
    )
    app.ingest_paths(dep, [write_sample(tmp_path / "roster", only=("employees",))])
    good = json.dumps(events()[0], default=str)
    long = json.dumps({**events()[1], "app": "x" * 400}, default=str)
    report = app.ingest_records(dep, "access", [good, b"\xff{}", long], source="s", batch="b")
    assert [(r.status, r.reasons) for r in report.lines] == [
        ("accepted", []),
        ("rejected", ["line:invalid_utf8"]),
        ("rejected", ["line:too_long"]),
    ]
    with dep.open_store(create=False, read_only=True) as store:
        letters = list_letters(store, table="access")
    assert sorted((x["source"], x["row_no"], x["reason"]) for x in letters) == [
        ("s/b", 2, "invalid_utf8"),
        ("s/b", 3, "too_long"),
    ]


def test_customer_batches_never_store_a_raw_contact_detail(deployment):
    customers = [msgspec.to_builtins(c) for c in sample("customers")]
    broken = {**customers[0], "customer_id": "", "email": "Someone.Secret@Example.com"}
    report = app.ingest_records(deployment, "customers", [customers[1], broken], source="crm")
    assert [r.status for r in report.lines] == ["accepted", "rejected"]
    with deployment.open_store(create=False, read_only=True) as store:
        dumped = str(store.con.execute("SELECT * FROM dead_letters").fetchall())
        dumped += str(store.con.execute("SELECT * FROM customers").fetchall())
    assert "secret" not in dumped.lower()
    assert str(customers[1].get("email") or "@").lower() not in dumped.lower()
