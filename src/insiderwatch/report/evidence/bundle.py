"""Export an employee's evidence as a sealed bundle a court can check offline.

A bundle is a folder::

    events.parquet  events.csv   the employee's stored events (the CSV for people)
    alerts.json                  alerts, their history and findings as stored today
    notes.json                   analysts' notes and actions (none are stored yet)
    custody.json                 who exported it, when, why, with which tool
    proofs.jsonl                 one RFC 9162 inclusion proof per event
    sth.json  public_key.pem     the signed tree head the proofs lead to, and its key
    manifest.json  manifest.sig  SHA-256 of every file above, signed

Before writing, every exported event is re-hashed and compared with its leaf in the
log, so a store row altered after ingest is refused here rather than sealed.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from insiderwatch import __version__
from insiderwatch.errors import InsiderwatchError
from insiderwatch.report.evidence import log
from insiderwatch.report.evidence.leaf import EVENTS, leaf_hash_sql, value_sql
from insiderwatch.report.evidence.records import (
    BUNDLE_FORMAT,
    Custody,
    InclusionProof,
    Manifest,
    ManifestEntry,
)
from insiderwatch.report.evidence.sth import SigningKey, public_pem, sign_current
from insiderwatch.store import Store

EVENT_FILES = ("events.parquet", "events.csv")
SEAL_FILES = ("manifest.json", "manifest.sig")
NO_NOTES = (
    "No analyst notes or actions are stored by this version of insiderwatch; the section "
    "is empty, not withheld."
)


class ExportRequest(msgspec.Struct, kw_only=True, frozen=True):
    employee_id: str
    reason: str
    exported_by: str
    time_from: datetime | None = None
    time_to: datetime | None = None


class ExportResult(msgspec.Struct, kw_only=True, frozen=True):
    out: str
    events: int
    alerts: int
    tree_size: int
    root_hash: str
    files: list[str]


def export_bundle(
    store: Store, key: SigningKey, request: ExportRequest, out: Path, now: datetime | None = None
) -> ExportResult:
    if not request.reason.strip():
        raise InsiderwatchError("an evidence export needs a --reason")
    if out.exists() and any(out.iterdir()):
        raise InsiderwatchError(f"{out} is not empty: a bundle is written to a new folder")
    now = now or datetime.now(UTC)
    log.append_pending(store)
    head = sign_current(store, key, now)
    events = _events(store, request)
    if not events.num_rows:
        raise InsiderwatchError(f"no stored events of {request.employee_id} in that time window")
    out.mkdir(parents=True, exist_ok=True)
    _write_events(store, events, out)
    alerts = _write_alerts(store, request, out)
    (out / "notes.json").write_bytes(_json({"notes": [], "actions": [], "note": NO_NOTES}))
    _write_proofs(store, events, head.tree_size, out)
    (out / "sth.json").write_bytes(_json(head))
    (out / "public_key.pem").write_bytes(public_pem(key.public))
    custody = Custody(
        exported_by=request.exported_by,
        exported_at=now.isoformat(),
        reason=request.reason,
        tool="insiderwatch",
        tool_version=__version__,
        employee_id=request.employee_id,
        time_from=request.time_from.isoformat() if request.time_from else None,
        time_to=request.time_to.isoformat() if request.time_to else None,
        events=events.num_rows,
        alerts=alerts,
        tree_size=head.tree_size,
        store_key_fingerprint=store.meta("hash_key_fingerprint"),
    )
    (out / "custody.json").write_bytes(_json(custody))
    files = seal(out, key, now)
    return ExportResult(
        out=str(out),
        events=events.num_rows,
        alerts=alerts,
        tree_size=head.tree_size,
        root_hash=head.root_hash,
        files=files,
    )


def _json(value) -> bytes:
    return msgspec.json.format(msgspec.json.encode(value), indent=2) + b"\n"


def _events(store: Store, request: ExportRequest) -> pa.Table:
    """The employee's events with their leaves; refuses events altered since logged."""
    cols = ", ".join(f"e.{c.stored_name}" for c in EVENTS.columns)
    where, params = ["e.employee_id = ?"], [request.employee_id]
    if request.time_from:
        where.append("e.time >= ?")
        params.append(request.time_from)
    if request.time_to:
        where.append("e.time <= ?")
        params.append(request.time_to)
    table = store.con.sql(
        f"""
        SELECT {cols}, l.leaf_index, l.leaf_hash, {leaf_hash_sql("e")} AS recomputed
        FROM access e LEFT JOIN evidence_leaves l ON l.event_id = e.event_id
        WHERE {" AND ".join(where)}
        ORDER BY e.time, e.event_id
        """,
        params=params,
    ).to_arrow_table()
    store.con.register("_exported", table)
    try:
        bad = store.con.execute(
            "SELECT event_id, leaf_hash IS NULL FROM _exported "
            "WHERE leaf_hash IS DISTINCT FROM recomputed ORDER BY event_id"
        ).fetchall()
    finally:
        store.con.unregister("_exported")
    if bad:
        names = ", ".join(
            f"{event_id} ({'not in the log' if unlogged else 'altered since logged'})"
            for event_id, unlogged in bad[:10]
        )
        raise InsiderwatchError(
            f"refusing to seal {len(bad)} event(s) that do not match the evidence log: {names}; "
            "run `insiderwatch evidence audit`"
        )
    return table


