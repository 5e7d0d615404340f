"""The command line: exit codes, JSON output equal to the library's, messages that name things."""

from __future__ import annotations

import json
import os
import stat

import pytest
from typer.testing import CliRunner

from insiderwatch.cli import app
from insiderwatch.ingest import ingest_dataset
from insiderwatch.investigate.timeline import timeline
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from insiderwatch.store.rejects import list_letters
from insiderwatch.store.stats import store_stats
from sample_data import (
    EVENTS_ONLY,
    KEY_HEX,
    at,
    flat,
    sample,
    write_sample,
    write_table,
)

BAD_EVENTS = [
    {"event_id": "x1", "time": "nope", "employee_id": "e1", "action": "view"},
    {"event_id": "x2", "time": at(1, 9), "employee_id": "e9", "action": "view"},
]


def _as_json(data):
    """What ``--json`` prints for ``data`` (datetimes as str), parsed back."""
    return json.loads(json.dumps(data, default=str))


@pytest.fixture
def db(tmp_path):
    return tmp_path / "store" / "iw.duckdb"


DIRTY_TABLES = ("employees", "cases", "access")


@pytest.fixture
def dirty(tmp_path):
    """The sample dataset (no customers needed here) with two rejected events."""
    access = sample("access") + BAD_EVENTS
    return write_sample(tmp_path / "dirty", only=DIRTY_TABLES, access=access)


# --- ingest ----------------------------------------------------------------------------


def test_ingest_json_matches_the_library(cli, db, dirty, tmp_path, isolated_env):
    result = cli("ingest", dirty, "--db", db, "--json")
    assert result.exit_code == 0, result.output  # rejected rows are not fatal
    report = json.loads(result.stdout)
    # The same dataset through the library, with the key the command created.
    key = HashKey(bytes.fromhex(isolated_env.read_text().strip()))
    with Store(tmp_path / "lib" / "iw.duckdb", threads=1) as store:
        library = ingest_dataset(store, dirty, key)
    assert report["totals"] == library.totals.as_dict()
    assert report["reasons"] == dict(library.totals.reasons)
    assert report["totals"]["rejected"] == len(BAD_EVENTS)
    assert [f["path"] for f in report["files"]] == [str(r.file.path) for r in library.files]
    for row, lib in zip(report["files"], library.files, strict=True):
        assert {k: row[k] for k in lib.counts.as_dict()} == lib.counts.as_dict()
        assert (row["table"], row["format"], row["error"]) == (lib.file.table, "csv", None)


def test_ingest_twice_key_table_output_and_nothing_new(cli, db, dirty, isolated_env):
    assert not isolated_env.exists()
    first = cli("ingest", dirty, "--db", db)
    assert first.exit_code == 0
    for text in ("access", "employees", "time:not_a_timestamp", "employee_id:unknown_employee"):
        assert text in first.stdout
    # The key was created where the settings say, private, and bound to the store.
    assert stat.S_IMODE(isolated_env.stat().st_mode) == 0o600
    with Store(db, create=False, read_only=True) as store:
        key = HashKey(bytes.fromhex(isolated_env.read_text().strip()))
        assert store.meta("hash_key_fingerprint") == key.fingerprint
    # Again: nothing new, every good row a duplicate, the bad ones rejected again.
    second = json.loads(cli("ingest", dirty, "--db", db, "--json").stdout)["totals"]
    assert second["loaded"] == second["updated"] == 0
    assert second["rejected"] == len(BAD_EVENTS)
    assert second["duplicates"] == second["rows_read"] - len(BAD_EVENTS)


