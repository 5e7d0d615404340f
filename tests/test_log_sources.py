"""Log adapters on arbitrary input: no line crashes them, and every line read is either
an event, a dead letter (malformed) or counted as skipped: nothing is lost."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insiderwatch.sources.follow import LineReader, Position
from insiderwatch.sources.kinds import SourceOptions, source_for
from insiderwatch.sources.pgaudit import prefix_regex

AUDIT = (
    '2026-09-01 10:00:00.000 UTC,"alice","shop",42,"10.0.0.1:5000",6b0c.2a,1,"SELECT",'
    '2026-09-01 10:00:00 UTC,3/2,0,LOG,00000,"AUDIT: SESSION,1,1,READ,SELECT,TABLE,'
    'public.customers,select email from customers where id = 7,<not logged>,1"'
    ',,,,,,,,,"psql","client backend",,0'
)
MARIADB = (
    "20260901 10:00:00,db1,alice,10.0.0.1,12,34,QUERY,shop,'SELECT * FROM customers WHERE id = 3',0"
)
JSON_MAPPING = (
    "format: jsonl\nfields: {time: t, employee_id: u, action: {path: a, default: view}}\n"
)

LINES = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80),
        st.sampled_from([AUDIT, MARIADB, '{"t": "2026-09-01T00:00:00Z", "u": "E1"}', "{}", "[1]"]),
    ),
    max_size=12,
)
# max_examples comes from the Hypothesis profile (conftest.py): bounded in `make test`,
# wide under `make fuzz`.
FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _json_blank(line: str) -> bool:
    """JSON Lines split on \\n only, and only JSON's own whitespace makes a line blank: a
    NEL (\\x85) or other Unicode space is a (malformed) record, not nothing."""
    return not line.replace("\r", " ").replace("\n", " ").strip(" \t")


def _run(kind: str, name: str, lines: list[str], **options):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        body = "\n".join(line.replace("\r", " ").replace("\n", " ") for line in lines)
        path.write_text(body + "\n" if lines else "", encoding="utf-8")
        if "mapping" in options:
            mapping = Path(folder) / "m.yaml"
            mapping.write_text(options.pop("mapping"))
            options["mapping"] = mapping
        source = source_for(kind, SourceOptions(**options))
        batches = list(source.batches(path))
        return source, batches


@FUZZ
@given(LINES)
def test_mariadb_audit_accounts_for_every_line(lines):
    source, batches = _run("mariadb-audit", "audit.log", lines)
    non_blank = sum(1 for line in lines if line.replace("\r", " ").replace("\n", " ").strip())
    assert sum(b.rows for b in batches) + sum(source.skipped.values()) == non_blank


@FUZZ
@given(LINES)
def test_mapped_json_accounts_for_every_line(lines):
    source, batches = _run("mapped", "app.jsonl", lines, mapping=JSON_MAPPING)
    non_blank = sum(1 for line in lines if not _json_blank(line))
    assert sum(b.rows for b in batches) + source.skipped["filtered"] == non_blank


@FUZZ
@given(LINES)
def test_pgaudit_csvlog_never_crashes(lines):
    _, batches = _run("pgaudit", "postgresql.csv", lines)
    assert all(b.data is not None and b.rows == b.data.num_rows + len(b.malformed) for b in batches)


@FUZZ
@given(LINES, st.sampled_from(["%m [%p] %q%u@%d ", "%t %c %u %a ", "%%[%p]%q%r "]))
def test_pgaudit_stderr_never_crashes(lines, prefix):
    _, batches = _run("pgaudit", "postgresql.log", lines, log_line_prefix=prefix)
    assert all(b.rows == b.data.num_rows + len(b.malformed) for b in batches)


def test_a_known_csvlog_line_becomes_an_event():
    _, batches = _run("pgaudit", "postgresql.csv", [AUDIT])
    row = batches[0].data.to_pylist()[0]
    assert (row["employee_id"], row["action"], row["customer_ids"], row["fields"]) == (
        "pgaudit:alice",
        "view",
        "7",
        "email",
    )
    assert row["time"] == "2026-09-01T10:00:00.000Z"


def test_prefix_regex_reads_debians_default():
    m = prefix_regex("%m [%p] %q%u@%d ").match(
        "2026-09-01 10:00:00.123 UTC [42] alice@shop LOG:  AUDIT: SESSION,1,1"
    )
    assert m and (m["user"], m["db"], m["pid"], m["message"]) == (
        "alice",
        "shop",
        "42",
        "AUDIT: SESSION,1,1",
    )
    # %q: a background process prints only the part before it.
    bare = prefix_regex("%m [%p] %q%u@%d ").match(
        "2026-09-01 10:00:00.123 UTC [42] LOG:  checkpoint"
    )
    assert bare and bare["user"] is None


def test_line_reader_resumes_at_a_position(tmp_path):
    path = tmp_path / "x.log"
    path.write_text("one\ntwo\nthr")
    with LineReader(path) as reader:
        assert list(reader) == ["one\n", "two\n"]
        stop = reader.position
    assert stop == Position(offset=8, line=2)
    path.write_text("one\ntwo\nthree\n")
    with LineReader(path, stop) as reader:
        assert list(reader) == ["three\n"]
        assert reader.position.line == 3


def test_gzipped_audit_logs_are_read(tmp_path):
    import gzip

    path = tmp_path / "postgresql.csv.gz"
    path.write_bytes(gzip.compress((AUDIT + "\n").encode()))
    source = source_for("pgaudit", SourceOptions())
    batches = list(source.batches(path))
    assert batches[0].data.to_pylist()[0]["customer_ids"] == "7"
    assert source.position.line == 1
    mariadb = tmp_path / "server_audit.log.gz"
    mariadb.write_bytes(gzip.compress((MARIADB + "\n").encode()))
    rows = list(source_for("mariadb-audit", SourceOptions()).batches(mariadb))[0].data.to_pylist()
    assert (rows[0]["action"], rows[0]["customer_ids"], rows[0]["time"]) == (
        "view",
        "3",
        "2026-09-01T10:00:00",
    )


def test_a_unicode_space_line_is_a_json_record_not_a_blank():
    """Found by the random search: a line holding only NEL (\x85) was read as a record by
    the mapped reader but counted as blank by the test. JSON's whitespace decides."""
    source, batches = _run(
        "mapped", "app.jsonl", ["\x85", " \t", '{"t": "x"}'], mapping=JSON_MAPPING
    )
    assert sum(b.rows for b in batches) == 2
    assert [row for b in batches for row, _ in b.malformed] == [1]


