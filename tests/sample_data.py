"""Tiny hand-built datasets and writers for every contract format.

The sample data is small on purpose and every expectation in the tests is derived from it
(counts, days, which case covers which access), never typed in by hand.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from insiderwatch.contract import TABLES

UTC = dt.UTC
FORMATS = ("csv", "jsonl", "jsonl.gz", "parquet")
KEY_HEX = "00112233445566778899aabbccddeeff" * 2
OTHER_KEY_HEX = "ffeeddccbbaa99887766554433221100" * 2


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A UTC time in September 2026 (day 0 is 31 August)."""
    return dt.datetime(2026, 8, 31, hour, minute, tzinfo=UTC) + dt.timedelta(days=day)


EMPLOYEES: list[dict[str, Any]] = [
    {
        "employee_id": "e1",
        "display_name": "Ann Lee",
        "surname": "Lee",
        "role": "cs_agent",
        "team": "blue",
        "site": "UK",
        "hired_on": dt.date(2020, 1, 6),
        "home_postcode": "AB1 2CD",
    },
    {
        "employee_id": "e2",
        "display_name": "Bob Kay",
        "surname": "Kay",
        "role": "seller_support",
        "team": "red",
        "site": "IE",
        "manager_id": "e1",
        "hired_on": dt.date(2021, 3, 1),
        "departs_on": dt.date(2027, 1, 31),
    },
    {
        "employee_id": "e3",
        "display_name": "Cy Ode",
        "role": "fraud_investigator",
        "team": "green",
        "hired_on": dt.date(2019, 5, 20),
    },
]

CUSTOMERS: list[dict[str, Any]] = [
    {
        "customer_id": "c1",
        "surname": "Smith",
        "postcode": "AB1 2CD",
        "email": "Jo.Smith@Example.COM",
        "phone": "07700 900123",
        "is_vip": False,
    },
    {
        "customer_id": "c2",
        "surname": "Jones",
        "postcode": "EF3 4GH",
        "email": "sam.jones@example.org",
        "phone": "+44 7700 900456",
        "is_vip": True,
    },
    {
        "customer_id": "c3",
        "surname": "Brown",
        "postcode": "IJ5 6KL",
        "phone": "0044 7700-900-789",
    },
]

# Which case covers which access is the point of these rows (see test_store_queries):
# k1 covers a1 but not a3 (closed by then); k2 covers a2 and a4; k3 belongs to e2;
# k4 is opened after a2; k5 was closed the day before.
CASES: list[dict[str, Any]] = [
    {
        "case_id": "k1",
        "customer_id": "c1",
        "employee_id": "e1",
        "opened_at": at(1, 8),
        "closed_at": at(1, 12),
        "channel": "phone",
    },
    {
        "case_id": "k2",
        "customer_id": "c2",
        "employee_id": "e1",
        "opened_at": at(0, 9),
        "channel": "chat",
    },
    {"case_id": "k3", "customer_id": "c1", "employee_id": "e2", "opened_at": at(1, 7)},
    {"case_id": "k4", "customer_id": "c3", "employee_id": "e1", "opened_at": at(1, 15)},
    {
        "case_id": "k5",
        "customer_id": "c3",
        "employee_id": "e1",
        "opened_at": at(-1, 9),
        "closed_at": at(0, 9),
    },
]

# a4 is late: it comes last in the file but happened first.
ACCESS: list[dict[str, Any]] = [
    {
        "event_id": "a1",
        "time": at(1, 9),
        "employee_id": "e1",
        "action": "view",
        "customer_ids": ["c1"],
        "fields": ["name", "email"],
        "app": "crm",
        "case_id": "k1",
        "src_ip": "10.0.0.1",
        "device_id": "d1",
    },
    {
        "event_id": "a2",
        "time": at(1, 10),
        "employee_id": "e1",
        "action": "search",
        "customer_ids": ["c2", "c3"],
        "fields": ["name"],
        "app": "crm",
    },
    {
        "event_id": "a3",
        "time": at(1, 13),
        "employee_id": "e1",
        "action": "export",
        "customer_ids": ["c1"],
        "fields": ["email", "phone"],
        "record_count": 5,
        "destination": "external:partner.example",
    },
    {
        "event_id": "a5",
        "time": at(1, 11),
        "employee_id": "e2",
        "action": "view",
        "customer_ids": ["c1"],
        "fields": ["orders"],
    },
    {"event_id": "a6", "time": at(2, 8), "employee_id": "e3", "action": "login"},
    {
        "event_id": "a4",
        "time": at(0, 23, 30),
        "employee_id": "e1",
        "action": "view",
        "customer_ids": ["c2"],
        "fields": ["address"],
    },
]

