"""Sources: finding contract files, reading and numbering their rows, and fuzzed input."""

from __future__ import annotations

import gzip
import itertools
import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from insiderwatch.contract import ACTIONS, FIELD_CATEGORIES, TABLES
from insiderwatch.errors import InsiderwatchError, UnreadableFileError
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.sources import READERS, DatasetFile, discover, reader_for
from insiderwatch.sources.dataset import classify
from insiderwatch.sources.readers import LINE, ROW
from insiderwatch.store import Store
from sample_data import KEY_HEX, sample, write_table

# --- discovery -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("relative", "table", "fmt", "compressed"),
    [
        ("access.csv", "access", "csv", False),
        ("access-2026-09.jsonl.gz", "access", "jsonl", True),
        ("cases_part1.parquet", "cases", "parquet", False),
        ("EMPLOYEES.CSV", "employees", "csv", False),
        ("customers.ndjson", "customers", "jsonl", False),
        ("orders.json", "orders", "jsonl", False),
        ("canaries.pq", "canaries", "parquet", False),
        ("access.csv.gz", "access", "csv", True),
        ("access/part-0001.parquet", "access", "parquet", False),
        ("employees/staff.csv", "employees", "csv", False),
    ],
)
def test_discover_classifies_by_prefix_or_folder(tmp_path, relative, table, fmt, compressed):
    path = tmp_path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x\n")
    dataset = discover(tmp_path)
    assert dataset.files == [DatasetFile(path=path, table=table, format=fmt, compressed=compressed)]
    assert dataset.ignored == []


@pytest.mark.parametrize(
    "relative",
    [
        "README.md",
        "manifest.json",
        "notes.txt",
        "accessories.csv",
        "access.parquet.gz",
        "truth.jsonl",
        "access",  # no extension
        "data.csv",
        "misc/part-0001.parquet",
    ],
)
def test_unrelated_files_are_ignored_not_errors(tmp_path, relative):
    (tmp_path / "access.csv").write_text("x\n")
    path = tmp_path / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x\n")
    dataset = discover(tmp_path)
    assert [f.path.name for f in dataset.files] == ["access.csv"]
    assert dataset.ignored == [path]


def test_hidden_files_and_folders_are_skipped(tmp_path):
    for relative in (".access.csv", ".git/access.csv", "sub/.hidden/employees.csv"):
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x\n")
    dataset = discover(tmp_path)
    assert dataset.files == [] and dataset.ignored == []


