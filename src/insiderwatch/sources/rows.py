"""Contract-shaped batches built row by row by the log adapters.

Adapters that must look at each line (audit logs) collect plain values here and get a
``RawBatch`` the store's loader validates like any CSV file: every value as text, lists
joined with ``;`` (the contract's CSV form), and ``_row`` holding the source line number
so that a rejected event names its line. Keeping adapters on the same loader means
validation, dead letters and deduplication behave exactly as for dataset files.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa

from insiderwatch.contract import TABLES
from insiderwatch.sources.readers import ROW, RawBatch

STATEMENT = "statement_fingerprint"  # extra column: kept with the event, never the text


class RowBuffer:
    """Accumulates rows of one contract table (plus optional extra columns)."""

    def __init__(self, table: str = "access", extra: Iterable[str] = ()) -> None:
        self.names = [*TABLES[table].names, *extra]
        self._records: list[dict[str, str | None]] = []
        self._rows: list[int] = []
        self.malformed: list[tuple[int, str]] = []

    def __len__(self) -> int:
        return len(self._rows) + len(self.malformed)

    def add(self, line: int, values: dict[str, str | None]) -> None:
        """One record: text values by column (lists already joined with ``;``)."""
        self._records.append(values)
        self._rows.append(line)

    def reject(self, line: int, why: str) -> None:
        """A line that is not even an event. ``why`` describes it; the line itself is
        not kept, since audit lines carry statement text with personal data."""
        self.malformed.append((line, why))

    def flush(self) -> RawBatch:
        data = {n: pa.array([r.get(n) for r in self._records], pa.string()) for n in self.names}
        data[ROW] = pa.array(np.asarray(self._rows, dtype=np.int64))
        batch = RawBatch(
            layout="columns",
            data=pa.table(data),
            malformed=self.malformed,
            rows=len(self),
        )
        self._records, self._rows, self.malformed = [], [], []
        return batch