SAMPLE: dict[str, list[dict[str, Any]]] = {
    "employees": EMPLOYEES,
    "customers": CUSTOMERS,
    "cases": CASES,
    "access": ACCESS,
}

Row = dict[str, Any] | str  # a str is written verbatim (a broken line)


# --- writing datasets ------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    if isinstance(value, dt.date):  # dates and datetimes
        return value.isoformat()
    return str(value)


def _json_default(value: Any) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    raise TypeError(value)


def csv_text(rows: list[Row], header: list[str] | None = None) -> str:
    """CSV with a header (all keys, in first-seen order); str rows are copied verbatim."""
    if header is None:
        header = []
        for row in rows:
            if isinstance(row, dict):
                header += [k for k in row if k not in header]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        if isinstance(row, str):
            buf.write(row + "\n")
        else:
            writer.writerow([_text(row.get(name)) for name in header])
    return buf.getvalue()


def jsonl_text(rows: list[Row]) -> str:
    lines = [r if isinstance(r, str) else json.dumps(r, default=_json_default) for r in rows]
    return "".join(line + "\n" for line in lines)


def write_table(
    folder: Path,
    table: str,
    rows: list[Row],
    fmt: str = "csv",
    name: str | None = None,
    schema: pa.Schema | None = None,
) -> Path:
    """Write ``rows`` of ``table`` in ``fmt`` (csv, jsonl, jsonl.gz or parquet)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"{table}.{fmt}")
    if fmt == "csv":
        path.write_text(csv_text(rows))
    elif fmt == "jsonl":
        path.write_text(jsonl_text(rows))
    elif fmt == "jsonl.gz":
        with gzip.open(path, "wt") as fh:
            fh.write(jsonl_text(rows))
    elif fmt == "parquet":
        assert all(isinstance(r, dict) for r in rows), "parquet rows must be dicts"
        pq.write_table(
            pa.Table.from_pylist(rows, schema=schema or TABLES[table].arrow_schema()), path
        )
    else:
        raise ValueError(fmt)
    return path


def sample(table: str) -> list[dict[str, Any]]:
    """A deep copy of the sample rows of ``table`` (tests may change them)."""
    return copy.deepcopy(SAMPLE[table])


def write_sample(
    folder: Path, fmt: str = "csv", *, only: tuple[str, ...] | None = None, **tables: list[Row]
) -> Path:
    """The sample dataset in ``fmt``; keyword arguments replace (or add) tables.

    ``only`` limits the files written (each file ingested costs time): for events, the
    roster is all that is needed, e.g. ``only=("employees", "access")``.
    """
    data: dict[str, list[Row]] = {name: sample(name) for name in SAMPLE}
    data.update(tables)
    for table, rows in data.items():
        if rows and (only is None or table in only):
            write_table(folder, table, rows, fmt)
    return folder


EVENTS_ONLY = ("employees", "access")


def flat(text: str) -> str:
    """Text without any whitespace: Rich wraps long lines (paths) at the terminal width."""
    return "".join(text.split())


def copy_store(db: Path, to: Path) -> Path:
    """A closed store copied whole to the database file ``to``: the file, its write-ahead
    log if any and its event segments (stored relative to the file, so the copy reads its
    own); the copy is a store of its own, as if it had been built there.

    Keep the file's name (copy ``.../iw.duckdb`` to ``elsewhere/iw.duckdb``): segments are
    found by a path that includes it. The catalogue inside the file (``event_segments``)
    lists each segment as ``<name>.segments/...`` relative to the file's folder, so a copy
    under another name reads no events, and opening it for writing deletes the copied
    segments as files no batch committed."""
    to.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(db, to)
    wal = db.with_name(db.name + ".wal")
    if wal.exists():
        shutil.copy2(wal, to.with_name(to.name + ".wal"))
    segments = db.with_name(db.name + ".segments")
    if segments.exists():
        shutil.copytree(segments, to.with_name(to.name + ".segments"))
    return to


def folder_digest(folder: Path, seed: bytes = b"") -> str:
    """A short digest of ``seed`` and every file under ``folder`` (its path and bytes):
    the name of what ``built_once`` builds from that content, so a test that asks for
    the same content again gets the same build."""
    digest = hashlib.sha256(seed)
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(f"\0{path.relative_to(folder).as_posix()}\0".encode() + path.read_bytes())
    return digest.hexdigest()[:16]