def test_missing_dataset_raises_unreadable(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(UnreadableFileError, match="nowhere"):
        discover(missing)


def test_single_file(tmp_path):
    path = tmp_path / "cases-1.jsonl"
    path.write_text("{}\n")
    assert [f.table for f in discover(path).files] == ["cases"]
    other = tmp_path / "notes.csv"
    other.write_text("x\n")
    with pytest.raises(UnreadableFileError, match="not a contract file"):
        discover(other)


def test_load_order_context_first(tmp_path):
    for name in ("access.csv", "cases.csv", "employees-b.csv", "employees-a.csv", "customers.csv"):
        (tmp_path / name).write_text("x\n")
    ordered = [f.path.name for f in discover(tmp_path).in_load_order()]
    assert ordered == [
        "employees-a.csv",
        "employees-b.csv",
        "customers.csv",
        "cases.csv",
        "access.csv",
    ]


def test_registry_has_the_builtin_readers():
    assert {"csv", "jsonl", "parquet"} <= set(READERS.names())
    for name in ("csv", "jsonl", "parquet"):
        assert READERS.get(name).format == name
        assert "insiderwatch.sources.readers" in READERS.origin(name)
    with pytest.raises(InsiderwatchError, match="unknown readers 'xml'"):
        READERS.get("xml")


def test_registry_refuses_a_second_plugin_under_one_name():
    class Other:
        pass

    with pytest.raises(InsiderwatchError, match="registered twice"):
        READERS.register("csv", Other)


# --- readers ---------------------------------------------------------------------------


def _read(path: Path, batch_rows: int = 500_000):
    """(rows as dicts with _row, malformed, batch count, total rows) of one file."""
    reader = reader_for(classify(path), batch_rows)
    rows, malformed, batches, total = [], [], 0, 0
    for batch in reader.batches():
        batches += 1
        total += batch.rows
        if batch.data is not None:
            rows += batch.data.to_pylist()
        else:  # a relation the store engine reads itself (Parquet)
            rows += (
                duckdb.sql(f"SELECT * FROM {batch.relation} ORDER BY {ROW}")
                .to_arrow_table()
                .to_pylist()
            )
        malformed += batch.malformed
    return rows, malformed, batches, total


def test_csv_rows_are_numbered_from_the_header(tmp_path):
    path = write_table(tmp_path, "access", sample("access"), "csv")
    rows, malformed, _, total = _read(path)
    assert [r[ROW] for r in rows] == list(range(2, len(sample("access")) + 2))
    assert [r["event_id"] for r in rows] == [r["event_id"] for r in sample("access")]
    assert malformed == [] and total == len(rows)
    assert reader_for(classify(path)).columns()[:2] == ["event_id", "time"]


def test_csv_values_are_read_as_text(tmp_path):
    path = tmp_path / "access.csv"
    path.write_text("event_id,record_count,time\n001,0042,2026-09-01\n")
    (row,), _, _, _ = _read(path)
    assert row["event_id"] == "001" and row["record_count"] == "0042"


def test_csv_quoted_value_spanning_lines_counts_as_one_record(tmp_path):
    path = tmp_path / "access.csv"
    path.write_text('event_id,app\na,"two\nlines"\nb,x\n')
    rows, _, _, _ = _read(path)
    assert [(r["event_id"], r[ROW]) for r in rows] == [("a", 2), ("b", 3)]
    assert rows[0]["app"] == "two\nlines"


def test_malformed_csv_rows_keep_their_row_numbers(tmp_path):
    path = tmp_path / "access.csv"
    path.write_text("event_id,time\na,1\nb,2,3\nc,4\nd\ne,5\nb,2,3\n")
    rows, malformed, _, total = _read(path)
    assert [(r["event_id"], r[ROW]) for r in rows] == [("a", 2), ("c", 4), ("e", 6)]
    assert malformed == [(3, "b,2,3"), (5, "d"), (7, "b,2,3")]
    assert total == 6


@pytest.mark.parametrize("fmt", ["jsonl", "jsonl.gz"])
def test_jsonl_rows_are_line_numbers_blank_lines_included(tmp_path, fmt):
    lines = ['{"event_id": "a"}', "", '{"event_id": "b"}', "   ", "not json", '{"event_id": "c"}']
    path = write_table(tmp_path, "access", lines, fmt)
    rows, malformed, _, total = _read(path)
    assert malformed == []
    assert [(r[ROW], r[LINE]) for r in rows] == list(enumerate(lines, start=1))
    assert total == len(lines)
    assert reader_for(classify(path)).columns() is None


def test_jsonl_line_with_record_separator_is_malformed_with_its_line(tmp_path):
    path = tmp_path / "access.jsonl"
    lines = ['{"event_id": "a"}', "x\x1ey", '{"event_id": "b"}', "\x1e", '{"event_id": "c"}']
    path.write_text("\n".join(lines) + "\n")
    rows, malformed, _, _ = _read(path)
    assert malformed == [(2, "x\x1ey"), (4, "\x1e")]
    assert [r[ROW] for r in rows] == [1, 3, 5]


@pytest.mark.parametrize(("group", "batch_rows"), [(2, 2), (2, 3), (6, 2), (1, 100)])
def test_parquet_rows_are_numbered_across_batches(tmp_path, group, batch_rows):
    path = tmp_path / "access.parquet"
    rows = sample("access")
    table = pa.Table.from_pylist(rows, schema=TABLES["access"].arrow_schema())
    pq.write_table(table, path, row_group_size=group)
    read, malformed, batches, total = _read(path, batch_rows=batch_rows)
    assert [r[ROW] for r in read] == list(range(1, len(rows) + 1))
    assert [r["event_id"] for r in read] == [r["event_id"] for r in rows]
    assert total == len(rows) and malformed == []
    assert batches >= len(rows) // max(batch_rows, group) // 2
    if batch_rows < len(rows):
        assert batches > 1
    assert reader_for(classify(path)).columns() == list(TABLES["access"].names)


def test_empty_files(tmp_path):
    """An empty JSON Lines file has no records; an empty CSV has no header (an error)."""
    (tmp_path / "a").mkdir()
    empty_jsonl = tmp_path / "a" / "access.jsonl"
    empty_jsonl.write_bytes(b"")
    assert _read(empty_jsonl)[3] == 0
    empty_gz = tmp_path / "a" / "cases.jsonl.gz"
    empty_gz.write_bytes(gzip.compress(b""))
    assert _read(empty_gz)[3] == 0
    empty_parquet = write_table(tmp_path / "a", "employees", [], "parquet")
    assert _read(empty_parquet)[3] == 0
    empty_csv = tmp_path / "a" / "orders.csv"
    empty_csv.write_bytes(b"")
    with pytest.raises(UnreadableFileError):
        _read(empty_csv)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("access.parquet", b"PAR1 this is not parquet"),
        ("access.jsonl.gz", b"not gzip at all"),
        ("access.csv", b"event_\xff,ti\x80me\n" + b"1,2\n"),  # a header that is not text
        ("access.jsonl.gz", gzip.compress(b'{"event_id": "1"}\n' * 20_000)[:300]),  # cut off
    ],
)
def test_unreadable_files_raise_naming_the_file(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(UnreadableFileError) as info:
        reader = reader_for(classify(path))
        reader.columns()
        list(reader.batches())
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("name", "content", "rows"),
    [
        ("access.csv", b"event_id,time\n1,a\n\xff\xfe,\x80\n3,c\n", [2, 4]),
        ("access.jsonl", b'{"event_id": "1"}\n{"event_id": "\xff"}\n{"event_id": "3"}\n', [1, 3]),
    ],
)
def test_a_line_that_is_not_utf8_is_malformed_and_the_rest_is_read(tmp_path, name, content, rows):
    path = tmp_path / name
    path.write_bytes(content)
    (batch,) = reader_for(classify(path)).batches()
    assert batch.data[ROW].to_pylist() == rows
    assert [m[2] for m in batch.malformed] == ["line:invalid_utf8"]
    assert batch.rows == 3