def _write_events(store: Store, events: pa.Table, out: Path) -> None:
    schema = pa.schema([f for f in EVENTS.stored_arrow_schema()])
    data = events.select(schema.names).cast(schema)
    pq.write_table(data, out / "events.parquet", compression="zstd")
    # Lists become JSON text in the CSV, so a value holding a comma stays readable.
    exprs = ", ".join(
        (f"to_json(c.{c.stored_name})" if c.kind == "list" else value_sql("c", c))
        + f" AS {c.stored_name}"
        for c in EVENTS.columns
    )
    store.con.register("_csv", data)
    try:
        csv_path = str(out / "events.csv").replace("'", "''")
        store.con.execute(f"COPY (SELECT {exprs} FROM _csv c) TO '{csv_path}' (HEADER)")
    finally:
        store.con.unregister("_csv")


def _rows(store: Store, table: str, where: str, params: list) -> list:
    if not store.has_table(table):
        return []
    rows = store.con.execute(
        f"SELECT CAST(to_json(t) AS VARCHAR) FROM {table} t WHERE {where}", params
    ).fetchall()
    return [msgspec.json.decode(r) for (r,) in rows]


def _write_alerts(store: Store, request: ExportRequest, out: Path) -> int:
    """Whatever alert records the store holds today for the employee, unchanged."""
    lo = request.time_from or datetime(1, 1, 1, tzinfo=UTC)
    hi = request.time_to or datetime(9999, 12, 31, tzinfo=UTC)
    person = [request.employee_id, hi, lo]
    alerts = _rows(
        store, "alerts", "employee_id = ? AND first_seen <= ? AND last_seen >= ?", person
    )
    ids = [a["alert_id"] for a in alerts]
    history = _rows(store, "alert_history", "list_contains(?, alert_id)", [ids])
    findings = _rows(store, "findings", "employee_id = ? AND time <= ? AND time >= ?", person)
    section = {"alerts": alerts, "alert_history": history, "findings": findings}
    if not store.has_table("alert_history"):
        section["note"] = "This store keeps no alert history beyond each alert's current state."
    (out / "alerts.json").write_bytes(_json(section))
    return len(alerts)


def _write_proofs(store: Store, events: pa.Table, size: int, out: Path) -> None:
    indexes = events["leaf_index"].to_pylist()
    paths = log.inclusion_proofs(store, indexes, size)
    lines = [
        msgspec.json.encode(
            InclusionProof(
                event_id=event_id,
                leaf_index=index,
                leaf_hash=bytes(leaf).hex(),
                path=[p.hex() for p in paths[index]],
            )
        )
        for event_id, index, leaf in zip(
            events["event_id"].to_pylist(), indexes, events["leaf_hash"].to_pylist(), strict=True
        )
    ]
    (out / "proofs.jsonl").write_bytes(b"\n".join(lines) + b"\n")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def seal(out: Path, key: SigningKey, now: datetime) -> list[str]:
    """Write the manifest of every file in the bundle and sign it."""
    names = sorted(p.name for p in out.iterdir() if p.is_file() and p.name not in SEAL_FILES)
    manifest = Manifest(
        format=BUNDLE_FORMAT,
        created_at=now.isoformat(),
        files=[
            ManifestEntry(path=n, sha256=file_sha256(out / n), bytes=(out / n).stat().st_size)
            for n in names
        ],
        notes=[NO_NOTES],
    )
    body = _json(manifest)
    (out / "manifest.json").write_bytes(body)
    (out / "manifest.sig").write_text(key.private.sign(body).hex() + "\n")
    return [*names, *SEAL_FILES]
