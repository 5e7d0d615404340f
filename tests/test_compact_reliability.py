"""Compaction under a real crash: the server killed with SIGKILL in the middle of merging
segments (before its transaction commits, and after the switch while the replaced files
still wait to be deleted), restarted, fed the rest of the stream with resends and late
events. Every event is counted once, no file is left that the catalog does not list,
and detection (its watermark, late events found by batch id) gives a replay's history."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import httpx
import pytest

from insiderwatch.alerts import read_alert_history
from insiderwatch.app.deployment import load_deployment
from insiderwatch.app.ingest import ingest_records
from insiderwatch.app.tokens import create_token
from insiderwatch.detect import DetectionConfig, run_detection
from insiderwatch.failpoints import KILL_AT
from insiderwatch.ingest import ingest_dataset
from insiderwatch.report.evidence.audit import audit_store
from insiderwatch.store import Store
from sample_data import KEY_HEX
from servers import free_port
from test_web import KEY, company, replay  # noqa: F401  (company: the fixture)
from test_web_reliability import Server, send, stored_lines

PIECES = 12  # small segments already stored and read by detection when the server starts
COMPACT = {"INSIDERWATCH_COMPACT_MIN_SEGMENTS": "4"}


def preload(folder: Path, context: Path, lines: list[str]) -> list[Path]:
    """The store as a collector left it: ``lines`` in small batches, detection run."""
    db = folder / "iw.duckdb"
    deployment = load_deployment({"db": str(db), "hash_key": KEY_HEX})
    with Store(db, threads=1) as store:
        ingest_dataset(store, context, KEY)
        size = len(lines) // PIECES + 1
        for k in range(0, len(lines), size):
            ingest_records(deployment, "access", lines[k : k + size], source="pre", store=store,
                           sealed=False)  # fmt: skip
        run_detection(store, DetectionConfig(), KEY)
        return store.segment_files()


def compacted(url: str) -> float:
    for line in httpx.get(f"{url}/metrics").text.splitlines():
        if line.startswith("insiderwatch_segments_compacted_total "):
            return float(line.split()[1])
    return 0.0


def on_disk(folder: Path) -> set[str]:
    segments = folder / "iw.duckdb.segments"
    return {str(p.relative_to(folder)) for p in segments.rglob("*") if p.is_file()}


@pytest.mark.parametrize("point", ["compact.written", "compact.before_commit"])
def test_kill_9_mid_compaction_then_restart(tmp_path, company, point, built_once):  # noqa: F811
    context, lines = company
    # Day 3 arrives last, after detection has passed it: late events.
    late = [line for line in lines if json.loads(line)["time"].startswith("2026-09-03")]
    ordered = [line for line in lines if line not in late]
    cut = len(ordered) * 6 // 10
    small = preload(tmp_path, context, ordered[:cut])
    assert len(small) == PIECES
    ops = load_deployment({"db": str(tmp_path / "iw.duckdb")}).open_ops()
    collector = create_token(ops, kind="source", owner="crm", actor="test").token
    size = len(ordered) // PIECES + 1
    # The collector resends its last request, then sends the rest, and the late day.
    resent = ordered[(cut - 1) // size * size : cut]
    rest = ordered[cut:]
    requests = [resent] + [rest[k : k + 20] for k in range(0, len(rest), 20)] + [late]
    server = Server(tmp_path, free_port())
    try:
        kill_twice_then_stream(server, tmp_path, point, small, collector, requests)
    finally:  # a failed assertion leaves no server behind
        if server.proc.poll() is None:
            server.kill()

    with Store(tmp_path / "iw.duckdb", threads=1) as store:  # opening removes leftovers
        listed = {str(p.relative_to(tmp_path)) for p in store.segment_files()}
        assert on_disk(tmp_path) == listed
        assert not any(p.exists() for p in small)
        ids = [r[0] for r in store.con.execute("SELECT event_id FROM access").fetchall()]
        assert len(ids) == len(set(ids)) == len(lines)
        assert audit_store(store) == []
        history = read_alert_history(store)
    assert history == replay(context, lines, built_once)
    assert stored_lines(ops) == sorted((a.alert_id, a.revision) for a in history)


def kill_twice_then_stream(server, folder, point, small, collector, requests) -> None:
    # 1. Killed while merging: the merged file written, the catalog not switched.
    server.start(wait=False, **COMPACT, **{KILL_AT: point})
    assert server.proc.wait(60) == -signal.SIGKILL
    orphans = list((folder / "iw.duckdb.segments" / "access").glob("*-compact-*"))
    assert orphans and all(p.exists() for p in small)

    # 2. Restarted: the orphan goes, the merge is redone; killed again after the switch,
    # while the replaced files wait out their grace period.
    server.start(**COMPACT)
    deadline = time.monotonic() + 60
    while compacted(server.url) < 2:
        assert time.monotonic() < deadline, "no compaction within 60 s"
        time.sleep(0.1)
    assert not any(p.exists() for p in orphans)
    server.kill()
    assert any(p.exists() for p in small)  # replaced, not yet deleted

    # 3. Restarted again, the rest of the stream arrives.
    server.start(**COMPACT)
    for chunk in requests:
        assert send(server.url, collector, chunk)
    server.stop()  # a clean stop runs the last detection step and publishes