# --- fuzzing a full ingest -------------------------------------------------------------


@dataclass
class Target:
    store: Store
    key: HashKey
    folder: Path
    counter: itertools.count


@pytest.fixture(scope="module")
def target(tmp_path_factory):
    """One store for all examples (each example ingests a new file into it)."""
    folder = tmp_path_factory.mktemp("fuzz")
    key = HashKey(bytes.fromhex(KEY_HEX))
    with Store(folder / "store" / "iw.duckdb", threads=1) as store:
        roster = write_table(folder / "roster", "employees", sample("employees"))
        ingest_dataset(store, roster, key)
        yield Target(store, key, folder, itertools.count())


def _ingest_bytes(target: Target, ext: str, content: bytes):
    """Ingest one new file; check every row read is accounted for. None if unreadable."""
    n = next(target.counter)
    path = target.folder / f"in{n}" / f"access-{n}.{ext}"
    path.parent.mkdir()
    path.write_bytes(content)
    try:
        report = ingest_dataset(target.store, path, target.key)
    except InsiderwatchError:
        return None, path
    (result,) = report.files
    counts = result.counts
    assert min(counts.as_dict().values()) >= 0, counts
    assert counts.rows_read == counts.loaded + counts.updated + counts.duplicates + counts.rejected
    assert counts.updated == 0  # events are never updated
    if result.batch_id is not None:
        letters = target.store.scalar(
            "SELECT count(*) FROM dead_letters WHERE source = ? AND disposition = 'rejected'",
            [str(path)],
        )
        assert letters == counts.rejected, "one dead letter per rejected row"
        stored = target.store.scalar(
            "SELECT count(*) FROM access WHERE batch_id = ?", [result.batch_id]
        )
        assert stored == counts.loaded
    return result, path


# Every example is a whole ingest (tenths of a second): few examples, each a full file.
FUZZ = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ
@given(content=st.binary(max_size=300), ext=st.sampled_from(["jsonl", "csv", "jsonl.gz"]))
def test_arbitrary_bytes_never_crash_ingest(target, content, ext):
    if ext == "jsonl.gz":
        content = gzip.compress(content)
    _ingest_bytes(target, ext, content)


_line = st.text(st.characters(blacklist_characters="\n\r", codec="utf-8"), max_size=40)


@FUZZ
@given(lines=st.lists(_line, max_size=8))
@example(lines=["\x0c"]).via("found by the random search: a form feed is not blank")
@example(lines=["\u3000", " \t"]).via("a Unicode space is a record, a tab is blank")
def test_arbitrary_jsonl_lines_are_each_accounted_for(target, lines):
    content = "".join(line + "\n" for line in lines).encode()
    result, _ = _ingest_bytes(target, "jsonl", content)
    assert result is not None and result.error is None
    # Blank lines are skipped; only JSON's whitespace (space, tab) makes a line blank.
    blank = [all(c in " \t" for c in line) for line in lines]
    assert result.counts.rows_read == blank.count(False)


