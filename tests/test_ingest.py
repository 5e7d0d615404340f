"""Ingest through ``ingest_dataset``: every format, every bucket, every reason.

An ingest costs a few tenths of a second, so tests that only read the result share one
load per module (``bad_rows``, ``times``) and datasets hold only the tables a test needs.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections import Counter

import pyarrow as pa
import pytest

from insiderwatch.contract import TABLES
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from insiderwatch.store.rejects import list_letters
from sample_data import (
    ACCESS,
    CASES,
    EMPLOYEES,
    EVENTS_ONLY,
    FORMATS,
    KEY_HEX,
    SAMPLE,
    UTC,
    at,
    sample,
    write_sample,
    write_table,
)

GOOD_EVENT = {"time": at(1, 9), "employee_id": "e1", "action": "view", "customer_ids": ["c1"]}


def _text_schema(rows) -> pa.Schema:
    """A Parquet schema of plain strings (to write values of the wrong type)."""
    return pa.schema([(name, pa.string()) for name in dict.fromkeys(k for r in rows for k in r)])


# --- the happy path in every format ----------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_sample_dataset_loads_in_every_format(tmp_path, store, ingest, fmt):
    report = ingest(write_sample(tmp_path / "data", fmt))
    assert report.errors == []
    by_table = {r.file.table: r for r in report.files}
    assert set(by_table) == set(SAMPLE)
    for table, rows in SAMPLE.items():
        counts = by_table[table].counts
        assert counts.as_dict() == {
            "rows_read": len(rows),
            "loaded": len(rows),
            "updated": 0,
            "duplicates": 0,
            "rejected": 0,
            "fields_dropped": 0,
        }
        assert store.scalar(f"SELECT count(*) FROM {table}") == len(rows)
    assert list_letters(store, include_resolved=True) == []
    _assert_access_as_written(store)
    _assert_context_as_written(store)


def _assert_access_as_written(store):
    stored = {
        row[0]: row[1:]
        for row in store.con.execute(
            "SELECT event_id, time, employee_id, action, customer_ids, fields, record_count, "
            "app, case_id, destination, src_ip, device_id FROM access"
        ).fetchall()
    }
    assert set(stored) == {e["event_id"] for e in ACCESS}
    for event in ACCESS:
        row = stored[event["event_id"]]
        when, employee, action, customers, fields, count, app, case, dest, ip, device = row
        assert when == event["time"] and when.utcoffset() == dt.timedelta(0)
        assert (employee, action) == (event["employee_id"], event["action"])
        assert customers == event.get("customer_ids", [])
        assert fields == event.get("fields", [])
        # The contract's default: one record per customer named, else unknown.
        assert count == event.get("record_count", len(event.get("customer_ids", [])) or None)
        assert (app or "") == event.get("app", "")
        assert case == event.get("case_id")
        assert dest == event.get("destination")
        assert (ip or "", device or "") == (event.get("src_ip", ""), event.get("device_id", ""))


def _assert_context_as_written(store):
    employees = {
        r[0]: r[1:]
        for r in store.con.execute(
            "SELECT employee_id, role, team, manager_id, hired_on, departs_on FROM employees"
        ).fetchall()
    }
    for e in EMPLOYEES:
        expected = (e["role"], e["team"], e.get("manager_id"), e["hired_on"], e.get("departs_on"))
        assert employees[e["employee_id"]] == expected
    cases = {
        r[0]: r[1:]
        for r in store.con.execute("SELECT case_id, opened_at, closed_at FROM cases").fetchall()
    }
    for c in CASES:
        assert cases[c["case_id"]] == (c["opened_at"], c.get("closed_at"))
    vip = dict(store.con.execute("SELECT customer_id, is_vip FROM customers").fetchall())
    # A missing is_vip is stored as NULL (unknown), which reads as "not a VIP".
    assert {k: bool(v) for k, v in vip.items()} == {
        c["customer_id"]: c.get("is_vip", False) for c in SAMPLE["customers"]
    }


def test_batches_and_progress_are_recorded(tmp_path, store, ingest):
    started, progress = [], {}
    report = ingest(
        write_sample(tmp_path / "data", "jsonl.gz", only=EVENTS_ONLY),
        on_file_start=lambda f: started.append(f.table),
        progress=lambda f, done: progress.__setitem__(f.path, done),
    )
    assert started == [r.file.table for r in report.files] == ["employees", "access"]
    assert progress == {r.file.path: r.file.size for r in report.files}
    rows = store.con.execute(
        "SELECT batch_id, table_name, source, format, status, rows_read, loaded, finished_at "
        "FROM ingest_batches ORDER BY batch_id"
    ).fetchall()
    assert [r[0] for r in rows] == [f.batch_id for f in report.files]
    for row, result in zip(rows, report.files, strict=True):
        assert row[1:5] == (result.file.table, str(result.file.path), "jsonl", "done")
        assert row[5:7] == (result.counts.rows_read, result.counts.loaded)
        assert row[7] is not None


# --- bad rows --------------------------------------------------------------------------

# (table, changes to a valid row, the reason expected first)
BAD_ROWS = [
    ("access", {"time": "yesterday"}, "time:not_a_timestamp"),
    ("access", {"time": "2026-13-01T00:00:00Z"}, "time:not_a_timestamp"),
    ("access", {"time": None}, "time:missing"),
    ("access", {"action": "delete"}, "action:unknown_value"),
    ("access", {"action": None}, "action:missing"),
    ("access", {"employee_id": "e9"}, "employee_id:unknown_employee"),
    ("access", {"record_count": -1}, "record_count:out_of_range"),
    ("access", {"record_count": "many"}, "record_count:not_an_integer"),
    ("access", {"destination": "usb stick"}, "destination:bad_format"),
    ("access", {"destination": "external:"}, "destination:bad_format"),
    ("access", {"fields": ["email", "dna"]}, "fields:unknown_value"),
    ("access", {"event_id": "x" * 300}, "event_id:too_long"),
    ("access", {"event_id": None}, "event_id:missing"),
    ("employees", {"hired_on": "soon"}, "hired_on:not_a_date"),
    ("employees", {"role": None}, "role:missing"),
    ("customers", {"is_vip": "maybe"}, "is_vip:not_a_boolean"),
    ("cases", {"employee_id": "e9"}, "employee_id:unknown_employee"),
    ("cases", {"closed_at": "later"}, "closed_at:not_a_timestamp"),
    ("cases", {"customer_id": None}, "customer_id:missing"),
]
KEYS = {"access": "event_id", "employees": "employee_id", "customers": "customer_id"}
KEYS["cases"] = "case_id"


def _bad_rows_dataset(folder, fmt):
    """The sample plus every bad row, each table's bad rows after its good ones."""
    tables = {name: sample(name) for name in SAMPLE}
    where = []
    for i, (table, change, _reason) in enumerate(BAD_ROWS):
        row = {**sample(table)[0], KEYS[table]: f"bad-{i}", **change}
        tables[table].append(row)
        where.append(len(tables[table]))  # 1-based position in the file
    write_sample(folder, fmt, **tables)
    return where


