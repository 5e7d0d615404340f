"""A fuzz target per parser: arbitrary bytes in, only the project's own error out, and
every record read accounted for (a row, a dead letter or a counted skip).

The number of examples comes from the Hypothesis profile (conftest.py): a fixed,
derandomised search in CI and `make test`, a wide random one under `make fuzz`.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insiderwatch.contract import TABLES
from insiderwatch.errors import InsiderwatchError
from insiderwatch.sources import reader_for
from insiderwatch.sources.dataset import classify
from insiderwatch.sources.kinds import SourceOptions, source_for
from insiderwatch.sources.readers import ROW
from insiderwatch.sources.sql_access import StatementReader
from insiderwatch.sources.sql_log import iso_time
from insiderwatch.store.validate import TEXT, TimeWindow, staged_select

FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Bytes that stress splitting and decoding: newlines, quotes, separators, invalid UTF-8.
_SPICE = [b"\n", b"\r\n", b"\r", b",", b'"', b"'", b"{", b"}", b"\xff", b"\xc3", b"\x85", b"\x00"]
CHUNKS = st.lists(st.one_of(st.binary(max_size=12), st.sampled_from(_SPICE)), max_size=30)
AUDIT = (
    b'2026-09-01 10:00:00.000 UTC,"alice","shop",42,"10.0.0.1:5000",6b0c.2a,1,"SELECT",'
    b'2026-09-01 10:00:00 UTC,3/2,0,LOG,00000,"AUDIT: SESSION,1,1,READ,SELECT,TABLE,'
    b'public.customers,select email from customers where id = 7,<not logged>,1"'
    b',,,,,,,,,"psql","client backend",,0\n'
)
MARIADB = b"20260901 10:00:00,db1,alice,10.0.0.1,12,34,QUERY,shop,'SELECT * FROM customers',0\n"
OCSF = b'{"time": 1788256800000, "actor": {"user": {"uid": "u1"}}, "class_uid": 6003}\n'
JSON_MAPPING = (
    "format: jsonl\nfields: {time: t, employee_id: u, action: {path: a, default: view}}\n"
)
LOG_BODIES = st.lists(
    st.one_of(CHUNKS.map(b"".join), st.sampled_from([AUDIT, MARIADB, OCSF])), max_size=8
).map(b"".join)


def _write(folder: str, name: str, body: bytes) -> Path:
    path = Path(folder) / name
    path.write_bytes(body)
    return path


def _consistent(batch) -> bool:
    data = batch.data.num_rows if batch.data is not None else batch.rows - len(batch.malformed)
    return batch.rows == data + len(batch.malformed)


# --- dataset readers -------------------------------------------------------------------


@FUZZ
@given(body=CHUNKS.map(b"".join))
def test_csv_reader(body):
    with tempfile.TemporaryDirectory() as folder:
        path = _write(folder, "access.csv", b"event_id,time,employee_id\n" + body)
        try:
            batches = list(reader_for(classify(path), max_line_bytes=64).batches())
        except InsiderwatchError:
            return
        assert all(_consistent(b) for b in batches)
        rows = [r for b in batches for r in b.data[ROW].to_pylist()]
        rows += [m[0] for b in batches for m in b.malformed]
        assert len(rows) == len(set(rows)), "two records share a row number"


@FUZZ
@given(
    body=st.lists(
        st.one_of(st.binary(max_size=12), st.sampled_from([b"\n", b"\xff", b"{"])), max_size=30
    ).map(b"".join)
)
def test_jsonl_reader_counts_every_line(body):
    with tempfile.TemporaryDirectory() as folder:
        path = _write(folder, "access.jsonl", body.replace(b"\r", b" "))
        batches = list(reader_for(classify(path), max_line_bytes=64).batches())
    lines = body.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the newline ending the last line
    assert sum(b.rows for b in batches) == len(lines)
    assert all(_consistent(b) for b in batches)


# --- log sources -----------------------------------------------------------------------


@FUZZ
@given(
    kind=st.sampled_from(["pgaudit", "mariadb-audit", "ocsf", "mapped"]),
    body=LOG_BODIES,
)
def test_log_source(kind, body):
    with tempfile.TemporaryDirectory() as folder:
        options = {"max_line_bytes": 200}
        if kind == "mapped":
            options["mapping"] = _write(folder, "m.yaml", JSON_MAPPING.encode())
        path = _write(folder, "log", body)
        source = source_for(kind, SourceOptions(**options))
        try:
            batches = list(source.batches(path))
        except InsiderwatchError:
            return
    assert all(_consistent(b) for b in batches)
    letters = [m[0] for b in batches for m in b.malformed]
    assert len(letters) == len(set(letters)), "a line has two dead letters"
    complete = body[: body.rfind(b"\n") + 1]
    assert source.position.offset == len(complete)  # read up to the last whole line


# --- the SQL analyser and the timestamp parser -----------------------------------------

SQL_PIECES = st.sampled_from(
    [
        "SELECT",
        "*",
        "FROM",
        "customers",
        "WHERE",
        "id",
        "=",
        "(",
        ")",
        "'",
        "$$",
        "$q1$",
        "/*",
        "*/",
        "--",
        "#",
        "\\",
        "\n",
        ",",
        "IN",
        "1",
        "email",
        "UNION",
        "E'",
        '"',
        "`",
    ]
)


@FUZZ
@given(
    pieces=st.lists(st.one_of(SQL_PIECES, st.text(max_size=6)), max_size=40),
    depth=st.integers(0, 300),
    dialect=st.sampled_from(["postgres", "mysql"]),
)
def test_sql_analyser(pieces, depth, dialect):
    sql = " ".join(pieces)
    sql = "(" * depth + sql + ")" * depth
    access = StatementReader(dialect=dialect).read(sql)
    assert isinstance(access.customer_ids, tuple)
    assert access.analysis.operation in ("read", "write", "export", "copy", "other")


TIMES = st.one_of(
    st.text(max_size=30),
    st.builds(
        "{:04d}-{:02d}-{:02d}{}{:02d}:{:02d}:{:02d}{}".format,
        st.integers(0, 9999),
        st.integers(0, 13),
        st.integers(0, 32),
        st.sampled_from(["T", " "]),
        st.integers(0, 25),
        st.integers(0, 61),
        st.integers(0, 61),
        st.sampled_from(["", "Z", "+00:00", "-05:00", "+14:00", "+99:99", "+1", " UTC", " PST"]),
    ),
)


@FUZZ
@given(times=st.lists(TIMES, min_size=1, max_size=20))
def test_timestamp_parser(times):
    """A time is either a UTC instant inside the window or a time:... problem, never an
    exception, whatever the text (log times pass through iso_time first)."""
    window = TimeWindow()
    texts = [iso_time(t) for t in times]
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("_in", pa.table({"time": texts, ROW: list(range(1, len(texts) + 1))}))
    sql = staged_select(TABLES["access"], "_in", {"time": TEXT}, window=window)
    rows = con.execute(f"SELECT time, _problems FROM ({sql}) ORDER BY {ROW}").fetchall()
    latest = datetime.now(UTC) + timedelta(days=window.days_ahead, minutes=1)
    for text, (parsed, problems) in zip(texts, rows, strict=True):
        time_problems = [p for p in problems if p.startswith("time:")]
        if parsed is None or time_problems:
            assert time_problems, text
            continue
        assert parsed.tzinfo is not None
        assert datetime(1990, 1, 1, tzinfo=UTC) <= parsed <= latest, text


@pytest.mark.parametrize("depth", [50, 1000, 20_000])
def test_nesting_never_exhausts_the_stack(depth):
    access = StatementReader().read("SELECT * FROM customers WHERE id IN " + "(" * depth)
    assert access.analysis.tables == ("customers",)