_cell = st.text(alphabet='ab1-: ,;"TZ', max_size=8)


@FUZZ
@given(
    extra=st.lists(st.sampled_from(["customer_ids", "fields", "record_count", "x"]), unique=True),
    rows=st.lists(st.lists(_cell, min_size=3, max_size=8), max_size=6),
)
def test_arbitrary_csv_cells_are_each_accounted_for(target, extra, rows):
    n = next(target.counter)
    header = ["event_id", "time", "employee_id", "action", *extra]
    lines = [",".join(header)]
    lines += [",".join([f"fz{n}r{i}", *cells]) for i, cells in enumerate(rows)]
    result, _ = _ingest_bytes(target, "csv", ("\n".join(lines) + "\n").encode())
    if result is not None and result.error is None:
        assert result.counts.duplicates == 0


_json_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.lists(st.text(max_size=6), max_size=3),
    st.sampled_from(
        [
            *ACTIONS,
            *FIELD_CATEGORIES,
            "e1",
            "e9",
            "c1;c2",
            "2026-09-01T10:00:00Z",
            "2026-09-01 10:00:00+02:00",
            "usb",
            "external:x.example",
        ]
    ),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
_record = st.fixed_dictionaries(
    {},
    optional={name: _json_value for name in TABLES["access"].names if name != "event_id"}
    | {"unknown": _json_value},
)


@FUZZ
@given(records=st.lists(st.tuples(st.booleans(), _record), max_size=8))
def test_json_objects_are_loaded_or_rejected_never_lost(target, records):
    """With unique event ids nothing can be a duplicate: each line loads or is lettered."""
    n = next(target.counter)
    lines = []
    for i, (with_id, record) in enumerate(records):
        if with_id:
            record = {"event_id": f"js{n}-{i}", **record}
        lines.append(json.dumps(record))
    result, path = _ingest_bytes(target, "jsonl", "".join(x + "\n" for x in lines).encode())
    assert result is not None and result.error is None
    counts = result.counts
    assert counts.duplicates == 0
    assert counts.loaded + counts.rejected == len(lines)
    loaded = {
        r[0]
        for r in target.store.con.execute(
            "SELECT event_id FROM access WHERE batch_id = ?", [result.batch_id]
        ).fetchall()
    }
    assert loaded <= {f"js{n}-{i}" for i, (with_id, _) in enumerate(records) if with_id}


def test_parquet_with_unexpected_types_is_validated_not_fatal(tmp_path, store, ingest):
    """Parquet columns of the wrong type are read as text and checked like CSV."""
    write_table(tmp_path / "d", "employees", sample("employees"), "csv")
    table = pa.table(
        {
            "event_id": ["p1", "p2", "p3"],
            "time": [20260901, 1, 2],  # integers, not timestamps
            "employee_id": ["e1", "e1", "e1"],
            "action": ["view", "view", "view"],
            "record_count": ["3", "x", "1"],
        }
    )
    pq.write_table(table, tmp_path / "d" / "access.parquet")
    report = ingest(tmp_path / "d")
    access = report.files[-1]
    assert access.error is None
    assert access.counts.rejected == 3
    assert access.counts.reasons["time:not_a_timestamp"] == 3
    assert access.counts.reasons["record_count:not_an_integer"] == 1


def test_row_numbers_stay_exact_across_read_ahead_blocks(tmp_path, monkeypatch):
    """pyarrow reports malformed rows of the next block early; numbering must not drift."""
    from insiderwatch.sources import readers

    monkeypatch.setattr(readers, "_BLOCK_BYTES", 4096)
    path = tmp_path / "access.csv"
    lines = ["event_id,time,employee_id,action"]
    for i in range(3000):
        lines.append(f"b{i},x" if i % 97 == 5 else f"e{i},2026-09-01T00:00:00Z,e1,view")
    path.write_text("\n".join(lines) + "\n")
    reader = readers.reader_for(classify(path), batch_rows=250)
    malformed = []
    for batch in reader.batches():
        for event_id, row in zip(
            batch.data["event_id"].to_pylist(), batch.data["_row"].to_pylist(), strict=True
        ):
            assert int(event_id[1:]) + 2 == row
        malformed += batch.malformed
    assert len(malformed) == sum(1 for i in range(3000) if i % 97 == 5)
    assert all(int(text.split(",")[0][1:]) + 2 == row for row, text in malformed)
