"""Compaction: small event segments become one, with every event once, the catalog and
the view switching together, and nothing detection or the evidence log rely on moved."""

from __future__ import annotations

import json

from insiderwatch.app.deployment import load_deployment
from insiderwatch.app.ingest import ingest_records
from insiderwatch.detect import DetectionConfig, run_detection
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.report.evidence.audit import audit_store
from insiderwatch.report.evidence.log import append_pending
from insiderwatch.store import Store
from insiderwatch.store.compact import compact_segments
from sample_data import KEY_HEX
from test_alert_history import episode_company

KEY = HashKey(bytes.fromhex(KEY_HEX))


def small_batches(tmp_path, pieces: int) -> tuple[Store, list[str]]:
    folder = episode_company().write(tmp_path / "dataset")
    lines = (folder / "access.jsonl").read_text().splitlines()
    (folder / "access.jsonl").unlink()
    store = Store(tmp_path / "iw.duckdb", threads=1)
    ingest_dataset(store, folder, KEY)
    size = len(lines) // pieces + 1
    for k in range(0, len(lines), size):
        load(store, lines[k : k + size])
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
                "time": "2026-09-09T17:00:00Z",
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
