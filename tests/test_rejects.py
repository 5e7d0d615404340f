"""Dead letters: list with filters, export, and replay once the roster is fixed."""

from __future__ import annotations

import csv
import json
from collections import Counter

import pytest

from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from insiderwatch.store.rejects import (
    LETTER_COLUMNS,
    export_letters,
    list_letters,
    reason_counts,
    replay,
)
from sample_data import KEY_HEX, at, sample, write_sample, write_table

NEWCOMER = {"employee_id": "e8", "role": "cs_agent", "team": "new", "hired_on": "2026-09-01"}

# Events of an employee missing from the roster, and events that stay bad.
LATE_ROSTER_EVENTS = [
    {
        "event_id": "n1",
        "time": at(1, 9),
        "employee_id": "e8",
        "action": "view",
        "customer_ids": ["c1", "c2"],
        "fields": ["email"],
    },
    {"event_id": "n2", "time": at(1, 10), "employee_id": "e8", "action": "print"},
    {"event_id": "n3", "time": "soon", "employee_id": "e8", "action": "view"},
    {"event_id": "n4", "time": at(1, 11), "employee_id": "e7", "action": "view"},
]
LATE_ROSTER_CASE = {
    "case_id": "k8",
    "customer_id": "c1",
    "employee_id": "e8",
    "opened_at": at(1, 8),
}
BAD_CUSTOMERS = [
    {"customer_id": "c5", "email": "pink@example.net", "is_vip": "maybe"},
    {"customer_id": "c6", "email": "not an email"},
]


def _dataset(folder, fmt="csv"):
    return write_sample(
        folder,
        fmt,
        access=sample("access") + LATE_ROSTER_EVENTS,
        cases=sample("cases") + [LATE_ROSTER_CASE],
        customers=sample("customers") + BAD_CUSTOMERS,
    )


@pytest.fixture(scope="module")
def lettered(tmp_path_factory):
    """A store whose dead letters are only read by the tests using it."""
    folder = tmp_path_factory.mktemp("letters")
    with Store(folder / "store" / "iw.duckdb", threads=1) as store:
        ingest_dataset(store, _dataset(folder / "data"), HashKey(bytes.fromhex(KEY_HEX)))
        yield store


def test_list_letters_filters_by_table(lettered):
    everything = list_letters(lettered)
    assert len(everything) == len(LATE_ROSTER_EVENTS) + 1 + len(BAD_CUSTOMERS)
    by_table = Counter(x["table_name"] for x in everything)
    assert by_table == {"access": 4, "cases": 1, "customers": 2}
    for table, n in by_table.items():
        letters = list_letters(lettered, table=table)
        assert len(letters) == n and {x["table_name"] for x in letters} == {table}
    assert list_letters(lettered, table="orders") == []
    assert list(everything[0]) == list(LETTER_COLUMNS)


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("unknown_employee", {"n1", "n2", "n4", "k8"}),
        ("employee_id:unknown_employee", {"n1", "n2", "n3", "n4", "k8"}),
        ("time:not_a_timestamp", {"n3"}),
        ("not_a_boolean", {"c5"}),
        ("email:not_an_email", {"c6"}),
        ("no_such_reason", set()),
    ],
)
def test_list_letters_filters_by_reason(lettered, reason, expected):
    """A bare reason matches the first problem; ``field:reason`` matches any problem."""
    letters = list_letters(lettered, reason=reason)
    assert {x["record_key"].split("|")[0] for x in letters} == expected


def test_list_letters_limit_and_order(lettered):
    everything = list_letters(lettered)
    order = [(x["table_name"], x["source"], x["row_no"]) for x in everything]
    assert order == sorted(order)
    assert list_letters(lettered, limit=3) == everything[:3]


def test_reason_counts_match_the_letters(lettered):
    counted = Counter()
    for letter in list_letters(lettered):
        for problem in letter["problems"]:
            counted[(letter["table_name"], problem)] += 1
    summary = reason_counts(lettered)
    assert {(t, p): n for t, p, n in summary} == counted
    assert [n for _, _, n in summary] == sorted((n for _, _, n in summary), reverse=True)


def test_customer_letters_are_redacted(lettered):
    letters = list_letters(lettered, table="customers")
    for letter in letters:
        assert "@example.net" not in letter["record"]
        kept = json.loads(letter["record"])
        assert "email" not in kept and "phone" not in kept and "customer_id" in kept
    assert {x["disposition"] for x in letters} == {"rejected", "field_dropped"}


