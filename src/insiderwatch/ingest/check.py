"""Try a mapping on a sample of a log before ingesting it: nothing is stored."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import duckdb

from insiderwatch.contract import TABLES
from insiderwatch.sources.follow import LineReader, file_identity
from insiderwatch.sources.kinds import SourceOptions
from insiderwatch.sources.mapped import MappedSource
from insiderwatch.sources.readers import ROW
from insiderwatch.store.validate import TEXT, staged_select


def check_mapping(mapping: Path, sample: Path, limit: int = 20) -> dict:
    """Map the first ``limit`` records of ``sample``: the records as mapped, per column
    what could not be mapped, and the contract's problems (without roster checks)."""
    source = MappedSource(SourceOptions(mapping=mapping, batch_rows=limit))
    with LineReader(sample) as reader:
        source.identity = file_identity(sample)
        chunk = next(source.chunks(reader), None)
    if chunk is None:
        return {"records": [], "fields": {}, "malformed": [], "problems": {}}
    table, malformed = chunk
    table = table.slice(0, limit)  # a JSON chunk is a whole block of lines
    fields = source.diagnose(table)
    batch = source.map_batch(table, malformed)
    con = duckdb.connect()
    con.register("_mapped", batch.data)
    spec = TABLES[source.table or "access"]
    types = {name: TEXT for name in batch.data.column_names if name != ROW}
    staged = con.sql(staged_select(spec, "_mapped", types)).to_arrow_table()
    problems = Counter(p for row in staged["_problems"].to_pylist() for p in row)
    records = batch.data.drop_columns([ROW]).to_pylist()
    return {
        "records": records,
        "fields": fields,
        "malformed": batch.malformed,
        "problems": dict(problems),
    }