@pytest.fixture(scope="module", params=["csv", "jsonl"])
def bad_rows(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"bad-{request.param}")
    where = _bad_rows_dataset(folder / "data", request.param)
    with Store(folder / "store" / "iw.duckdb", threads=1) as store:
        report = ingest_dataset(store, folder / "data", HashKey(bytes.fromhex(KEY_HEX)))
        letters = {(x["table_name"], x["row_no"]): x for x in list_letters(store)}
    header = 1 if request.param == "csv" else 0
    return request.param, report, letters, [w + header for w in where]


@pytest.mark.parametrize("case", range(len(BAD_ROWS)), ids=[r[2] for r in BAD_ROWS])
def test_bad_row_becomes_a_dead_letter(bad_rows, case):
    fmt, report, letters, rows = bad_rows
    table, change, reason = BAD_ROWS[case]
    letter = letters[(table, rows[case])]
    result = next(r for r in report.files if r.file.table == table)
    assert letter["source"] == str(result.file.path)
    assert f"{letter['field']}:{letter['reason']}" == reason
    assert reason in letter["problems"]
    assert letter["disposition"] == "rejected"
    assert letter["resolved_batch"] is None
    assert letter["first_batch"] == letter["last_batch"] == result.batch_id
    bad_value = next(iter(change.values()))
    if isinstance(bad_value, str):
        assert bad_value in letter["record"]
    if KEYS[table] not in change:
        assert letter["record_key"].startswith(f"bad-{case}")


