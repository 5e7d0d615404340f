"""The scope as files: ``scope.parquet``, ``scope.csv`` and ``summary.json``.

Counts are taken from the per-customer rows (never from alert evidence), so the summary
and the rows cannot disagree.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import msgspec
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from insiderwatch.contract.breach import FieldCount, ScopeRow, ScopeSummary
from insiderwatch.contract.records import FIELD_CATEGORIES
from insiderwatch.errors import InsiderwatchError, Location, UnreadableFileError
from insiderwatch.report.scope import SCOPE_SCHEMA, Scope

UNKNOWN = "unknown"  # jurisdiction of a customer the customer system did not place
LIST_SEPARATOR = ";"  # lists in CSV, as in the contract's CSV format
SCOPE_FILES = ("scope.parquet", "scope.csv", "summary.json")


def summarise(scope: Scope) -> ScopeSummary:
    con = duckdb.connect()
    con.register("rows", scope.rows)
    order = {f: i for i, f in enumerate(FIELD_CATEGORIES)}
    by_field = {
        f: FieldCount(viewed=v, taken_out=t)
        for f, v, t in sorted(
            con.execute(
                """SELECT f, count(*) FILTER (WHERE NOT list_contains(fields_taken_out, f)),
                          count(*) FILTER (WHERE list_contains(fields_taken_out, f))
                   FROM (SELECT unnest(fields) AS f, fields_taken_out FROM rows) GROUP BY f"""
            ).fetchall(),
            key=lambda r: order.get(r[0], len(order)),
        )
    }
    by_jurisdiction = {
        j: FieldCount(viewed=v, taken_out=t)
        for j, v, t in con.execute(
            f"""SELECT coalesce(nullif(jurisdiction, ''), '{UNKNOWN}') AS j,
                       count(*) FILTER (WHERE exposure = 'viewed'),
                       count(*) FILTER (WHERE exposure = 'taken_out')
                FROM rows GROUP BY j ORDER BY count(*) DESC, j"""
        ).fetchall()
    }
    by_channel = dict(
        con.execute(
            """SELECT c, count(DISTINCT customer_id) FROM
               (SELECT customer_id, unnest(channels) AS c FROM rows)
               GROUP BY c ORDER BY count(DISTINCT customer_id) DESC, c"""
        ).fetchall()
    )
    taken = int(con.execute("SELECT count(*) FROM rows WHERE exposure = 'taken_out'").fetchone()[0])
    q = scope.query
    return ScopeSummary(
        employees=q.employees,
        window_from=q.start,
        window_to=q.end,
        alert_id=q.alert_id,
        include_explained=q.include_explained,
        customers=scope.rows.num_rows,
        customers_taken_out=taken,
        customers_viewed_only=scope.rows.num_rows - taken,
        events=scope.events,
        events_explained_excluded=scope.explained_excluded,
        customers_explained_only=scope.explained_only_customers,
        events_never_explained=scope.never_explained,
        by_field=by_field,
        by_jurisdiction=by_jurisdiction,
        by_channel=by_channel,
        timeline=scope.timeline,
        leak=scope.leak,
        generated_at=scope.generated_at,
    )


def write_scope(scope: Scope, summary: ScopeSummary, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    parquet, csv_path, summary_path = (out / name for name in SCOPE_FILES)
    pq.write_table(scope.rows, parquet, compression="zstd")
    pacsv.write_csv(_flat(scope.rows), csv_path)
    summary_path.write_bytes(msgspec.json.format(msgspec.json.encode(summary), indent=2) + b"\n")
    return [parquet, csv_path, summary_path]


def _flat(rows: pa.Table) -> pa.Table:
    """Lists joined with ';' so that a spreadsheet shows them in one cell."""
    import pyarrow.compute as pc

    columns = [
        pc.binary_join(col, LIST_SEPARATOR) if pa.types.is_list(col.type) else col
        for col in rows.columns
    ]
    return pa.table(columns, names=rows.column_names)


def read_scope(folder: Path) -> tuple[list[ScopeRow], ScopeSummary]:
    """A scope written by ``write_scope`` (the input of notices and the regulator report)."""
    parquet, summary_path = folder / "scope.parquet", folder / "summary.json"
    for path in (parquet, summary_path):
        if not path.exists():
            raise UnreadableFileError(
                "no scope here: run `insiderwatch breach scope --out DIR` first",
                Location(str(path)),
            )
    try:
        table = pq.read_table(parquet, schema=SCOPE_SCHEMA)
        summary = msgspec.json.decode(summary_path.read_bytes(), type=ScopeSummary)
        rows = msgspec.convert(table.to_pylist(), list[ScopeRow])
    except (pa.ArrowInvalid, msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise InsiderwatchError(
            f"not a scope written by insiderwatch: {exc}", Location(str(folder))
        ) from None
    return rows, summary