def test_export_jsonl_round_trip(lettered, tmp_path):
    letters = list_letters(lettered)
    path = tmp_path / "out" / "letters.jsonl"
    export_letters(letters, path)
    back = [json.loads(line) for line in path.read_text().splitlines()]
    assert back == json.loads(json.dumps(letters, default=str))
    assert [x["problems"] for x in back] == [x["problems"] for x in letters]


def test_export_csv_round_trip(lettered, tmp_path):
    letters = list_letters(lettered)
    path = tmp_path / "letters.csv"
    export_letters(letters, path)
    with path.open(newline="") as fh:
        back = list(csv.DictReader(fh))
    assert len(back) == len(letters)
    assert list(back[0]) == list(LETTER_COLUMNS)
    for row, letter in zip(back, letters, strict=True):
        assert row["problems"].split(";") == letter["problems"]
        for name in ("letter_id", "source", "record", "record_key", "field", "reason"):
            assert row[name] == (letter[name] or "")
        assert int(row["row_no"]) == letter["row_no"]
        assert row["resolved_batch"] == ""


def test_export_empty(tmp_path):
    path = tmp_path / "none.csv"
    export_letters([], path)
    assert path.read_text().strip() == ",".join(LETTER_COLUMNS)


# --- replay ----------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_replay_loads_events_once_the_employee_exists(tmp_path, store, ingest, hash_key, fmt):
    ingest(_dataset(tmp_path / "data", fmt))
    before = {x["letter_id"]: x for x in list_letters(store, include_resolved=True)}
    # Nothing to gain before the roster is fixed.
    results = replay(store, hash_key)
    assert sum(r.counts.loaded for r in results) == 0
    assert len(list_letters(store)) == len(before)

    ingest(write_table(tmp_path / "roster", "employees", [NEWCOMER], name="employees-late.csv"))
    results = {r.table: r for r in replay(store, hash_key)}
    assert set(results) == {"access", "cases"}  # customers are never replayed
    assert results["access"].letters == len(LATE_ROSTER_EVENTS)
    assert results["access"].counts.loaded == 2  # n1, n2; n3 has a bad time, n4 no employee
    assert results["access"].counts.rejected == 2
    assert results["cases"].counts.loaded == 1

    loaded = dict(
        store.con.execute(
            "SELECT event_id, customer_ids FROM access WHERE employee_id = 'e8'"
        ).fetchall()
    )
    assert loaded == {"n1": ["c1", "c2"], "n2": []}
    assert store.scalar("SELECT count(*) FROM cases WHERE employee_id = 'e8'") == 1

    after = {x["letter_id"]: x for x in list_letters(store, include_resolved=True)}
    assert after.keys() == before.keys(), "replay adds no letters"
    still_open = {x["record_key"].split("|")[0] for x in list_letters(store)}
    assert still_open == {"n3", "n4", "c5", "c6"}
    replay_batches = {
        b
        for (b,) in store.con.execute(
            "SELECT batch_id FROM ingest_batches WHERE format = 'replay'"
        ).fetchall()
    }
    for letter in after.values():
        key = letter["record_key"].split("|")[0]
        if key in {"n1", "n2", "k8"}:
            assert letter["resolved_batch"] in replay_batches
        else:
            assert letter["resolved_batch"] is None

    again = replay(store, hash_key)
    assert sum(r.counts.loaded for r in again) == 0
    assert {r.letters for r in again if r.table == "access"} == {2}


def test_replay_with_nothing_open(store, hash_key):
    assert replay(store, hash_key) == []


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_export_csv_defuses_formula_cells(lettered, tmp_path, start):
    """A log line is attacker-written: a cell a spreadsheet would run as a formula
    (=cmd|'/c calc'!A1) is exported with a leading quote."""
    letters = list_letters(lettered)
    payload = f"{start}cmd|'/c calc'!A1"
    letters[0] = {**letters[0], "record": payload, "record_key": payload}
    path = tmp_path / "letters.csv"
    export_letters(letters, path)
    with path.open(newline="") as fh:
        first = next(csv.DictReader(fh))
    assert first["record"] == first["record_key"] == "'" + payload
    assert not any(v.startswith(("=", "+", "@")) for v in first.values())
