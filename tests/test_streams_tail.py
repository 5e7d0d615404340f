"""Continuous tailing: new lines only, rotation (rename and copytruncate), restart from
the checkpoints kept in the store."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from insiderwatch.app import from_settings
from insiderwatch.app.collect import StoreSink, locked
from insiderwatch.errors import ConfigError
from insiderwatch.settings import load_settings
from insiderwatch.sources.streams.tail import Tailer, TailSource, expand, load_tail_sources
from insiderwatch.store import Store
from insiderwatch.store.loader import LoadCounts

MAPPING = (
    "format: csv\nidentity: app\n"
    "fields: {time: When, employee_id: Who, action: {path: What, default: view}, "
    "record_count: Rows}\n"
)


def rows(first: int, n: int) -> list[str]:
    return [f"2026-09-01T10:{m % 60:02d}:00Z,ann,export,{m}" for m in range(first, first + n)]


def write(path: Path, lines: list[str], *, header: bool = True, mode: str = "w") -> None:
    with path.open(mode) as fh:
        fh.write(("When,Who,What,Rows\n" if header else "") + "".join(f"{r}\n" for r in lines))


def totals(results) -> LoadCounts:
    total = LoadCounts()
    for result in results:
        total.add(result.counts)
    return total


@pytest.fixture
def setup(tmp_path, hash_key):
    logs = tmp_path / "logs"
    logs.mkdir()
    (tmp_path / "m.yaml").write_text(MAPPING)
    config = tmp_path / "tail.yaml"
    config.write_text("- kind: mapped\n  mapping: m.yaml\n  paths: ['logs/app.csv*']\n")
    return logs, load_tail_sources(config)


def tailer(db: Path, key, sources) -> tuple[Store, Tailer]:
    store = Store(db, threads=1)
    sink = StoreSink(from_settings(load_settings(environ={})), key, locked(store))
    return store, Tailer(sources, sink.read_log, interval=0.1)


@pytest.mark.parametrize("rotation", ["rename", "copytruncate"])
def test_rotation_and_restart_read_every_line_once(setup, tmp_path, hash_key, rotation):
    logs, sources = setup
    db = tmp_path / "store" / "iw.duckdb"
    log = logs / "app.csv"
    write(log, rows(0, 3))
    store, tail = tailer(db, hash_key, sources)
    assert totals(tail.poll()).loaded == 3
    assert tail.poll() == []  # nothing changed: the store is not even asked
    # Two lines are written after the last look, then the log rotates.
    write(log, rows(3, 2), header=False, mode="a")
    rotated = logs / "app.csv.1"
    if rotation == "rename":
        log.rename(rotated)
    else:
        shutil.copy2(log, rotated)
        log.write_text("")
    write(log, rows(5, 4))
    old = log.stat().st_mtime_ns - 10**9
    os.utime(rotated, ns=(old, old))  # rotated earlier than the new log's lines
    done = tail.poll()
    counts = totals(done)
    # The rotated file continued where its old name stopped; the new file from the top.
    assert (counts.rows_read, counts.loaded, counts.duplicates) == (6, 6, 0)
    assert [r.path.name for r in done] == ["app.csv.1", "app.csv"]
    assert store.scalar("SELECT count(*) FROM access") == 9
    store.close()

    # Restarted (a new process): the checkpoints in the store say everything is read.
    store, tail = tailer(db, hash_key, sources)
    assert totals(tail.poll()).rows_read == 0
    write(log, rows(9, 2), header=False, mode="a")
    counts = totals(tail.poll())
    assert (counts.rows_read, counts.loaded) == (2, 2)
    assert store.scalar("SELECT count(*) FROM access") == 11
    records = [r for (r,) in store.con.execute("SELECT record_count FROM access").fetchall()]
    assert sorted(records) == list(range(11))
    store.close()


def test_a_half_written_last_line_waits_for_its_newline(setup, tmp_path, hash_key):
    logs, sources = setup
    log = logs / "app.csv"
    write(log, rows(0, 2))
    with log.open("a") as fh:
        fh.write("2026-09-01T11:00:00Z,ann,exp")  # the writer is mid-line
    store, tail = tailer(tmp_path / "s.duckdb", hash_key, sources)
    assert totals(tail.poll()).loaded == 2
    with log.open("a") as fh:
        fh.write("ort,7\n")
    counts = totals(tail.poll())
    assert (counts.loaded, counts.rejected) == (1, 0)
    store.close()


def test_a_file_that_cannot_be_read_is_reported_and_tried_again(setup, tmp_path, hash_key):
    logs, sources = setup
    log = logs / "app.csv"
    log.write_bytes(b"\x1f\x8b not really gzip\n")
    store, tail = tailer(tmp_path / "s.duckdb", hash_key, sources)
    assert tail.poll() == [] and list(tail.errors) == [log]
    write(log, rows(0, 1))
    assert totals(tail.poll()).loaded == 1 and not tail.errors
    store.close()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("kind: mapped", "expected a list"),
        ("- kind: nonsense\n  paths: [x]", "entry 1: unknown kind 'nonsense'"),
        ("- kind: pgaudit\n  paths: [x]\n  colour: red", "entry 1: Object contains unknown field"),
        ("- kind: pgaudit", "entry 1: Object missing required field `paths`"),
        ("- [unclosed", "not valid YAML"),
    ],
)
def test_bad_tail_configuration_names_file_and_entry(tmp_path, text, message):
    config = tmp_path / "tail.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_tail_sources(config)
    assert str(config) in str(info.value)


def test_globs_folders_and_relative_paths(tmp_path):
    (tmp_path / "pg").mkdir()
    for name in ("b.csv", "a.csv", ".hidden"):
        (tmp_path / "pg" / name).write_text("x\n")
    os.utime(tmp_path / "pg" / "b.csv", ns=(10**9, 10**9))
    config = tmp_path / "tail.yaml"
    config.write_text("- kind: pgaudit\n  paths: [pg, 'pg/*.csv', missing.log]\n")
    (source,) = load_tail_sources(config)
    assert source == TailSource(
        kind="pgaudit", paths=[str(tmp_path / p) for p in ("pg", "pg/*.csv", "missing.log")]
    )
    assert [p.name for p in expand(source)] == ["b.csv", "a.csv"]  # oldest first
