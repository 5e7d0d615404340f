"""Sealed evidence: the log in the store, bundles, offline verification, tampering."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
from pathlib import Path

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from insiderwatch.errors import InsiderwatchError
from insiderwatch.report.evidence import log, merkle
from insiderwatch.report.evidence.audit import audit_store
from insiderwatch.report.evidence.bundle import ExportRequest, export_bundle
from insiderwatch.report.evidence.consistency import prove_consistency, verify_consistency
from insiderwatch.report.evidence.leaf import EVENTS, leaf_json_sql
from insiderwatch.report.evidence.records import ConsistencyProof
from insiderwatch.report.evidence.sth import (
    generate_key,
    load_signing_key,
    public_path,
    sign_current,
)
from insiderwatch.report.evidence.verify import verify_bundle
from sample_data import sample, write_table

START = dt.datetime(2026, 9, 1, 8, tzinfo=dt.UTC)


def events(lo: int, hi: int) -> list[dict]:
    """Accesses ev0000.. of three staff; e2's are exports to USB."""
    return [
        {
            "event_id": f"ev{i:04d}",
            "time": START + dt.timedelta(minutes=7 * i),
            "employee_id": ("e1", "e2", "e3")[i % 3],
            "action": "export" if i % 3 == 1 else "view",
            "customer_ids": [f"c{i % 5}", f"c{(i + 1) % 5}"],
            "fields": ["email", "phone"],
            "app": "crm",
            "destination": "usb" if i % 3 == 1 else None,
        }
        for i in range(lo, hi)
    ]


def load(ingest, folder: Path, rows: list[dict], roster: bool = True) -> None:
    if roster:
        write_table(folder, "employees", sample("employees"))
    write_table(folder, "access", rows)
    report = ingest(folder)
    assert not report.errors


@pytest.fixture
def key(tmp_path: Path):
    path = tmp_path / "keys" / "evidence.key"
    generate_key(path)
    return load_signing_key(path)


@pytest.fixture
def logged(store, ingest, tmp_path):
    """A store with 40 events in two batches, logged."""
    load(ingest, tmp_path / "d1", events(0, 13))
    load(ingest, tmp_path / "d2", events(10, 40), roster=False)
    log.append_pending(store)
    return store


def stored_leaves(store) -> list[bytes]:
    rows = store.con.execute("SELECT leaf_hash FROM evidence_leaves ORDER BY leaf_index")
    return [bytes(h) for (h,) in rows.fetchall()]


# -- the log in the store -----------------------------------------------------------------
def test_every_event_is_one_leaf_and_reingest_appends_nothing(logged, ingest, tmp_path):
    assert log.tree_size(logged) == 40
    assert logged.scalar("SELECT count(DISTINCT event_id) FROM evidence_leaves") == 40
    load(ingest, tmp_path / "d1", events(0, 13))  # the same batch again: all duplicates
    again = log.append_pending(logged)
    assert (again.leaves, again.tree_size) == (0, 40)


def test_stored_subtrees_and_roots_match_the_pure_tree(logged):
    full = merkle.build_nodes(stored_leaves(logged))
    stored = {
        (level, index): bytes(h)
        for level, index, h in logged.con.execute(
            "SELECT level, node_index, hash FROM evidence_nodes"
        ).fetchall()
    }
    assert stored == {node: h for node, h in full.items() if node[0] > 0}
    for size in (1, 13, 27, 40):
        assert log.root_at(logged, size) == merkle.root(size, full)
    proofs = log.inclusion_proofs(logged, [0, 12, 39], 40)
    assert proofs[12] == merkle.inclusion_proof(12, 40, full)


