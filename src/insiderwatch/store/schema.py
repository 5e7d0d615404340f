"""The analytics store's tables, generated from the contract so they cannot drift.

Context tables are keyed DuckDB tables (re-ingest updates a row in place). Events are
append-only and by far the largest: they are kept as Parquet segments owned by the store
(listed in ``event_segments``) and exposed as the ``access`` view. Writing Parquet is
several times faster than DuckDB's own compressed storage on a small machine, and the
same segments can be read by a cluster engine without an export. Uniqueness of
``event_id`` is enforced by the loader with an anti-join rather than an index.
"""

from __future__ import annotations

from insiderwatch.contract import LOAD_ORDER, TABLES, ColumnSpec, TableSpec

SCHEMA_VERSION = "1"

SQL_TYPES: dict[str, str] = {
    "str": "VARCHAR",
    "int": "BIGINT",
    "bool": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
    "list": "VARCHAR[]",
}

# Tables whose rows are events (append-only, deduplicated by key) rather than context
# (upserted by key).
EVENT_TABLES = frozenset({"access"})

# What every ingest batch counts; the same names are columns of ingest_batches.
COUNTERS = ("rows_read", "loaded", "updated", "duplicates", "rejected", "fields_dropped")


def sql_type(col: ColumnSpec) -> str:
    return "VARCHAR" if col.pii else SQL_TYPES[col.kind]


def stored_columns(spec: TableSpec) -> list[tuple[str, str]]:
    """(name, SQL type) of the table as stored, with the ingest batch that wrote the row."""
    return [(c.stored_name, sql_type(c)) for c in spec.columns] + [("batch_id", "BIGINT")]


def empty_select(spec: TableSpec) -> str:
    """A typed, empty SELECT with the stored columns (the view over zero segments)."""
    cols = ", ".join(f"CAST(NULL AS {typ}) AS {name}" for name, typ in stored_columns(spec))
    return f"SELECT {cols} WHERE FALSE"


def table_ddl(spec: TableSpec) -> str:
    cols = [
        f"{c.stored_name} {sql_type(c)}{' NOT NULL' if c.required else ''}" for c in spec.columns
    ]
    cols.append("batch_id BIGINT NOT NULL")
    if spec.name not in EVENT_TABLES:
        cols.append(f"PRIMARY KEY ({', '.join(spec.key)})")
    return f"CREATE TABLE IF NOT EXISTS {spec.name} (\n  " + ",\n  ".join(cols) + "\n)"


BOOKKEEPING_DDL = (
    "CREATE TABLE IF NOT EXISTS store_meta (key VARCHAR PRIMARY KEY, value VARCHAR)",
    "CREATE SEQUENCE IF NOT EXISTS batch_seq START 1",
    """CREATE TABLE IF NOT EXISTS ingest_batches (
  batch_id BIGINT PRIMARY KEY,
  table_name VARCHAR NOT NULL,
  source VARCHAR NOT NULL,
  format VARCHAR NOT NULL,
  started_at TIMESTAMPTZ NOT NULL,
  finished_at TIMESTAMPTZ,
  rows_read BIGINT DEFAULT 0,
  loaded BIGINT DEFAULT 0,
  updated BIGINT DEFAULT 0,
  duplicates BIGINT DEFAULT 0,
  rejected BIGINT DEFAULT 0,
  fields_dropped BIGINT DEFAULT 0,
  status VARCHAR NOT NULL
)""",
    # One row per bad record (or dropped field). letter_id fingerprints table, source, row
    # and content, so re-ingesting the same bad file updates the letter instead of adding one.
    """CREATE TABLE IF NOT EXISTS dead_letters (
  letter_id VARCHAR PRIMARY KEY,
  table_name VARCHAR NOT NULL,
  source VARCHAR NOT NULL,
  row_no BIGINT,
  field VARCHAR,
  reason VARCHAR NOT NULL,
  problems VARCHAR[],
  disposition VARCHAR NOT NULL,
  record_key VARCHAR,
  record VARCHAR,
  first_batch BIGINT NOT NULL,
  last_batch BIGINT NOT NULL,
  resolved_batch BIGINT
)""",
    # Parquet files holding events; paths are relative to the store's folder so the
    # store can be moved or copied as a whole.
    """CREATE TABLE IF NOT EXISTS event_segments (
  path VARCHAR PRIMARY KEY,
  table_name VARCHAR NOT NULL,
  batch_id BIGINT NOT NULL,
  rows BIGINT NOT NULL,
  bytes BIGINT NOT NULL,
  min_time TIMESTAMPTZ,
  max_time TIMESTAMPTZ
)""",
    # How far each followed log has been read (issue 5): a position is reused only while
    # the file still has its first line and the bytes before the offset (position_check).
    """CREATE TABLE IF NOT EXISTS source_offsets (
  source VARCHAR PRIMARY KEY,
  kind VARCHAR NOT NULL,
  identity VARCHAR NOT NULL,
  byte_offset BIGINT NOT NULL,
  line BIGINT NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL
)""",
    # Positions saved before the check existed have none, and are trusted as before.
    "ALTER TABLE source_offsets ADD COLUMN IF NOT EXISTS position_check VARCHAR",
    # SQL statements behind database-audit events, without their literals (which hold
    # personal data): one row per shape, and which event ran which shape.
    """CREATE TABLE IF NOT EXISTS statement_fingerprints (
  fingerprint VARCHAR PRIMARY KEY,
  kind VARCHAR NOT NULL,
  statement VARCHAR NOT NULL
)""",
    # No primary key: an index costs ten times the insert; the loader's anti-join keeps
    # one row per event.
    """CREATE TABLE IF NOT EXISTS event_statements (
  event_id VARCHAR NOT NULL,
  fingerprint VARCHAR NOT NULL
)""",
)


def all_ddl() -> list[str]:
    context = [table_ddl(TABLES[n]) for n in LOAD_ORDER if n not in EVENT_TABLES]
    return [*BOOKKEEPING_DDL, *context]
