"""Load the lines of collector requests into the store, with a result per line.

Queued requests of one table and source are loaded together through the application's
``ingest_records`` (the one ingest pipeline: validation, dedupe, dead letters) as one
batch and one transaction; the batch's per-line outcomes are then handed back to each
request, renumbered from its own first line.
"""

from __future__ import annotations

from dataclasses import dataclass

from insiderwatch.app.deployment import Deployment
from insiderwatch.app.ingest import ingest_records
from insiderwatch.contract.runs import BatchReport, LineResult
from insiderwatch.errors import InsiderwatchError
from insiderwatch.store.duckdb_store import Store


@dataclass(frozen=True)
class LinesResult:
    """One request's lines and the batch they were loaded in."""

    lines: list[LineResult]  # numbered from 1 within the request
    batch: BatchReport
    requests: int  # requests coalesced into the batch

    def count(self, status: str) -> int:
        return sum(1 for line in self.lines if line.status == status)


def load_lines(
    deployment: Deployment, store: Store, table: str, source: str, requests: list[list[str]]
) -> list[LinesResult]:
    """Load several requests' lines (of one table and source) as one batch; one result
    per request. Dead letters name the batch ``source/<hash of its lines>:line``."""
    texts = [line for lines in requests for line in lines]
    report = ingest_records(deployment, table, texts, source=source, store=store, sealed=False)
    if report.error:
        raise InsiderwatchError(
            f"the batch could not be loaded, nothing was stored: {report.error}"
        )
    results, first = [], 0
    for lines in requests:
        mine = [
            LineResult(line=r.line - first, status=r.status, reasons=r.reasons)
            for r in report.lines[first : first + len(lines)]
        ]
        results.append(LinesResult(mine, report, len(requests)))
        first += len(lines)
    return results