def test_subtrees_appended_batch_by_batch_match_the_pure_tree(store, ingest, tmp_path):
    """Batches of 1, 1, 2, 3, 5, 8 and 13 events, each logged on its own: every append
    starts at a different offset, so new subtrees keep pairing with stored left siblings
    at several levels; what is stored is what the whole tree computed at once holds."""
    start = 0
    for n, size in enumerate((1, 1, 2, 3, 5, 8, 13)):
        load(ingest, tmp_path / f"d{n}", events(start, start + size), roster=n == 0)
        assert log.append_pending(store).tree_size == start + size
        start += size
    full = merkle.build_nodes(stored_leaves(store))
    stored = {
        (level, index): bytes(h)
        for level, index, h in store.con.execute(
            "SELECT level, node_index, hash FROM evidence_nodes"
        ).fetchall()
    }
    assert stored == {node: h for node, h in full.items() if node[0] > 0}
    assert log.root_at(store, start) == merkle.root(start, full)


def test_a_leaf_is_the_documented_json_of_the_event(store, ingest, tmp_path):
    rows = events(0, 1)
    rows[0]["app"] = 'crm "naïve" ✓'
    load(ingest, tmp_path / "d", rows)
    log.append_pending(store)
    text = store.scalar(f"SELECT {leaf_json_sql('e')} FROM access e")
    stored = dict(zip([c.stored_name for c in EVENTS.columns], [None] * 12, strict=True))
    stored.update(rows[0], time="2026-09-01T08:00:00.000000Z", record_count=2)
    assert text.encode() == msgspec.json.encode(stored)
    leaf = hashlib.sha256(b"\x00" + text.encode()).digest()
    assert stored_leaves(store) == [leaf]


# -- bundles ------------------------------------------------------------------------------
def export(store, key, out: Path, **request) -> Path:
    defaults = {"employee_id": "e2", "reason": "court order 7", "exported_by": "auditor"}
    export_bundle(store, key, ExportRequest(**{**defaults, **request}), out)
    return out


def complaints(bundle: Path, public_key: Path | None = None) -> set[tuple[str, str]]:
    return {(c.kind, c.item) for c in verify_bundle(bundle, public_key).complaints}


@pytest.fixture
def bundle(logged, key, tmp_path) -> Path:
    return export(logged, key, tmp_path / "bundle")


def test_a_fresh_bundle_verifies_with_the_trusted_key(bundle, tmp_path):
    report = verify_bundle(bundle, public_path(tmp_path / "keys" / "evidence.key"))
    assert report.ok, report.complaints
    assert report.events_checked == 13  # e2 holds every third of 40 events
    custody = msgspec.json.decode((bundle / "custody.json").read_bytes())
    assert custody["reason"] == "court order 7" and custody["exported_by"] == "auditor"
    assert custody["events"] == 13 and custody["tree_size"] == 40
    names = {p.name for p in bundle.iterdir()}
    assert {"events.parquet", "events.csv", "alerts.json", "notes.json", "proofs.jsonl"} <= names
    assert pq.read_table(bundle / "events.parquet")["employee_id"].unique().to_pylist() == ["e2"]


def test_the_time_window_limits_the_events(logged, key, tmp_path):
    out = export(logged, key, tmp_path / "b", time_to=START + dt.timedelta(minutes=7 * 10))
    assert pq.read_table(out / "events.parquet").num_rows == 4  # ev0001, 4, 7, 10
    assert verify_bundle(out).ok