def test_bad_rows_are_counted_per_table(bad_rows):
    _fmt, report, letters, _rows = bad_rows
    expected = Counter(table for table, _c, _r in BAD_ROWS)
    for result in report.files:
        table = result.file.table
        assert result.counts.rejected == expected[table]
        assert result.counts.loaded == len(SAMPLE[table])
        assert result.counts.rows_read == len(SAMPLE[table]) + expected[table]
    assert len(letters) == len(BAD_ROWS)
    assert report.totals.reasons == Counter(r for _t, _c, r in BAD_ROWS)


BROKEN_LINES = [
    ("{bad json", "line:malformed_json"),
    ("[1, 2]", "line:not_an_object"),
    ('"just a string"', "line:not_an_object"),
    ("42", "line:not_an_object"),
    ("{}", "event_id:missing"),
    ('{"event_id": "x1", "time": "nope", "employee_id": "e9", "action": "eat"}', None),
]


def test_broken_json_lines(tmp_path, store, ingest):
    good = [{"event_id": f"g{i}", **GOOD_EVENT} for i in range(len(BROKEN_LINES) + 1)]
    lines = [good[0], ""]
    for i, (line, _reason) in enumerate(BROKEN_LINES):
        lines += [line, good[i + 1]]
    data = write_sample(tmp_path / "d", "jsonl", only=EVENTS_ONLY, access=lines)
    result = ingest(data).files[-1]
    counts = result.counts
    assert counts.rows_read == len(lines) - 1  # the blank line is not a record
    assert (counts.loaded, counts.rejected) == (len(good), len(BROKEN_LINES))
    letters = list_letters(store)
    assert [x["row_no"] for x in letters] == [3 + 2 * i for i in range(len(BROKEN_LINES))]
    for letter, (line, reason) in zip(letters, BROKEN_LINES, strict=True):
        if reason is not None:
            assert f"{letter['field']}:{letter['reason']}" == reason
        assert letter["record"] == line
        assert letter["source"] == str(result.file.path)
    # Every problem of a row is kept, not only the first.
    assert set(letters[-1]["problems"]) == {
        "time:not_a_timestamp",
        "employee_id:unknown_employee",
        "action:unknown_value",
    }
    assert letters[-1]["record_key"] == "x1"


def test_malformed_csv_rows_are_rejected_with_their_rows(tmp_path, store, ingest):
    rows = [
        {"event_id": "g1", **GOOD_EVENT},
        "b1,2026-09-01T10:00:00Z,e1,view,c1,extra",
        {"event_id": "g2", **GOOD_EVENT},
        "b2",
        "b1,2026-09-01T10:00:00Z,e1,view,c1,extra",
    ]
    write_sample(tmp_path / "d", only=EVENTS_ONLY, access=rows)
    result = ingest(tmp_path / "d").files[-1]
    assert result.counts.rejected == 3 and result.counts.loaded == 2
    assert result.counts.reasons["row:malformed_row"] == 3
    letters = list_letters(store)
    assert [(x["row_no"], x["field"], x["reason"]) for x in letters] == [
        (3, "row", "malformed_row"),
        (5, "row", "malformed_row"),
        (6, "row", "malformed_row"),
    ]
    assert letters[0]["record"] == rows[1]


def test_parquet_bad_values(tmp_path, store, ingest):
    data = write_sample(tmp_path / "d", only=EVENTS_ONLY, access=[])
    rows = [
        {"event_id": "p1", "time": "2026-09-01T10:00:00Z", "employee_id": "e1", "action": "view"},
        {"event_id": "p2", "time": "tomorrow", "employee_id": "e1", "action": "view"},
        {"event_id": "p3", "time": "2026-09-01T10:00:00Z", "employee_id": "e1", "action": "fly"},
    ]
    path = write_table(data, "access", rows, "parquet", schema=_text_schema(rows))
    result = ingest(data).files[-1]
    assert (result.counts.loaded, result.counts.rejected) == (1, 2)
    letters = list_letters(store)
    assert [(x["source"], x["row_no"], x["field"]) for x in letters] == [
        (str(path), 2, "time"),
        (str(path), 3, "action"),
    ]


# --- re-ingest, duplicates, late events ------------------------------------------------


def _dataset_with_bad_rows(folder, fmt):
    access = sample("access") + [
        {"event_id": "bad1", "time": "nope", "employee_id": "e1", "action": "view"},
        {"event_id": "bad2", "time": at(1, 9), "employee_id": "e9", "action": "view"},
        "{broken" if fmt.startswith("jsonl") else "x,y",
    ]
    customers = sample("customers") + [{"customer_id": "c7", "email": "nope"}]
    only = ("employees", "customers", "access")
    return write_sample(folder, fmt, only=only, access=access, customers=customers)


