"""Load the lines of collector requests into the store, with a result per line.

The one place the web layer touches the loader: requests arrive as JSON lines, are loaded
as one batch through the same validation, dedupe and dead-letter path as files, and the
letters the batch wrote are read back so each request learns which of its lines were
rejected and why.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from insiderwatch.contract import TABLES
from insiderwatch.privacy import HashKey
from insiderwatch.sources.readers import LINE, ROW, RawBatch
from insiderwatch.store.duckdb_store import Store
from insiderwatch.store.loader import BatchLoader, LoadCounts


@dataclass(frozen=True)
class LineProblem:
    line: int  # 1-based, in the request
    field: str
    reason: str
    disposition: str  # rejected (line kept as a dead letter) or field_dropped


@dataclass
class LinesResult:
    """One request's lines: which were rejected (line by line), and the counts of the
    whole batch it was loaded in (new and duplicate are known per batch, not per line)."""

    lines: int
    problems: list[LineProblem]
    batch_id: int
    batch_requests: int
    batch: LoadCounts

    @property
    def rejected(self) -> int:
        return sum(1 for p in self.problems if p.disposition == "rejected")


def load_lines(
    store: Store,
    table: str,
    source: str,
    requests: list[list[str]],
    key: HashKey,
    phone_region: str = "GB",
) -> list[LinesResult]:
    """Load several requests' lines (of one table and source) as one batch, in one
    transaction; one result per request, problems numbered by the request's own lines.

    Rows are numbered across the batch, so a dead letter's row is its place in the batch
    recorded in ``ingest_batches`` (source ``http:NAME``)."""
    offsets, texts = [], []
    for lines in requests:
        offsets.append(len(texts))
        texts.extend(lines)
    batch_id = store.new_batch(table, source, "http")
    loader = BatchLoader(store, TABLES[table], source, batch_id, key, phone_region)
    data = pa.table(
        {LINE: pa.array(texts, pa.string()), ROW: pa.array(range(1, len(texts) + 1), pa.int64())}
    )
    try:
        counts = loader.load_in_transaction(RawBatch(layout="json", data=data, rows=len(texts)))
    except BaseException:
        store.finish_batch(batch_id, {}, "failed")
        raise
    store.finish_batch(batch_id, counts.as_dict())
    letters = store.con.execute(
        "SELECT row_no, field, reason, disposition FROM dead_letters "
        "WHERE last_batch = ? AND source = ? ORDER BY row_no",
        [batch_id, source],
    ).fetchall()
    results = []
    for lo, lines in zip(offsets, requests, strict=True):
        problems = [
            LineProblem(row - lo, name or "", reason, disposition)
            for row, name, reason, disposition in letters
            if lo < row <= lo + len(lines)
        ]
        results.append(LinesResult(len(lines), problems, batch_id, len(requests), counts))
    return results