def test_strict_exits_1_only_when_rows_were_rejected(cli, db, tmp_path):
    clean = write_sample(tmp_path / "d", only=EVENTS_ONLY)
    result = cli("ingest", clean, "--db", db, "--strict", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["totals"]["rejected"] == 0
    bad = write_table(tmp_path / "late", "access", BAD_EVENTS)
    result = cli("ingest", bad, "--db", db, "--strict", "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["totals"]["rejected"] == len(BAD_EVENTS)


def test_missing_required_column_exits_1_naming_file_and_column(cli, db, tmp_path):
    rows = [{k: v for k, v in e.items() if k != "employee_id"} for e in sample("access")]
    data = write_sample(tmp_path / "d", only=("employees",))
    path = write_table(data, "access", rows)
    result = cli("ingest", data, "--db", db)
    assert result.exit_code == 1
    message = flat(result.stderr)
    assert flat(str(path)) in message and "employee_id" in message
    as_json = json.loads(cli("ingest", data, "--db", db, "--json").stdout)
    (failed,) = [f for f in as_json["files"] if f["error"]]
    assert failed["path"] == str(path) and "employee_id" in failed["error"]


@pytest.mark.parametrize("name", ["missing", "[old]/missing"])
def test_missing_dataset_exits_1_naming_it(cli, db, tmp_path, name):
    result = cli("ingest", tmp_path / name, "--db", db)
    assert result.exit_code == 1
    assert flat(str(tmp_path / name)) in flat(result.stderr)


def test_unreadable_file_exits_1(cli, db, tmp_path):
    data = write_sample(tmp_path / "d", only=("employees",))
    (data / "access.parquet").write_bytes(b"PAR1 not really")
    result = cli("ingest", data, "--db", db)
    assert result.exit_code == 1
    assert "access.parquet" in flat(result.stderr)


def test_unknown_columns_and_ignored_files_are_reported(cli, db, tmp_path):
    rows = [{**e, "colour": "teal", "[note]": "x"} for e in sample("access")]
    data = write_sample(tmp_path / "d", only=EVENTS_ONLY, access=rows)
    (data / "README.md").write_text("hello\n")
    result = cli("ingest", data, "--db", db)
    assert result.exit_code == 0
    assert "colour" in result.stderr and "[note]" in result.stderr
    assert "README.md" in result.stderr
    report = json.loads(cli("ingest", data, "--db", db, "--json").stdout)
    assert report["ignored"] == [str(data / "README.md")]
    assert report["files"][-1]["unknown_columns"] == ["colour", "[note]"]


@pytest.mark.parametrize(
    "args",
    [
        ["ingest"],
        ["ingest", ".", "--no-such-option"],
        ["no-such-command"],
        ["timeline"],
        ["timeline", "e1", "--since", "last tuesday"],
        ["timeline", "e1", "--limit", "many"],
        ["rejects", "--limit", "x"],
        ["simulate", "--out", "x", "--employees", "1"],
        ["simulate", "--out", "x", "--employees", "20"],
        ["simulate", "--out", "x", "--profile", "nowhere-inc"],
    ],
)
def test_usage_errors_exit_2(cli, args):
    assert cli(*args).exit_code == 2


def test_no_arguments_shows_help(cli):
    result = cli()
    assert result.exit_code in (0, 2)
    assert "ingest" in result.output


# --- inspection ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    """A store the inspection commands only read, ingested once through the CLI."""
    folder = tmp_path_factory.mktemp("cli")
    data = write_sample(folder / "dirty", only=DIRTY_TABLES, access=sample("access") + BAD_EVENTS)
    db = folder / "store" / "iw.duckdb"
    env = {name: None for name in os.environ if name.startswith("INSIDERWATCH_")}
    env |= {"INSIDERWATCH_SECRET_FILE": str(folder / "hash.key"), "COLUMNS": "200"}
    result = CliRunner().invoke(app, ["ingest", str(data), "--db", str(db)], env=env)
    assert result.exit_code == 0, result.output
    return db


@pytest.mark.parametrize("command", ["stats", "rejects", "timeline"])
def test_missing_store_exits_1_naming_the_path(cli, tmp_path, command):
    missing = tmp_path / "nowhere" / "iw.duckdb"
    args = [command, "e1"] if command == "timeline" else [command]
    result = cli(*args, "--db", missing)
    assert result.exit_code == 1
    assert flat(str(missing)) in flat(result.stderr)
    assert not missing.exists()


def test_stats_json_matches_the_library(cli, ingested):
    result = cli("stats", "--db", ingested, "--json")
    assert result.exit_code == 0
    with Store(ingested, create=False, read_only=True) as store:
        expected = store_stats(store).as_dict()
    assert json.loads(result.stdout) == _as_json(expected)
    assert json.loads(result.stdout)["dead_letters"]["open"] == len(BAD_EVENTS)


def test_stats_table_output(cli, ingested):
    result = cli("stats", "--db", ingested)
    assert result.exit_code == 0
    assert "events/day" in result.stdout and "dead letters (open)" in result.stdout


def test_timeline_json_matches_the_library(cli, ingested):
    result = cli("timeline", "e1", "--db", ingested, "--json", "--since", "2026-09-01T00:00:00Z")
    assert result.exit_code == 0
    with Store(ingested, create=False, read_only=True) as store:
        expected = [e.as_dict() for e in timeline(store, "e1", since=at(1, 0), limit=200)]
    assert json.loads(result.stdout) == _as_json(expected)
    assert expected and all(e["time"] >= at(1, 0).isoformat() for e in expected)


def test_timeline_naive_option_is_utc(cli, ingested):
    utc = cli("timeline", "e1", "--db", ingested, "--json", "--until", "2026-09-01T10:00:00Z")
    naive = cli("timeline", "e1", "--db", ingested, "--json", "--until", "2026-09-01T10:00:00")
    assert json.loads(utc.stdout) == json.loads(naive.stdout)
    assert [e["event_id"] for e in json.loads(utc.stdout)] == ["a4", "a1", "a2"]


def test_timeline_table_output(cli, ingested):
    result = cli("timeline", "e1", "--db", ingested)
    assert result.exit_code == 0
    assert "k1" in result.stdout and "Timeline of e1" in result.stdout


def test_rejects_json_matches_the_library(cli, ingested):
    result = cli("rejects", "--db", ingested, "--json")
    assert result.exit_code == 0
    with Store(ingested, create=False, read_only=True) as store:
        expected = list_letters(store, limit=20)
        only_time = list_letters(store, reason="time:not_a_timestamp")
    assert json.loads(result.stdout) == _as_json(expected)
    assert len(expected) == len(BAD_EVENTS)
    filtered = cli("rejects", "--db", ingested, "--json", "--reason", "time:not_a_timestamp")
    assert json.loads(filtered.stdout) == _as_json(only_time)
    assert len(only_time) == 1
    none = cli("rejects", "--db", ingested, "--json", "--table", "cases")
    assert json.loads(none.stdout) == []


def test_rejects_table_output(cli, ingested):
    result = cli("rejects", "--db", ingested)
    assert result.exit_code == 0
    assert "unknown_employee" in result.stdout and "access" in result.stdout


@pytest.mark.parametrize("suffix", [".jsonl", ".csv"])
def test_rejects_export(cli, ingested, tmp_path, suffix):
    path = tmp_path / f"letters{suffix}"
    result = cli("rejects", "--db", ingested, "--export", path)
    assert result.exit_code == 0
    assert f"wrote {len(BAD_EVENTS)} letters" in " ".join(result.stderr.split())
    lines = path.read_text().splitlines()
    assert len(lines) == len(BAD_EVENTS) + (1 if suffix == ".csv" else 0)


def test_rejects_replay(cli, db, dirty, tmp_path):
    assert cli("ingest", dirty, "--db", db).exit_code == 0
    ingested = db
    roster = sample("employees") + [
        {"employee_id": "e9", "role": "agent", "hired_on": "2020-01-01"}
    ]
    assert (
        cli("ingest", write_table(tmp_path / "r", "employees", roster), "--db", ingested).exit_code
        == 0
    )
    result = cli("rejects", "--db", ingested, "--replay", "--json")
    assert result.exit_code == 0
    (access,) = json.loads(result.stdout)
    assert access["table"] == "access"
    assert (access["letters"], access["loaded"], access["rejected"]) == (2, 1, 1)
    left = json.loads(cli("rejects", "--db", ingested, "--json").stdout)
    assert [x["record_key"] for x in left] == ["x1"]
    resolved = json.loads(cli("rejects", "--db", ingested, "--json", "--all").stdout)
    assert {x["record_key"] for x in resolved} == {"x1", "x2"}


def test_replay_with_nothing_to_do(cli, db):
    Store(db).close()
    result = cli("rejects", "--db", db, "--replay")
    assert result.exit_code == 0 and "nothing to replay" in result.stdout


def test_plugins_lists_the_readers(cli):
    result = cli("plugins", "--json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert {(r["kind"], r["name"]) for r in rows} >= {
        ("readers", "csv"),
        ("readers", "jsonl"),
        ("readers", "parquet"),
    }


def test_timeline_shows_log_text_inert_and_suggests_the_prefixed_name(cli, tmp_path):
    """`timeline eng_tom` said "0 events" when the events were kept as
    `crm:eng_tom`, and printed escape sequences (a window-title rewrite) from the data."""
    mapping = tmp_path / "m.yaml"
    mapping.write_text(
        "format: jsonl\nidentity: crm\nfields: {time: t, employee_id: u, app: a, "
        "action: {path: x, default: view}}\n"
    )
    log = tmp_path / "app.jsonl"
    hostile = "\x1b]0;pwned\x07\x1b[2J[bold red]boom[/]"
    log.write_text(json.dumps({"t": "2026-09-01T10:00:00Z", "u": "eng_tom", "a": hostile}) + "\n")
    db = tmp_path / "iw.duckdb"
    env = {"INSIDERWATCH_HASH_KEY": KEY_HEX}
    loaded = cli("ingest", "--source", "mapped", "--mapping", mapping, log, "--db", db, env=env)
    assert loaded.exit_code == 0, loaded.stderr
    missing = cli("timeline", "eng_tom", "--db", db)
    assert missing.exit_code == 0
    assert "crm:eng_tom" in flat(missing.stderr)
    shown = cli("timeline", "crm:eng_tom", "--db", db)
    assert shown.exit_code == 0
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    text = "".join(c for c in shown.stdout if c not in "│┃ \n")  # cells fold across lines
    assert "\\x1b]0;pwned" in text and "[boldred]boom[/]" in text