@pytest.mark.parametrize("fmt", ["csv", "jsonl.gz"])
def test_reingest_is_idempotent(tmp_path, store, ingest, fmt):
    data = _dataset_with_bad_rows(tmp_path / "d", fmt)
    first = ingest(data)
    broken = "row:malformed_row" if fmt == "csv" else "line:malformed_json"
    assert first.totals.reasons == Counter(
        {
            "time:not_a_timestamp": 1,
            "employee_id:unknown_employee": 1,
            broken: 1,
            "email:not_an_email": 1,
        }
    )
    letters = {x["letter_id"]: x for x in list_letters(store, include_resolved=True)}
    counts = {t: store.scalar(f"SELECT count(*) FROM {t}") for t in SAMPLE}
    segments = store.scalar("SELECT count(*) FROM event_segments")
    assert first.totals.rejected == 3 and first.totals.fields_dropped == 1
    assert len(letters) == 4

    second = ingest(data)
    totals = second.totals
    assert totals.loaded == totals.updated == 0
    assert totals.rows_read == first.totals.rows_read
    assert totals.rejected == first.totals.rejected
    assert totals.duplicates == totals.rows_read - totals.rejected
    assert {t: store.scalar(f"SELECT count(*) FROM {t}") for t in SAMPLE} == counts
    assert store.scalar("SELECT count(*) FROM event_segments") == segments

    after = {x["letter_id"]: x for x in list_letters(store, include_resolved=True)}
    assert after.keys() == letters.keys()
    batch_of = {str(r.file.path): r.batch_id for r in second.files}
    for letter_id, letter in after.items():
        assert letter["first_batch"] == letters[letter_id]["first_batch"]
        assert letter["last_batch"] == batch_of[letter["source"]] > letter["first_batch"]
        assert letter["resolved_batch"] is None


def test_duplicates_inside_one_file_count_once(tmp_path, store, ingest):
    first = {"event_id": "d1", **GOOD_EVENT, "app": "first"}
    rows = [first, {**first, "app": "second"}, {**first, "event_id": "d2"}, first]
    result = ingest(write_sample(tmp_path / "d", only=EVENTS_ONLY, access=rows)).files[-1]
    assert (result.counts.loaded, result.counts.duplicates) == (2, 2)
    assert store.scalar("SELECT app FROM access WHERE event_id = 'd1'") == "first"
    assert store.scalar("SELECT count(*) FROM access") == 2


def test_context_rows_repeated_in_one_file_last_one_wins(tmp_path, store, ingest):
    rows = sample("employees")
    rows.append({**rows[0], "team": "latest"})
    result = ingest(write_table(tmp_path / "d", "employees", rows)).files[0]
    assert (result.counts.loaded, result.counts.duplicates) == (len(rows) - 1, 1)
    assert store.scalar("SELECT team FROM employees WHERE employee_id = 'e1'") == "latest"


def test_late_and_out_of_order_events_are_accepted(tmp_path, store, ingest):
    ingest(write_sample(tmp_path / "d", only=EVENTS_ONLY))
    older = [
        {"event_id": "old1", **GOOD_EVENT, "time": at(-30, 12)},
        {"event_id": "old0", **GOOD_EVENT, "time": at(-60, 12)},
    ]
    result = ingest(write_table(tmp_path / "late", "access", older, "jsonl")).files[0]
    assert (result.counts.loaded, result.counts.rejected) == (2, 0)
    assert store.scalar("SELECT min(time) FROM access") == at(-60, 12)
    assert store.scalar("SELECT count(*) FROM access") == len(ACCESS) + 2


# --- timestamps ------------------------------------------------------------------------

TIMES = [
    ("2026-09-01T10:30:00+01:00", dt.datetime(2026, 9, 1, 9, 30, tzinfo=UTC)),
    ("2026-09-01T01:00:00-05:00", dt.datetime(2026, 9, 1, 6, 0, tzinfo=UTC)),
    ("2026-09-01T09:30:00Z", dt.datetime(2026, 9, 1, 9, 30, tzinfo=UTC)),
    ("2026-09-01 09:30:00+00:00", dt.datetime(2026, 9, 1, 9, 30, tzinfo=UTC)),
    ("2026-09-01T09:30:00.250Z", dt.datetime(2026, 9, 1, 9, 30, 0, 250000, tzinfo=UTC)),
    ("2026-09-01T09:30:00", dt.datetime(2026, 9, 1, 9, 30, tzinfo=UTC)),  # naive = UTC
    ("2026-09-01T00:30:00+02:00", dt.datetime(2026, 8, 31, 22, 30, tzinfo=UTC)),
]


