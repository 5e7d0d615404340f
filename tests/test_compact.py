"""Compaction: small event segments become one, with every event once, the catalog and
the view switching together, and nothing detection or the evidence log rely on moved."""

from __future__ import annotations

import json

import pyarrow.parquet as pq

from detect_scenarios import base_company
from insiderwatch.app.deployment import load_deployment
from insiderwatch.app.ingest import ingest_records
from insiderwatch.detect import DetectionConfig, run_detection
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.report.evidence.audit import audit_store
from insiderwatch.report.evidence.log import append_pending
from insiderwatch.store import Store, duckdb_store
from insiderwatch.store.compact import _groups, _Segment, compact_segments, tier
from sample_data import KEY_HEX

KEY = HashKey(bytes.fromhex(KEY_HEX))


def small_batches(tmp_path, pieces: int, held_back: int = 0) -> tuple[Store, list[str]]:
    """The company's access events in ``pieces`` small batches, but the last
    ``held_back`` of them (returned all the same). Four ordinary days: compaction cares
    how the events were batched, not what they say, and detection (which must have read
    a batch before it merges) runs in a fraction of the time it takes on a longer one."""
    folder = base_company(days=4).write(tmp_path / "dataset")
    lines = (folder / "access.jsonl").read_text().splitlines()
    (folder / "access.jsonl").unlink()
    store = Store(tmp_path / "iw.duckdb", threads=1)
    ingest_dataset(store, folder, KEY)
    sent = lines[: len(lines) - held_back]
    size = len(sent) // pieces + 1
    for k in range(0, len(sent), size):
        load(store, sent[k : k + size])
    return store, lines


def load(store: Store, lines: list[str]):
    deployment = load_deployment({"db": str(store.path), "hash_key": KEY_HEX})
    return ingest_records(deployment, "access", lines, source="test", store=store, sealed=False)


def snapshot(store: Store):
    return store.con.execute("SELECT * EXCLUDE (batch_id) FROM access ORDER BY event_id").fetchall()


def test_small_segments_merge_into_one_with_every_event_once(tmp_path):
    store, lines = small_batches(tmp_path, 6)
    before = snapshot(store)
    files = store.segment_files()
    assert len(files) == 6
    # Not yet read by detection: left alone (late events are found by batch id).
    assert compact_segments(store, min_segments=2).merged == 0
    run_detection(store, DetectionConfig(), KEY)
    done = compact_segments(store, min_segments=2)
    assert (done.merged, done.written, done.rows) == (6, 1, len(lines))
    assert len(store.segment_files()) == 1
    assert snapshot(store) == before
    assert set(done.retired) == set(files) and all(f.exists() for f in files)
    # A restart removes the retired files nobody lists any more.
    store.close()
    reopened = Store(tmp_path / "iw.duckdb", threads=1)
    assert not any(f.exists() for f in files)
    assert snapshot(reopened) == before
    # Loading the same events again finds them all stored.
    again = load(reopened, lines).totals
    assert (again.loaded, again.duplicates) == (0, len(lines))
    # Detection carries on without seeing the merged segment as late events.
    assert run_detection(reopened, DetectionConfig(), KEY).rewound is None
    reopened.close()


def test_sealed_and_unsealed_batches_never_merge_together(tmp_path):
    store, _ = small_batches(tmp_path, 4)
    append_pending(store)  # the evidence log seals the four batches
    extra = [
        json.dumps(
            {
                "event_id": f"late{k}",
                "time": "2026-09-04T17:00:00Z",
                "employee_id": "a01",
                "action": "view",
                "customer_ids": ["c100"],
                "fields": ["name"],
            }
        )  # fmt: skip
        for k in range(4)
    ]
    for line in extra:
        load(store, [line])
    run_detection(store, DetectionConfig(), KEY)
    done = compact_segments(store, min_segments=2)
    assert (done.merged, done.written) == (8, 2)
    sealed = set(store.con.execute("SELECT batch_id FROM evidence_batches").fetchall())
    groups = store.con.execute("SELECT batch_id FROM event_segments").fetchall()
    assert sum(g in sealed for g in groups) == 1
    # The log then adds the unsealed events once, and the audit finds nothing amiss.
    assert append_pending(store).leaves == len(extra)
    assert audit_store(store) == []
    store.close()


def test_merged_segments_are_not_rewritten_with_each_new_run_of_small_ones(tmp_path):
    """Size tiers: the second merge takes only the new small segments, so an event is
    rewritten about once per tier, not once per merge."""
    store, lines = small_batches(tmp_path, 8)
    run_detection(store, DetectionConfig(), KEY)
    first = compact_segments(store, min_segments=8)
    assert (first.merged, first.written) == (8, 1)
    merged_path = store.segment_files()[0]
    size = len(lines) // 8 + 1
    more = [line.replace('"event_id": "', '"event_id": "again-') for line in lines]
    assert more != lines
    for k in range(0, len(more), size):
        load(store, more[k : k + size])
    run_detection(store, DetectionConfig(), KEY)
    second = compact_segments(store, min_segments=8)
    assert (second.merged, second.written, second.rows) == (8, 1, len(more))
    assert merged_path in store.segment_files() and len(store.segment_files()) == 2
    assert store.scalar("SELECT count(DISTINCT event_id) FROM access") == 2 * len(lines)
    store.close()