def _flip(path: Path, at: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    at = len(data) // 2 if at is None else at
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def _flip_hex(path: Path, needle: str) -> None:
    """Change one hex digit just after ``needle``: the file stays well-formed."""
    text = path.read_text()
    at = text.index(needle) + len(needle)
    text = text[:at] + ("1" if text[at] == "0" else "0") + text[at + 1 :]
    path.write_text(text)


@pytest.mark.parametrize(
    ("name", "tamper", "expected"),
    [
        ("events.parquet", _flip, {("file_altered", "events.parquet")}),
        ("events.csv", _flip, {("file_altered", "events.csv")}),
        ("alerts.json", _flip, {("file_altered", "alerts.json")}),
        ("notes.json", _flip, {("file_altered", "notes.json")}),
        ("custody.json", _flip, {("file_altered", "custody.json")}),
        (
            "proofs.jsonl",
            lambda p: _flip_hex(p, '"path":["'),
            {("file_altered", "proofs.jsonl"), ("proof_invalid", "event ev0001")},
        ),
        ("manifest.json", _flip, {("signature_invalid", "manifest.json")}),
        ("manifest.sig", lambda p: _flip_hex(p, ""), {("signature_invalid", "manifest.json")}),
        (
            "sth.json",
            lambda p: _flip_hex(p, '"root_hash": "'),
            {("file_altered", "sth.json"), ("signature_invalid", "sth.json")},
        ),
    ],
)
def test_a_flipped_byte_in_each_part_is_named(bundle, name, tamper, expected):
    tamper(bundle / name)
    found = complaints(bundle)
    assert expected <= found, found


def test_a_flipped_tree_head_also_fails_every_proof(bundle):
    _flip_hex(bundle / "sth.json", '"root_hash": "')
    found = complaints(bundle)
    assert ("proof_invalid", "event ev0004") in found


def test_rows_altered_removed_or_added_are_named_by_event(bundle):
    table = pq.read_table(bundle / "events.parquet")
    rows = table.to_pylist()
    ids = [r["event_id"] for r in rows]
    rows[2]["record_count"] += 100  # an export made to look bigger
    forged = {**rows[0], "event_id": "ev9999"}
    nameless = {**rows[1], "event_id": None}
    rows = [*rows[:5], *rows[6:], forged, nameless]  # one row dropped, two planted
    loose = pa.schema([f.with_nullable(True) for f in table.schema])
    pq.write_table(pa.Table.from_pylist(rows, schema=loose), bundle / "events.parquet")
    found = complaints(bundle)
    assert ("event_altered", f"event {ids[2]}") in found
    assert ("event_missing", f"event {ids[5]}") in found
    assert ("event_added", "event ev9999") in found
    assert ("event_added", "event (no id)") in found
    assert ("file_altered", "events.parquet") in found
    unchanged = {f"event {i}" for i in ids} - {f"event {ids[2]}", f"event {ids[5]}"}
    assert not {item for _, item in found} & unchanged


def test_a_missing_and_an_added_file_are_named(bundle):
    (bundle / "notes.json").unlink()
    (bundle / "extra.txt").write_text("planted")
    found = complaints(bundle)
    assert {("file_missing", "notes.json"), ("file_added", "extra.txt")} <= found


def test_another_key_is_refused(bundle, tmp_path):
    other = tmp_path / "other" / "evidence.key"
    generate_key(other)
    found = complaints(bundle, public_path(other))
    assert ("key_mismatch", "public_key.pem") in found
    assert ("signature_invalid", "manifest.json") in found
    assert ("signature_invalid", "sth.json") in found


def test_export_refuses_a_non_empty_folder_and_an_empty_reason(logged, key, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("")
    with pytest.raises(InsiderwatchError, match="not empty"):
        export(logged, key, tmp_path / "full")
    with pytest.raises(InsiderwatchError, match="--reason"):
        export(logged, key, tmp_path / "b", reason="  ")
    with pytest.raises(InsiderwatchError, match="no stored events of nobody"):
        export(logged, key, tmp_path / "b", employee_id="nobody")


# -- the store itself ---------------------------------------------------------------------
def _rewrite_segment_row(store, event_id: str) -> None:
    """What an insider with file access would do: edit an event inside its segment."""
    for path in store.segment_files():
        table = pq.read_table(path)
        ids = table["event_id"].to_pylist()
        if event_id in ids:
            apps = table["app"].to_pylist()
            apps[ids.index(event_id)] = "innocent-tool"
            table = table.set_column(table.schema.get_field_index("app"), "app", pa.array(apps))
            pq.write_table(table, path)
            return
    raise AssertionError(event_id)


def test_a_store_row_altered_after_ingest_is_caught(logged, key, tmp_path):
    sign_current(logged, key)
    assert audit_store(logged, key.public) == []
    _rewrite_segment_row(logged, "ev0007")
    found = {(c.kind, c.item) for c in audit_store(logged, key.public)}
    assert found == {("event_altered", "event ev0007")}
    with pytest.raises(InsiderwatchError, match="ev0007 \\(altered since logged\\)"):
        export(logged, key, tmp_path / "b", employee_id="e2")


def test_a_rewritten_leaf_breaks_the_tree_and_the_signed_head(logged, key):
    sign_current(logged, key)
    logged.con.execute(
        "UPDATE evidence_leaves SET leaf_hash = sha256('x')::BLOB WHERE leaf_index = 3"
    )
    kinds = {c.kind for c in audit_store(logged, key.public)}
    assert {"event_altered", "log_altered"} <= kinds


def test_consistency_after_more_ingest(store, ingest, key, tmp_path):
    load(ingest, tmp_path / "d1", events(0, 13))
    log.append_pending(store)
    first = sign_current(store, key)
    load(ingest, tmp_path / "d2", events(13, 50), roster=False)
    log.append_pending(store)
    second = sign_current(store, key)
    proof = prove_consistency(store, 13)
    assert (proof.old, proof.new) == (first, second)
    assert verify_consistency(proof, key.public) == []
    forged_root = msgspec.structs.replace(proof.old, root_hash="00" * 32)
    forged = ConsistencyProof(old=forged_root, new=proof.new, path=proof.path)
    kinds = {c.kind for c in verify_consistency(forged, key.public)}
    assert kinds == {"signature_invalid", "not_append_only"}
    with pytest.raises(InsiderwatchError, match="no signed tree head of size 12"):
        prove_consistency(store, 12)


def flat_err(result) -> str:
    return " ".join(result.stderr.split())


# -- command line -------------------------------------------------------------------------
def test_the_commands_end_to_end(cli, tmp_path):
    data = tmp_path / "d"
    write_table(data, "employees", sample("employees"))
    write_table(data, "access", events(0, 30))
    db = tmp_path / "s.duckdb"
    result = cli("ingest", data, "--db", db)  # no key yet: the log grows, unsigned
    assert "evidence log: +30 events, size 30, not signed yet" in flat_err(result)
    result = cli("evidence", "keygen")
    assert result.exit_code == 0, result.stderr
    key = tmp_path / "xdg" / "insiderwatch" / "evidence.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert cli("evidence", "keygen").exit_code == 1  # never overwrites a key
    assert cli("evidence", "sign", "--db", db).exit_code == 0
    write_table(tmp_path / "d2", "access", events(30, 45))
    result = cli("ingest", tmp_path / "d2", "--db", db)
    assert "evidence log: +15 events, size 45, signed" in flat_err(result)
    os.chmod(key, 0o644)
    result = cli(
        "evidence",
        "export",
        "--employee",
        "e1",
        "--out",
        tmp_path / "b",
        "--reason",
        "HR case 3",
        "--by",
        "Ann",
        "--db",
        db,
    )
    assert result.exit_code == 0, result.stderr
    assert "readable by others (mode 644)" in flat_err(result)
    pub = public_path(key)
    assert cli("evidence", "verify", tmp_path / "b", "--public-key", pub).exit_code == 0
    shutil.copy(tmp_path / "b" / "notes.json", tmp_path / "b" / "copy.json")
    result = cli("evidence", "verify", tmp_path / "b", "--public-key", pub)
    assert result.exit_code == 1 and "copy.json: added" in " ".join(result.stdout.split())
    result = cli(
        "evidence",
        "prove-consistency",
        "--from-size",
        "30",
        "--db",
        db,
        "--out",
        tmp_path / "p.json",
    )
    assert result.exit_code == 0, result.stderr
    result = cli("evidence", "verify-consistency", tmp_path / "p.json", "--public-key", pub)
    assert result.exit_code == 0 and "size 45 extends the one of size 30" in " ".join(
        result.stdout.split()
    )
    assert cli("evidence", "audit", "--db", db, "--public-key", pub).exit_code == 0