@pytest.fixture(scope="module", params=["csv", "jsonl"])
def times(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(f"times-{request.param}")
    rows = [{"event_id": f"t{i}", **GOOD_EVENT, "time": w} for i, (w, _) in enumerate(TIMES)]
    write_sample(folder / "data", request.param, only=EVENTS_ONLY, access=rows)
    with Store(folder / "store" / "iw.duckdb", threads=1) as store:
        ingest_dataset(store, folder / "data", HashKey(bytes.fromhex(KEY_HEX)))
        return dict(
            (r[0], r[1:])
            for r in store.con.execute(
                "SELECT event_id, time, CAST(time AS DATE) FROM access"
            ).fetchall()
        )


@pytest.mark.parametrize("case", range(len(TIMES)), ids=[w for w, _ in TIMES])
def test_timestamps_are_stored_in_utc(times, case):
    stored, day = times[f"t{case}"]
    assert stored == TIMES[case][1]
    assert stored.utcoffset() == dt.timedelta(0)
    assert day == TIMES[case][1].date()


@pytest.fixture
def host_in_new_york():
    """The host's local zone is not UTC (as on most laptops)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


def test_naive_times_are_utc_whatever_the_host_zone(tmp_path, host_in_new_york, hash_key):
    text = {"event_id": "n1", **GOOD_EVENT, "time": "2026-09-01 23:30:00"}
    data = write_sample(tmp_path / "d", only=EVENTS_ONLY, access=[text])
    naive = pa.schema(
        [
            ("event_id", pa.string()),
            ("time", pa.timestamp("us")),
            ("employee_id", pa.string()),
            ("action", pa.string()),
        ]
    )
    row = {"event_id": "n2", **GOOD_EVENT, "time": dt.datetime(2026, 9, 1, 23, 45)}
    write_table(data, "access", [row], "parquet", name="access-naive.parquet", schema=naive)
    with Store(tmp_path / "s" / "iw.duckdb", threads=1) as store:
        ingest_dataset(store, data, hash_key)
        got = dict(
            (r[0], r[1:])
            for r in store.con.execute(
                "SELECT event_id, time, CAST(time AS DATE) FROM access"
            ).fetchall()
        )
    assert got["n1"] == (dt.datetime(2026, 9, 1, 23, 30, tzinfo=UTC), dt.date(2026, 9, 1))
    assert got["n2"] == (dt.datetime(2026, 9, 1, 23, 45, tzinfo=UTC), dt.date(2026, 9, 1))


# --- columns ---------------------------------------------------------------------------


def test_list_fields_in_csv_are_semicolon_separated(tmp_path, store, ingest):
    rows = [
        {"event_id": "l1", **GOOD_EVENT, "customer_ids": "c1; c2 ;;c3", "fields": "EMAIL;Phone"},
        {"event_id": "l2", **GOOD_EVENT, "customer_ids": "", "fields": ""},
    ]
    ingest(write_sample(tmp_path / "d", only=EVENTS_ONLY, access=rows))
    got = {
        r[0]: r[1:]
        for r in store.con.execute(
            "SELECT event_id, customer_ids, fields, record_count FROM access"
        ).fetchall()
    }
    assert got["l1"] == (["c1", "c2", "c3"], ["email", "phone"], 3)
    assert got["l2"] == ([], [], None)  # no customer and no count: unknown


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_record_count_defaults_to_the_number_of_customers(tmp_path, store, ingest, fmt):
    rows = [
        {"event_id": "r1", **GOOD_EVENT, "customer_ids": ["c1", "c2"]},
        {"event_id": "r2", **GOOD_EVENT, "customer_ids": ["c1", "c2"], "record_count": 0},
        {"event_id": "r3", **GOOD_EVENT, "customer_ids": [], "record_count": 7},
    ]
    expected = {"r1": 2, "r2": 0, "r3": 7}
    if fmt == "jsonl":  # lists may also be ';'-separated strings in JSON Lines
        rows.append({"event_id": "r4", **GOOD_EVENT, "customer_ids": "c1;c2", "fields": "name"})
        expected["r4"] = 2
    ingest(write_sample(tmp_path / "d", fmt, only=EVENTS_ONLY, access=rows))
    got = {
        r[0]: r[1:]
        for r in store.con.execute(
            "SELECT event_id, record_count, customer_ids, fields FROM access"
        ).fetchall()
    }
    assert {k: v[0] for k, v in got.items()} == expected
    if fmt == "jsonl":
        assert got["r4"][1:] == (["c1", "c2"], ["name"])


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_missing_required_column_fails_the_file_naming_it(tmp_path, store, ingest, fmt):
    rows = [{k: v for k, v in e.items() if k != "action"} for e in sample("access")]
    data = write_sample(tmp_path / "d", only=EVENTS_ONLY, access=[])
    schema = pa.schema([f for f in TABLES["access"].arrow_schema() if f.name != "action"])
    path = write_table(data, "access", rows, fmt, schema=schema)
    report = ingest(data)
    (failed,) = report.errors
    assert failed.file.path == path
    assert str(path) in failed.error and "action" in failed.error
    assert failed.batch_id is None
    assert [r.file.table for r in report.files] == ["employees", "access"]
    assert store.scalar("SELECT count(*) FROM employees") == len(EMPLOYEES)
    assert store.scalar("SELECT count(*) FROM access") == 0


def test_unreadable_file_mid_way_is_marked_failed(tmp_path, store, ingest):
    import gzip

    data = write_sample(tmp_path / "d", only=EVENTS_ONLY, access=[])
    body = b"event_id,time,employee_id,action\n" + b"".join(
        f"z{i},2026-09-01T00:00:00Z,e{i % 97},view\n".encode() for i in range(50_000)
    )
    packed = gzip.compress(body)
    (data / "access.csv.gz").write_bytes(packed[: len(packed) // 2])  # cut off mid-way
    result = ingest(data).files[-1]
    assert result.error and str(data / "access.csv.gz") in result.error
    status = store.scalar("SELECT status FROM ingest_batches WHERE batch_id = ?", [result.batch_id])
    assert status == "failed"


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_unknown_columns_are_ignored_and_reported(tmp_path, store, ingest, fmt):
    rows = [{**e, "colour": "blue", "Mood": "ok"} for e in sample("access")]
    data = write_sample(tmp_path / "d", only=EVENTS_ONLY, access=[])
    schema = TABLES["access"].arrow_schema()
    schema = schema.append(pa.field("colour", pa.string())).append(pa.field("Mood", pa.string()))
    write_table(data, "access", rows, fmt, schema=schema)
    result = ingest(data).files[-1]
    assert result.unknown_columns == ["colour", "Mood"]
    assert result.counts.loaded == len(ACCESS) and result.counts.rejected == 0


def test_header_case_does_not_matter(tmp_path, store, ingest):
    data = write_sample(tmp_path / "d", only=EVENTS_ONLY, access=[])
    header = "EVENT_ID,Time,Employee_Id,ACTION,Customer_IDs"
    (data / "access.csv").write_text(header + "\nu1,2026-09-01T10:00:00Z,e1,VIEW,c1;c2\n")
    result = ingest(data).files[-1]
    assert result.unknown_columns == [] and result.counts.loaded == 1
    row = store.con.execute("SELECT action, customer_ids FROM access").fetchall()
    assert row == [("view", ["c1", "c2"])]


@pytest.mark.parametrize(
    ("name", "fmt"), [("_row", "csv"), ("_ROW", "csv"), ("_line", "csv"), ("_row", "parquet")]
)
def test_columns_named_like_internal_ones_do_not_break_ingest(tmp_path, store, ingest, name, fmt):
    rows = [
        {"event_id": "i1", "time": "2026-09-01T10:00:00Z", "employee_id": "e1", "action": "view"},
        {"event_id": "i2", "time": "never", "employee_id": "e1", "action": "view"},
    ]
    rows = [{**r, name: "zz"} for r in rows]
    data = write_sample(tmp_path / "d", only=EVENTS_ONLY, access=[])
    write_table(data, "access", rows, fmt, schema=_text_schema(rows))
    result = ingest(data).files[-1]
    assert result.error is None
    assert (result.counts.loaded, result.counts.rejected) == (1, 1)
    (letter,) = list_letters(store)
    assert letter["row_no"] == (3 if fmt == "csv" else 2)


# --- context tables: upsert, corrections -----------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_changed_context_row_is_updated(tmp_path, store, ingest, fmt):
    employees = sample("employees")
    path = write_table(tmp_path / "d", "employees", employees, fmt)
    ingest(path)
    employees[1]["team"] = "purple"
    write_table(tmp_path / "d", "employees", employees, fmt)
    (result,) = ingest(path).files
    counts = result.counts
    assert (counts.loaded, counts.updated, counts.duplicates) == (0, 1, len(employees) - 1)
    team, batch = store.con.execute(
        "SELECT team, batch_id FROM employees WHERE employee_id = ?", [employees[1]["employee_id"]]
    ).fetchall()[0]
    assert (team, batch) == ("purple", result.batch_id)
    assert store.scalar("SELECT count(*) FROM employees") == len(employees)


def test_corrected_file_resolves_earlier_letters(tmp_path, store, ingest):
    access = sample("access")
    access[1] = {**access[1], "time": "not yet"}
    data = write_sample(tmp_path / "d", "jsonl", only=EVENTS_ONLY, access=access)
    ingest(data)
    (letter,) = list_letters(store)
    assert letter["record_key"] == access[1]["event_id"]

    write_sample(tmp_path / "d", "jsonl", only=EVENTS_ONLY)  # the producer fixed the file
    fixed = ingest(data).files[-1]
    assert fixed.counts.loaded == 1
    assert list_letters(store) == []
    (resolved,) = list_letters(store, include_resolved=True)
    assert resolved["letter_id"] == letter["letter_id"]
    assert resolved["resolved_batch"] == fixed.batch_id


def test_corrected_customer_resolves_its_field_dropped_letter(tmp_path, store, ingest):
    customers = sample("customers")
    customers[1]["email"] = "sam.jones-at-example.org"
    path = write_table(tmp_path / "d", "customers", customers)
    ingest(path)
    (letter,) = list_letters(store)
    assert letter["disposition"] == "field_dropped"
    assert letter["record_key"] == customers[1]["customer_id"]

    write_table(tmp_path / "d", "customers", sample("customers"))  # fixed at the source
    (fixed,) = ingest(path).files
    assert fixed.counts.updated == 1
    assert list_letters(store) == []
    (resolved,) = list_letters(store, include_resolved=True)
    assert resolved["resolved_batch"] == fixed.batch_id


def test_fractional_record_count_is_rejected_not_rounded(tmp_path, store, hash_key):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "employees.csv").write_text(
        "employee_id,role,hired_on\ne1,cs_agent,2024-01-01\n"
    )
    (tmp_path / "ds" / "access.csv").write_text(
        "event_id,time,employee_id,action,customer_ids,record_count\n"
        "a1,2026-09-01T10:00:00Z,e1,view,c1,3.5\n"
        "a2,2026-09-01T10:00:00Z,e1,view,c1,+2\n"
    )
    report = ingest_dataset(store, tmp_path / "ds", hash_key)
    access = next(r for r in report.files if r.file.table == "access")
    assert access.counts.reasons["record_count:not_an_integer"] == 1
    assert store.scalar("SELECT record_count FROM access WHERE event_id = 'a2'") == 2


def test_absent_boolean_takes_the_contract_default(tmp_path, store, hash_key):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "customers.csv").write_text("customer_id,surname\nc1,Smith\n")
    ingest_dataset(store, tmp_path / "ds", hash_key)
    assert store.scalar("SELECT is_vip FROM customers WHERE customer_id = 'c1'") is False


# Times that parse but cannot be real: each rejected with its row, the rest loads.
IMPOSSIBLE_TIMES = [
    "0000-01-01T00:00:00Z",  # year 0: overflowed Python dates and aborted the whole ingest
    "0001-01-01T00:00:00Z",  # made detect fail on every later run
    "1970-01-01T00:00:00Z",  # made detect replay 20,000 days
    "2026-09-01T10:00:00+99:99",  # not an offset
    "9999-12-31T00:00:00Z",
]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_impossible_times_are_dead_letters_and_the_rest_loads(tmp_path, store, ingest, fmt):
    rows = [{"event_id": f"x{i}", **GOOD_EVENT, "time": t} for i, t in enumerate(IMPOSSIBLE_TIMES)]
    rows.append({"event_id": "ok", **GOOD_EVENT, "time": "2026-09-01T10:00:00Z"})
    data = write_sample(tmp_path / "d", fmt, only=EVENTS_ONLY, access=rows)
    report = ingest(data)
    assert not report.errors
    assert [r[0] for r in store.con.execute("SELECT event_id FROM access").fetchall()] == ["ok"]
    letters = [x for x in list_letters(store) if x["table_name"] == "access"]
    assert len(letters) == len(IMPOSSIBLE_TIMES)
    assert {x["field"] for x in letters} == {"time"}


def test_time_window_is_a_setting(tmp_path, hash_key):
    from insiderwatch.settings import load_settings
    from insiderwatch.store import open_store

    rows = [{"event_id": "old", **GOOD_EVENT, "time": "1995-06-01T00:00:00Z"}]
    data = write_sample(tmp_path / "d", only=EVENTS_ONLY, access=rows)
    for earliest, loaded in (("1990-01-01", 1), ("2000-01-01", 0)):
        env = {
            "INSIDERWATCH_DB": str(tmp_path / earliest / "iw.duckdb"),
            "INSIDERWATCH_TIME_EARLIEST": earliest,
        }
        with open_store(load_settings(environ=env)) as store:
            ingest_dataset(store, data, hash_key)
            assert store.scalar("SELECT count(*) FROM access") == loaded


def test_a_killed_ingest_is_marked_aborted_and_its_files_removed(tmp_path, hash_key):
    """A process killed mid-batch left the batch `running` forever and its segment files
    on disk; the next writer marks it aborted and deletes files the catalog never listed."""
    import subprocess
    import sys
    import textwrap

    data = write_sample(tmp_path / "d", only=EVENTS_ONLY)
    db = tmp_path / "s" / "iw.duckdb"
    with Store(db, threads=1) as store:
        ingest_dataset(store, data, hash_key)
        kept = store.segment_files()
        events = store.scalar("SELECT count(*) FROM access")
    assert kept and events
    killed = textwrap.dedent(
        f"""
        import os
        from insiderwatch.store import Store
        store = Store({str(db)!r}, threads=1)
        batch = store.new_batch("access", "dying.csv", "csv")
        folder = store.segments_dir / "access"
        (folder / f"batch-{{batch:06d}}-0000.parquet.partial").write_bytes(b"half")
        (folder / f"batch-{{batch:06d}}-0001.parquet").write_bytes(b"whole, never listed")
        store.con.execute("CHECKPOINT")
        os.kill(os.getpid(), 9)
        """
    )
    assert subprocess.run([sys.executable, "-c", killed]).returncode == -9
    with Store(db, threads=1) as store:
        assert len(store.aborted) == 1
        status = store.scalar(
            "SELECT status FROM ingest_batches WHERE batch_id = ?", [store.aborted[0]]
        )
        assert status == "aborted"
        assert sorted((store.segments_dir / "access").iterdir()) == sorted(kept)
        assert store.scalar("SELECT count(*) FROM access") == events
    with Store(db, threads=1) as store:
        assert store.aborted == []  # reported once


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_bad_bytes_and_over_long_lines_are_letters_and_the_rest_loads(tmp_path, store, ingest, fmt):
    """One invalid UTF-8 byte, or one line over the limit, used to fail the whole file."""
    rows = [{"event_id": f"g{i}", **GOOD_EVENT} for i in range(4)]
    data = write_sample(tmp_path / "d", fmt, only=EVENTS_ONLY, access=rows)
    path = next(data.glob("access.*"))
    lines = path.read_bytes().splitlines(keepends=True)
    first = 1 if fmt == "csv" else 0  # the CSV header stays
    lines[first + 1] = b"\xff\xfe" + lines[first + 1]  # row/line 3 (csv) or 2 (jsonl)
    lines[first + 2] = lines[first + 2].rstrip(b"\n") + b"z" * 9000 + b"\n"
    path.write_bytes(b"".join(lines))
    report = ingest(data, max_line_bytes=4096)
    assert not report.errors
    (access,) = [f for f in report.files if f.file.table == "access"]
    assert (access.counts.rows_read, access.counts.loaded, access.counts.rejected) == (4, 2, 2)
    assert sorted(r[0] for r in store.con.execute("SELECT event_id FROM access").fetchall()) == [
        "g0",
        "g3",
    ]
    letters = {(x["row_no"], x["field"], x["reason"]) for x in list_letters(store)}
    row = first + 2
    assert letters == {(row, "line", "invalid_utf8"), (row + 1, "line", "too_long")}
