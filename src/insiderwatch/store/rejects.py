"""Dead letters: list, export and replay the records ingest could not load.

Replay runs the kept records through the same loader as a fresh ingest, so a record
rejected for an unknown employee loads once the roster has that employee. Customer rows
are kept redacted (they hold personal data) and cannot be replayed: fix the source file
and ingest it again; the letters then resolve themselves.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from insiderwatch.contract import TABLES
from insiderwatch.privacy import HashKey
from insiderwatch.sources.readers import LINE, ROW, RawBatch
from insiderwatch.store.duckdb_store import Store
from insiderwatch.store.loader import BatchLoader, LoadCounts

LETTER_COLUMNS = (
    "letter_id",
    "table_name",
    "source",
    "row_no",
    "field",
    "reason",
    "problems",
    "disposition",
    "record_key",
    "record",
    "first_batch",
    "last_batch",
    "resolved_batch",
)
NOT_REPLAYABLE = frozenset({"customers"})


def list_letters(
    store: Store,
    *,
    table: str | None = None,
    reason: str | None = None,
    include_resolved: bool = False,
    limit: int | None = None,
) -> list[dict]:
    where, params = [], []
    if table:
        where.append("table_name = ?")
        params.append(table)
    if reason:
        where.append("(reason = ? OR list_contains(problems, ?))")
        params += [reason, reason]
    if not include_resolved:
        where.append("resolved_batch IS NULL")
    sql = f"SELECT {', '.join(LETTER_COLUMNS)} FROM dead_letters"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY table_name, source, row_no"
    if limit:
        sql += f" LIMIT {int(limit)}"
    rows = store.con.execute(sql, params).fetchall()
    return [dict(zip(LETTER_COLUMNS, row, strict=True)) for row in rows]


def reason_counts(store: Store, include_resolved: bool = False) -> list[tuple[str, str, int]]:
    """(table, field:reason, open letters) for every problem, most frequent first."""
    where = "" if include_resolved else "WHERE resolved_batch IS NULL"
    return store.con.execute(
        f"""
        SELECT table_name, p, count(*) AS n
        FROM (SELECT table_name, unnest(problems) AS p FROM dead_letters {where})
        GROUP BY ALL ORDER BY n DESC, table_name, p
        """
    ).fetchall()


def export_letters(letters: list[dict], path: Path) -> None:
    """JSON Lines (``.jsonl``) or CSV (anything else)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in {".jsonl", ".json", ".ndjson"}:
        with path.open("w") as fh:
            for letter in letters:
                fh.write(json.dumps(letter, default=str) + "\n")
        return
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=LETTER_COLUMNS)
        writer.writeheader()
        for letter in letters:
            row = {**letter, "problems": ";".join(letter["problems"] or [])}
            writer.writerow({k: _inert(v) for k, v in row.items()})


# A spreadsheet runs a cell starting with one of these as a formula (OWASP: CSV
# injection); a dead letter holds whatever a log line said, so such a cell is quoted.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _inert(value: object) -> object:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


@dataclass
class ReplayResult:
    table: str
    source: str
    letters: int
    counts: LoadCounts


def replay(store: Store, key: HashKey, *, phone_region: str = "GB") -> list[ReplayResult]:
    """Re-validate every open rejected record that still has its content."""
    # Two open letters of one source can share a row number (the file was edited between
    # ingests). Rows are matched by number inside a batch, so such letters go into
    # separate rounds: the n-th letter of each row number in round n.
    groups = store.con.execute(
        """
        SELECT table_name, source, round, list(row_no ORDER BY row_no), list(record ORDER BY row_no)
        FROM (
            SELECT *, row_number() OVER (
                PARTITION BY table_name, source, row_no ORDER BY first_batch, letter_id
            ) AS round
            FROM dead_letters
            WHERE resolved_batch IS NULL AND disposition = 'rejected' AND record IS NOT NULL
              AND left(ltrim(record), 1) = '{'
        )
        GROUP BY ALL ORDER BY table_name, source, round
        """
    ).fetchall()
    results = []
    for table, source, _round, rows, records in groups:
        if table in NOT_REPLAYABLE:
            continue
        batch = RawBatch(
            layout="json",
            data=pa.table({LINE: pa.array(records, pa.string()), ROW: pa.array(rows, pa.int64())}),
            rows=len(rows),
        )
        batch_id = store.new_batch(table, source, "replay")
        loader = BatchLoader(store, TABLES[table], source, batch_id, key, phone_region)
        counts = loader.load_in_transaction(batch)
        store.finish_batch(batch_id, counts.as_dict())
        results.append(ReplayResult(table, source, len(rows), counts))
    return results