GOOD_JSON = b'{"t": "2026-09-01T00:00:00Z", "u": "E1"}\n'


def _bytes_run(kind: str, name: str, body: bytes, **options):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(body)
        if "mapping" in options:
            mapping = Path(folder) / "m.yaml"
            mapping.write_text(options.pop("mapping"))
            options["mapping"] = mapping
        source = source_for(kind, SourceOptions(**options))
        return source, list(source.batches(path))


@pytest.mark.parametrize(
    ("kind", "name", "good", "extra"),
    [
        ("mapped", "app.jsonl", GOOD_JSON, {"mapping": JSON_MAPPING}),
        ("mariadb-audit", "audit.log", MARIADB.encode() + b"\n", {}),
        ("pgaudit", "postgresql.csv", AUDIT.encode() + b"\n", {}),
    ],
)
def test_a_bad_line_is_a_dead_letter_and_the_rest_of_the_file_loads(kind, name, good, extra):
    """One invalid UTF-8 byte, or one line over the limit, used to drop the whole file."""
    body = good + b"\xff\xfe not text\n" + b"x" * 5000 + b"\n" + good + b"y" * 5000
    source, batches = _bytes_run(kind, name, body, max_line_bytes=4096, **extra)
    rejected = {m[0]: m[2] for b in batches for m in b.malformed if len(m) > 2}
    assert rejected == {2: "line:invalid_utf8", 3: "line:too_long"}
    assert sum(b.data.num_rows for b in batches) + sum(source.skipped.values()) == 2
    assert sum(b.rows for b in batches) + sum(source.skipped.values()) == 4
    assert source.position.line == 4  # the unfinished last line waits for the next run


def test_an_enormous_line_is_streamed_past_not_held():
    """A 1 GB line through a mapping took 6.5 GB; the reader now holds a block at most."""
    import tracemalloc

    body = GOOD_JSON + b'{"t": "' + b"z" * (48 << 20) + b'"}\n' + GOOD_JSON
    tracemalloc.start()
    try:
        source, batches = _bytes_run(
            "mapped", "app.jsonl", body, mapping=JSON_MAPPING, max_line_bytes=1 << 20
        )
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 24 << 20, f"peak {peak:,} bytes"
    assert [m[2] for b in batches for m in b.malformed] == ["line:too_long"]
    assert sum(b.data.num_rows for b in batches) == 2
