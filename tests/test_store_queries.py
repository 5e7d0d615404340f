"""What the store answers: stats (counts, span, events per day) and employee timelines."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter

import pytest

from insiderwatch.contract import LOAD_ORDER
from insiderwatch.errors import InsiderwatchError
from insiderwatch.ingest import ingest_dataset
from insiderwatch.investigate.timeline import timeline
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from insiderwatch.store.stats import sparkline, store_stats
from sample_data import ACCESS, CASES, KEY_HEX, SAMPLE, UTC, at, write_sample

BAD_EVENT = {"event_id": "bad", "time": "nope", "employee_id": "e1", "action": "view"}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """The sample dataset (plus one rejected event) in Parquet, loaded once."""
    folder = tmp_path_factory.mktemp("queries")
    data = write_sample(folder / "data", "parquet")
    write_sample(folder / "data", "jsonl", only=("access",), access=[BAD_EVENT])
    key = HashKey(bytes.fromhex(KEY_HEX))
    with Store(folder / "store" / "iw.duckdb", threads=1) as store:
        report = ingest_dataset(store, data, key)
        yield store, report, key


# --- stats -----------------------------------------------------------------------------


def test_stats_counts_rows_and_letters(loaded):
    store, report, key = loaded
    stats = store_stats(store)
    expected = {name: len(SAMPLE.get(name, [])) for name in LOAD_ORDER}
    assert stats.tables == expected
    assert stats.dead_letters_open == 1 and stats.dead_letters_resolved == 0
    assert stats.batches == len(report.files)
    assert stats.key_fingerprint == key.fingerprint
    files = store.segment_files()
    assert stats.segments == len(files) == 1
    assert stats.segment_bytes == sum(p.stat().st_size for p in files)


def test_stats_time_span_and_events_per_day(loaded):
    stats = store_stats(loaded[0])
    times = [e["time"] for e in ACCESS]
    assert stats.first_event == min(times)
    assert stats.last_event == max(times)
    per_day = Counter(t.date() for t in times)
    assert stats.events_per_day == sorted(per_day.items())
    assert sum(n for _, n in stats.events_per_day) == len(ACCESS)


def test_stats_as_dict_is_json(loaded):
    stats = store_stats(loaded[0])
    data = json.loads(json.dumps(stats.as_dict()))
    assert data["tables"] == stats.tables
    assert data["dead_letters"] == {"open": 1, "resolved": 0}
    assert data["first_event"] == stats.first_event.isoformat()
    assert data["events_per_day"] == [[d.isoformat(), n] for d, n in stats.events_per_day]


def test_stats_of_an_empty_store(store):
    stats = store_stats(store)
    assert set(stats.tables.values()) == {0}
    assert stats.first_event is None and stats.last_event is None
    assert stats.events_per_day == []
    assert stats.segments == 0 and stats.segment_bytes == 0
    assert stats.key_fingerprint is None


def test_store_must_exist_when_not_creating(tmp_path):
    missing = tmp_path / "nowhere" / "iw.duckdb"
    with pytest.raises(InsiderwatchError, match=str(missing)):
        Store(missing, create=False)
    assert not missing.exists()


def test_store_reopens_read_only_with_the_same_events(tmp_path, hash_key):
    path = tmp_path / "s" / "iw.duckdb"
    data = write_sample(tmp_path / "d", only=("employees", "access"))
    with Store(path, threads=1) as store:
        ingest_dataset(store, data, hash_key)
    with Store(path, create=False, read_only=True) as store:
        assert store.scalar("SELECT count(*) FROM access") == len(ACCESS)
        assert store.meta("schema_version") is not None


@pytest.mark.parametrize(
    ("values", "expected"),
    [([], ""), ([0, 0], "▁▁"), ([1, 8], "▂█"), ([5], "█"), ([0, 4, 8], "▁▅█")],
)
def test_sparkline(values, expected):
    assert sparkline(values) == expected


# --- timeline --------------------------------------------------------------------------


def _covering_cases(employee_id: str, event: dict) -> list[str]:
    """The cases of this employee, for one of the customers shown, open at the time."""
    return sorted(
        {
            case["case_id"]
            for case in CASES
            if case["employee_id"] == employee_id
            and case["customer_id"] in event.get("customer_ids", [])
            and case["opened_at"] <= event["time"]
            and (case.get("closed_at") is None or case["closed_at"] >= event["time"])
        }
    )


@pytest.mark.parametrize("employee_id", sorted({e["employee_id"] for e in ACCESS}))
def test_timeline_in_time_order_with_open_cases(loaded, employee_id):
    entries = timeline(loaded[0], employee_id)
    mine = sorted((e for e in ACCESS if e["employee_id"] == employee_id), key=lambda e: e["time"])
    assert [x.event_id for x in entries] == [e["event_id"] for e in mine]
    assert [x.time for x in entries] == sorted(x.time for x in entries)
    for entry, event in zip(entries, mine, strict=True):
        assert entry.time == event["time"]
        assert entry.action == event["action"]
        assert entry.customer_ids == event.get("customer_ids", [])
        # The contract's default: one record per customer named, else unknown.
        named = len(event.get("customer_ids", [])) or None
        assert entry.record_count == event.get("record_count", named)
        assert entry.case_id == event.get("case_id")
        assert entry.open_cases == _covering_cases(employee_id, event)


def test_open_cases_exclude_closed_foreign_and_later_cases(loaded):
    """The oracle above is checked by hand on the cases built for it (see sample_data)."""
    by_id = {x.event_id: x for x in timeline(loaded[0], "e1")}
    assert by_id["a1"].open_cases == ["k1"]  # not k3: that is e2's case for c1
    assert by_id["a2"].open_cases == ["k2"]  # not k4 (opened later) nor k5 (closed before)
    assert by_id["a3"].open_cases == []  # k1 was closed at 12:00
    assert by_id["a4"].open_cases == ["k2"]  # late event, case already open
    (e2,) = timeline(loaded[0], "e2")
    assert e2.open_cases == ["k3"]


def test_case_closed_exactly_at_the_access_still_covers_it(tmp_path, store, ingest):
    cases = [
        {**CASES[0], "closed_at": ACCESS[0]["time"]},
        {**CASES[1], "opened_at": ACCESS[1]["time"]},
    ]
    ingest(write_sample(tmp_path / "d", "jsonl", cases=cases))
    by_id = {x.event_id: x for x in timeline(store, "e1")}
    assert by_id["a1"].open_cases == ["k1"]
    assert by_id["a2"].open_cases == ["k2"]


def test_timeline_window_and_limit(loaded):
    store = loaded[0]
    everything = timeline(store, "e1")
    since, until = at(1, 9), at(1, 10)
    window = timeline(store, "e1", since=since, until=until)
    assert [x.event_id for x in window] == [
        x.event_id for x in everything if since <= x.time <= until
    ]
    assert len(window) == 2
    assert [x.event_id for x in timeline(store, "e1", limit=2)] == [
        x.event_id for x in everything[:2]
    ]
    assert timeline(store, "nobody") == []
    later = dt.datetime(2030, 1, 1, tzinfo=UTC)
    assert timeline(store, "e1", since=later) == []


def test_timeline_entry_as_dict(loaded):
    (first, *_rest) = timeline(loaded[0], "e1")
    data = json.loads(json.dumps(first.as_dict()))
    assert data["event_id"] == first.event_id
    assert dt.datetime.fromisoformat(data["time"]) == first.time
    assert data["open_cases"] == first.open_cases
