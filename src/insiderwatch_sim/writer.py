"""Write a simulated company as a dataset folder (one file per table) and its truth."""

from __future__ import annotations

import gzip as gz
import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from insiderwatch.contract import LOAD_ORDER
from insiderwatch_sim.config import Company, TextOnlyRows
from insiderwatch_sim.kit import iso_z

FORMATS: tuple[str, ...] = ("parquet", "csv", "jsonl", "jsonl.gz")
CHUNK_ROWS = 250_000  # rows converted and written at a time


def write_dataset(company: Company, out_dir: Path, fmt: str = "parquet") -> list[Path]:
    """Write ``<table>.<fmt>`` for every table into ``out_dir``; returns the paths.

    CSV: list columns joined with ``;``, nulls as empty fields, times ISO 8601 with ``Z``.
    JSON Lines: one object per line, lists as arrays, times ISO 8601 with ``Z``, nulls as
    null. Broken rows that only text can carry (see :class:`TextOnlyRows`) go into the
    CSV and JSON Lines access files, never into Parquet.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in LOAD_ORDER:
        table = company.tables[name]
        path = out_dir / f"{name}.{fmt}"
        if fmt == "parquet":
            _write_parquet(table, path)
        else:
            extra = company.text_only_rows if name == "access" else None
            schema = _text_schema(table.schema, csv=fmt == "csv")
            batches = _text_batches(table, extra, schema, csv=fmt == "csv")
            if fmt == "csv":
                _write_csv(schema, batches, path)
            else:
                _write_jsonl(schema, batches, path, gzip=fmt.endswith(".gz"))
        written.append(path)
    return written


def write_truth(company: Company, path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(company.truth, indent=2, ensure_ascii=False) + "\n")


def _write_parquet(table: pa.Table, path: Path) -> None:
    with pq.ParquetWriter(path, table.schema, compression="zstd") as writer:
        for start in range(0, table.num_rows, CHUNK_ROWS):
            writer.write_table(table.slice(start, CHUNK_ROWS), row_group_size=CHUNK_ROWS)


def _text_schema(schema: pa.Schema, csv: bool) -> pa.Schema:
    """Times become ISO strings; CSV also flattens lists into ``;``-joined strings."""
    fields = []
    for f in schema:
        typ = f.type
        if pa.types.is_timestamp(typ) or (csv and pa.types.is_list(typ)):
            typ = pa.string()
        fields.append(pa.field(f.name, typ))  # nullable: text rows may miss anything
    return pa.schema(fields)


def _as_text(table: pa.Table, schema: pa.Schema, csv: bool) -> pa.Table:
    columns = []
    for f in schema:
        col = table[f.name]
        if pa.types.is_timestamp(col.type):
            col = iso_z(col)
        elif pa.types.is_list(col.type) and csv:
            col = pc.binary_join(col, ";")
        if csv and pa.types.is_string(col.type):
            # An empty value is written as an empty field, not as a quoted "".
            col = pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)
        columns.append(col)
    return pa.Table.from_arrays(columns, schema=schema)


def _text_batches(
    table: pa.Table, extra: TextOnlyRows | None, schema: pa.Schema, csv: bool
) -> Iterator[pa.RecordBatch]:
    """The table as text-ready batches, with any text-only rows slotted in place."""
    n = table.num_rows
    for start in range(0, n, CHUNK_ROWS):
        stop = min(start + CHUNK_ROWS, n)
        chunk = _as_text(table.slice(start, stop - start), schema, csv)
        if extra is not None:
            pos = extra.positions
            here = np.flatnonzero((pos >= start) & ((pos < stop) | (stop == n)))
            if len(here):
                rows = _as_text(extra.table.take(pa.array(here)), schema, csv)
                # Row p of the table sorts at 2p + 1; a text-only row placed before p at 2p.
                keys = np.concatenate([2 * np.arange(start, stop) + 1, 2 * pos[here]])
                chunk = pa.concat_tables([chunk, rows]).take(
                    pa.array(np.argsort(keys, kind="stable"))
                )
        yield from chunk.to_batches()


def _write_csv(schema: pa.Schema, batches: Iterator[pa.RecordBatch], path: Path) -> None:
    options = pacsv.WriteOptions(include_header=True, quoting_style="needed")
    with pacsv.CSVWriter(path, schema, write_options=options) as writer:
        for batch in batches:
            writer.write_batch(batch)


def _write_jsonl(
    schema: pa.Schema, batches: Iterator[pa.RecordBatch], path: Path, gzip: bool
) -> None:
    # pyarrow has no JSON writer. DuckDB renders each batch as JSON text (escaping strings
    # properly) and the lines are written as one buffer per batch: no Python object per row.
    # gzip level 3 compresses nearly as well as the default at about three times the speed.
    with (
        duckdb.connect(":memory:") as con,
        open(path, "wb") as raw,
        gz.GzipFile(fileobj=raw, mode="wb", compresslevel=3, mtime=0) if gzip else raw as out,
    ):
        for batch in batches:
            con.register("simulated_rows", pa.Table.from_batches([batch], schema=schema))
            lines = con.sql("SELECT to_json(r) FROM simulated_rows r").to_arrow_table()
            con.unregister("simulated_rows")
            out.write(_joined_lines(lines.column(0).combine_chunks()))


def _joined_lines(lines: pa.Array) -> memoryview:
    """All strings of ``lines``, each followed by a newline, as one contiguous buffer."""
    text = pc.binary_join_element_wise(lines, "\n", "").cast(pa.large_string())
    _, offsets, data = text.buffers()
    ends = np.frombuffer(offsets, dtype=np.int64, count=len(text) + 1, offset=text.offset * 8)
    return memoryview(data)[ends[0] : ends[-1]]
