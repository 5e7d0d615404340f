"""Event segments as written: in time order, in row groups whose time statistics let a
scan filtering on a day skip the other days' rows."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from insiderwatch.contract import TABLES
from insiderwatch.store import duckdb_store
from insiderwatch.store.duckdb_store import SEGMENT_ROW_GROUP

START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
DAYS = 8


def events(n: int, seed: int = 7) -> pa.Table:
    """``n`` access events over ``DAYS`` days, listed employee by employee (not in time
    order, as a source that exports per person would send them); every other column a
    null or a constant of its type."""
    rng = np.random.default_rng(seed)
    offsets = np.sort(rng.integers(0, DAYS * 86_400_000, n))
    employee = rng.integers(0, 50, n)
    order = np.lexsort((offsets, employee))  # by employee, then time
    times = [START + dt.timedelta(milliseconds=int(offsets[i])) for i in order]
    columns = {}
    for field in TABLES["access"].stored_arrow_schema():
        if field.name == "event_id":
            values = pa.array([f"ev{i:07d}" for i in order], field.type)
        elif field.name == "time":
            values = pa.array(times, field.type)
        elif field.name == "employee_id":
            values = pa.array([f"e{employee[i]}" for i in order], field.type)
        elif field.nullable:
            values = pa.nulls(n, field.type)
        else:
            values = pa.array([_filler(field.type)] * n, field.type)
        columns[field.name] = values
    table = pa.table(columns)
    return table.append_column("batch_id", pa.array(np.full(n, 1)))


def _filler(typ: pa.DataType):
    if pa.types.is_list(typ):
        return []
    if pa.types.is_timestamp(typ):
        return START
    if pa.types.is_boolean(typ):
        return False
    if pa.types.is_integer(typ) or pa.types.is_floating(typ):
        return 0
    return "x"


def test_a_segment_of_several_days_is_written_in_time_ordered_row_groups(store):
    data = events(4 * SEGMENT_ROW_GROUP + 123)
    path = store.add_segment("access", data, batch_id=1)
    meta = pq.ParquetFile(path).metadata
    assert meta.num_rows == data.num_rows
    assert meta.num_row_groups == 5
    column = [meta.schema.column(i).name for i in range(meta.num_columns)].index("time")
    spans = [
        (meta.row_group(g).column(column).statistics.min,
         meta.row_group(g).column(column).statistics.max)
        for g in range(meta.num_row_groups)
    ]  # fmt: skip
    # Each row group covers a stretch of time no other one overlaps: a one-day filter
    # meets at most the row groups of its own day (and one either side).
    assert all(hi <= lo for (_, hi), (lo, _) in zip(spans, spans[1:], strict=False))
    assert all(hi - lo < dt.timedelta(days=DAYS / 2) for lo, hi in spans)
    day = (START + dt.timedelta(days=3), START + dt.timedelta(days=4))
    assert sum(1 for lo, hi in spans if lo < day[1] and hi >= day[0]) <= 2
    # The same events, sorted by time only: nothing else moved.
    store.refresh_views()
    stored = store.con.sql("SELECT * FROM access ORDER BY event_id").to_arrow_table()
    assert stored.equals(data.sort_by("event_id").cast(stored.schema))


def test_events_of_the_same_time_keep_their_order():
    data = pa.table(
        {
            "time": pa.array([START, START - dt.timedelta(seconds=1), START, START]),
            "event_id": ["a", "b", "c", "d"],
        }
    )
    assert duckdb_store.in_time_order(data)["event_id"].to_pylist() == ["b", "a", "c", "d"]
    ordered = data.slice(1)
    assert duckdb_store.in_time_order(ordered) is ordered


@pytest.mark.parametrize("runs", [1, 2, 7, 40])
@pytest.mark.parametrize("apart", [True, False])
def test_runs_in_time_order_come_out_as_a_stable_sort(runs, apart):
    """Runs in time order, each over its own stretch of time or interleaved (as the
    loader's join returns a batch), come out in the order a stable sort gives."""
    rng = np.random.default_rng(runs)
    stretch = rng.permutation(runs)
    pieces = []
    for k in stretch:
        size = int(rng.integers(1, 30))
        base = int(k) * 1_000 if apart else 0
        pieces.append(np.sort(base + rng.integers(0, 1_000 if apart else 50, size)))
    seconds = np.concatenate(pieces)
    data = pa.table(
        {
            "time": pa.array([START + dt.timedelta(seconds=int(x)) for x in seconds]),
            "row": np.arange(len(seconds)),
        }
    )
    data = pa.concat_tables([data.slice(0, 5), data.slice(5)])  # two chunks, as a query's
    expected = np.argsort(seconds, kind="stable").tolist()
    assert duckdb_store.in_time_order(data)["row"].to_pylist() == expected