def test_a_merge_holds_at_most_max_rows(tmp_path):
    store, lines = small_batches(tmp_path, 8)
    run_detection(store, DetectionConfig(), KEY)
    per = len(lines) // 8 + 1
    done = compact_segments(store, min_segments=8, max_rows=3 * per)
    # Runs of three segments are full (a fourth would not fit); the last two are not.
    assert (done.merged, done.written) == (6, 2)
    rows = [r for (r,) in store.con.execute("SELECT rows FROM event_segments").fetchall()]
    assert max(rows) <= 3 * per and sum(rows) == len(lines)
    store.close()


def test_a_merged_segment_is_written_in_time_ordered_row_groups(tmp_path, monkeypatch):
    """As an ingested segment: a scan filtering on time skips the row groups of the merged
    segment's other stretches of time."""
    monkeypatch.setattr(duckdb_store, "SEGMENT_ROW_GROUP", 100)
    store, lines = small_batches(tmp_path, 4)
    run_detection(store, DetectionConfig(), KEY)
    assert compact_segments(store, min_segments=4).written == 1
    (merged,) = store.segment_files()
    meta = pq.ParquetFile(merged).metadata
    assert meta.num_row_groups == -(-len(lines) // 100) > 2
    column = [meta.schema.column(i).name for i in range(meta.num_columns)].index("time")
    stats = [meta.row_group(g).column(column).statistics for g in range(meta.num_row_groups)]
    assert all(a.max <= b.min for a, b in zip(stats, stats[1:], strict=False))
    store.close()


def test_tier_is_the_power_of_the_merge_count():
    assert [tier(n, 16) for n in (0, 15, 16, 255, 256, 4096)] == [0, 0, 1, 1, 2, 3]
    assert tier(7, 1) == tier(7, 2) == 2  # a base below 2 counts as 2


def test_store_compact_command_merges_and_deletes_the_old_files_at_once(cli, tmp_path):
    store, lines = small_batches(tmp_path, 6)
    files = store.segment_files()
    store.close()
    db = tmp_path / "iw.duckdb"
    env = {"INSIDERWATCH_HASH_KEY": KEY_HEX}
    # Detection has not read these batches yet: nothing merges, and the command says why.
    result = cli("store", "compact", "--db", db, "--min-segments", "2", "--json", env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "table": "access", "segments_before": 6, "segments_after": 6, "merged": 0,
        "written": 0, "rows": 0, "waiting": 6,
    }  # fmt: skip
    assert cli("detect", "--db", db, env=env).exit_code == 0
    result = cli("store", "compact", "--db", db, "--min-segments", "2", env=env)
    assert result.exit_code == 0, result.output
    assert "6 segments -> 1" in result.stderr
    assert not any(f.exists() for f in files)
    with Store(db, threads=1, read_only=True) as reopened:
        assert reopened.scalar("SELECT count(DISTINCT event_id) FROM access") == len(lines)


def test_store_compact_command_needs_an_existing_store(cli, tmp_path):
    result = cli("store", "compact", "--db", tmp_path / "none.duckdb")
    assert result.exit_code == 1 and "no store at" in result.stderr


def test_max_merges_leaves_the_rest_for_the_next_call(tmp_path):
    store, lines = small_batches(tmp_path, 8)
    run_detection(store, DetectionConfig(), KEY)
    per = len(lines) // 8 + 1
    first = compact_segments(store, min_segments=2, max_rows=2 * per, max_merges=1)
    assert (first.written, first.pending) == (1, 3)
    rest = compact_segments(store, min_segments=2, max_rows=2 * per)
    assert (rest.written, rest.pending) == (3, 0)
    assert store.scalar("SELECT count(DISTINCT event_id) FROM access") == len(lines)
    store.close()


def test_groups_are_full_runs_or_runs_of_min_segments():
    segments = [_Segment(f"s{k}", k, 50) for k in range(25)]
    assert [len(g) for g in _groups(segments, 4, max_rows=500)] == [10, 10, 5]
    assert [len(g) for g in _groups(segments, 6, max_rows=500)] == [10, 10]  # 5 < 6 wait
    assert _groups(segments[:3], 4, max_rows=10**6) == []
    # A full run of one segment has nothing to merge with.
    big = [_Segment("a", 1, 400), _Segment("b", 2, 400), _Segment("c", 3, 50)]
    assert [[s.path for s in g] for g in _groups(big, 2, max_rows=500)] == [["b", "c"]]


def test_collect_upkeep_merges_what_detection_read_while_collection_was_stopped(tmp_path):
    """`insiderwatch collect` runs no detection, and a detection run cannot open the store
    while collect holds it: its upkeep merges at start what detection read in between,
    and leaves alone what detection has not read."""
    import asyncio

    from insiderwatch.app.collect import locked
    from insiderwatch.app.upkeep import Compactor, run_upkeep

    store, lines = small_batches(tmp_path, 4, held_back=3)
    run_detection(store, DetectionConfig(), KEY)
    read = store.segment_files()
    load(store, lines[-3:])  # collected after detection ran: not read yet
    before = snapshot(store)
    compactor = Compactor(10_000, 100_000, min_segments=2, grace=0.0)

    async def collect_briefly() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_upkeep(locked(store), [compactor], stop))
        await asyncio.sleep(0.3)
        stop.set()
        await task

    asyncio.run(collect_briefly())
    assert compactor.merged == len(read) == 4
    assert len(store.segment_files()) == 2  # the merged one and the unread one
    assert snapshot(store) == before
