"""In-memory batches of contract records (what an HTTP request or a NATS message carries)
through the one pipeline, with an outcome for every line.

Lines may be JSON texts (``str`` or UTF-8 ``bytes``) or already-decoded objects (dicts);
they are numbered from 1 in the order given, and the batch's ``origin`` names them in
the dead letters (``origin:line:field``). The loader's dedupe by key makes a re-sent
batch harmless: its events come back as duplicates, its letters are the same letters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec
import numpy as np
import pyarrow as pa

from insiderwatch.contract import TABLES
from insiderwatch.errors import InsiderwatchError
from insiderwatch.ingest.pipeline import load
from insiderwatch.privacy import HashKey
from insiderwatch.sources.follow import MAX_LINE_BYTES, NOT_UTF8, TOO_LONG
from insiderwatch.sources.readers import LINE, ROW, RawBatch
from insiderwatch.store import Store
from insiderwatch.store.loader import LoadCounts

Line = str | bytes | Mapping[str, Any]
Status = Literal["accepted", "duplicate", "rejected", "skipped"]
_ENCODE = msgspec.json.Encoder()


@dataclass
class RecordsResult:
    table: str
    origin: str  # how the dead letters name this batch
    batch_id: int
    counts: LoadCounts
    error: str | None = None
    # (line, status, reasons) for every line, in order; empty when the batch failed.
    lines: list[tuple[int, Status, list[str]]] = field(default_factory=list)


def batch_name(lines: list[Line]) -> str:
    """A name derived from the content, so a redelivered batch is the same batch."""
    digest = hashlib.sha256()
    for line in lines:
        digest.update(_text(line).encode("utf-8", "surrogatepass") + b"\n")
    return digest.hexdigest()[:16]


def _text(line: Line | Any) -> str:
    if isinstance(line, str):
        return line
    if isinstance(line, bytes | bytearray | memoryview):
        return bytes(line).decode("utf-8")
    return _ENCODE.encode(line).decode("utf-8")


def _raw_batch(lines: list[Line], max_line_bytes: int) -> RawBatch:
    """Lines as the loader's JSON layout; lines it must not parse go to ``malformed``."""
    texts: list[str] = []
    rows: list[int] = []
    malformed: list[tuple[int, str, str]] = []
    for number, line in enumerate(lines, start=1):
        try:
            text = _text(line)
        except UnicodeDecodeError:
            malformed.append((number, "not valid UTF-8 (line withheld)", NOT_UTF8))
            continue
        except (TypeError, msgspec.EncodeError) as exc:
            malformed.append((number, f"not a JSON value: {exc}", "line:malformed_json"))
            continue
        if len(text) > max_line_bytes // 4 and len(text.encode()) > max_line_bytes:
            why = f"line longer than {max_line_bytes:,} bytes (line withheld)"
            malformed.append((number, why, TOO_LONG))
            continue
        texts.append(text)
        rows.append(number)
    data = pa.table(
        {LINE: pa.array(texts, pa.string()), ROW: pa.array(np.asarray(rows, dtype=np.int64))}
    )
    return RawBatch(layout="json", data=data, malformed=malformed, rows=len(lines))


def _rejected(store: Store, origin: str, batch_id: int) -> dict[int, tuple[str, list[str]]]:
    """This batch's letters by line: (disposition, problems)."""
    found = store.con.execute(
        "SELECT row_no, disposition, problems FROM dead_letters "
        "WHERE source = ? AND last_batch = ?",
        [origin, batch_id],
    ).fetchall()
    return {int(row): (disposition, list(problems or [])) for row, disposition, problems in found}


def ingest_batch(
    store: Store,
    table: str,
    lines: Iterable[Line],
    key: HashKey,
    *,
    origin: str,
    phone_region: str = "GB",
    max_line_bytes: int = MAX_LINE_BYTES,
) -> RecordsResult:
    """Load ``lines`` (records of contract ``table``) as one transaction."""
    if table not in TABLES:
        raise InsiderwatchError(f"unknown table {table!r}: one of {', '.join(TABLES)}")
    lines = list(lines)
    raw = _raw_batch(lines, max_line_bytes)
    loaded = load(
        store, table, origin, "records", key, [raw], phone_region=phone_region, track_rows=True
    )
    result = RecordsResult(table, origin, loaded.batch_id, loaded.counts, loaded.error)
    if loaded.error:
        return result
    good: dict[int, str] = {}
    for outcomes in loaded.outcomes:
        good.update(zip(outcomes[ROW].to_pylist(), outcomes["outcome"].to_pylist(), strict=True))
    letters = _rejected(store, origin, loaded.batch_id)
    for number in range(1, len(lines) + 1):
        disposition, problems = letters.get(number, (None, []))
        if disposition == "rejected":
            result.lines.append((number, "rejected", problems))
        elif number in good:
            status: Status = "duplicate" if good[number] == "duplicate" else "accepted"
            result.lines.append((number, status, problems))  # problems: fields dropped
        else:
            result.lines.append((number, "skipped", []))  # a blank line: no record
    return result
