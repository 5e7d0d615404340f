"""Lists of customer details kept as outside sources: earlier breaches, customers who
publish their own details, a partner's or processor's share.

A list is read exactly like a leak (``leak.read_leak``: the same cleaning, normalisation
and keyed hashing) and only its hashes are kept, so a customer ingested later still
matches it and no raw value is ever stored. Importing a list under a name it already
has replaces it, so re-importing never double counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.compute as pc

from insiderwatch.errors import InsiderwatchError
from insiderwatch.investigate.leak import check_readable, read_leak
from insiderwatch.privacy import HashKey
from insiderwatch.store.duckdb_store import Store

LIST_KINDS = ("breach", "public", "partner", "processor")
LIST_DDL = (
    """CREATE TABLE IF NOT EXISTS outside_lists (
  name VARCHAR PRIMARY KEY,
  kind VARCHAR NOT NULL,
  file VARCHAR NOT NULL,
  imported_at TIMESTAMPTZ NOT NULL,
  known_since TIMESTAMPTZ,
  rows_read BIGINT NOT NULL,
  rows_kept BIGINT NOT NULL,
  junk BIGINT NOT NULL,
  duplicates BIGINT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS outside_list_rows (
  name VARCHAR NOT NULL,
  email_hash VARCHAR,
  phone_hash VARCHAR
)""",
)


@dataclass(frozen=True)
class ImportedList:
    name: str
    kind: str
    file: str
    known_since: datetime | None
    rows_read: int
    rows_kept: int  # rows with an email or phone hash
    junk: int
    duplicates: int
    customers: int  # customers of the store it matches now


def has_lists(store: Store) -> bool:
    return store.has_table("outside_lists")


def import_list(
    store: Store,
    key: HashKey,
    path: Path,
    *,
    name: str,
    kind: str,
    known_since: datetime | None = None,
    phone_region: str = "GB",
) -> ImportedList:
    """Hash a list and keep it as the outside source ``name`` (replacing one of that name)."""
    if kind not in LIST_KINDS:
        raise InsiderwatchError(f"unknown kind {kind!r}: use one of {', '.join(LIST_KINDS)}")
    if not name.strip():
        raise InsiderwatchError("an outside list needs a name")
    reading = read_leak(path, key, phone_region)
    check_readable(reading)
    hashed = reading.rows.select(["email_hash", "phone_hash"])
    # Surname + postcode rows are not kept: without a hash they would have to be kept in clear.
    usable = hashed.filter(
        pc.or_(pc.is_valid(hashed["email_hash"]), pc.is_valid(hashed["phone_hash"]))
    )
    con = store.con
    for ddl in LIST_DDL:
        con.execute(ddl)
    con.register("_rows", usable)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM outside_list_rows WHERE name = ?", [name])
        con.execute("DELETE FROM outside_lists WHERE name = ?", [name])
        con.execute(
            "INSERT INTO outside_list_rows (name, email_hash, phone_hash) "
            "SELECT ?, email_hash, phone_hash FROM _rows",
            [name],
        )
        con.execute(
            "INSERT INTO outside_lists (name, kind, file, imported_at, known_since, rows_read, "
            "rows_kept, junk, duplicates) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [name, kind, path.name, datetime.now(UTC), known_since, reading.rows_read,
             usable.num_rows, reading.junk_rows, reading.duplicates],
        )  # fmt: skip
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_rows")
    con.execute("COMMIT")
    return next(i for i in imported_lists(store) if i.name == name)


def members_sql(found_at_param: str | None) -> str:
    """(source, kind, customer_id) of every imported list known before the leak was found."""
    known = (
        f"AND (l.known_since IS NULL OR l.known_since < {found_at_param})" if found_at_param else ""
    )
    return f"""
        SELECT l.name AS source, l.kind, c.customer_id
        FROM outside_list_rows r JOIN outside_lists l USING (name)
        JOIN customers c ON c.email_hash = r.email_hash
        WHERE TRUE {known}
        UNION ALL
        SELECT l.name, l.kind, c.customer_id
        FROM outside_list_rows r JOIN outside_lists l USING (name)
        JOIN customers c ON c.phone_hash = r.phone_hash
        WHERE TRUE {known}
    """


def imported_lists(store: Store) -> list[ImportedList]:
    if not has_lists(store):
        return []
    rows = store.con.execute(
        f"""
        WITH m AS (SELECT source, count(DISTINCT customer_id) AS n FROM ({members_sql(None)})
                   GROUP BY 1)
        SELECT l.name, l.kind, l.file, l.known_since, l.rows_read, l.rows_kept, l.junk,
               l.duplicates, coalesce(m.n, 0)
        FROM outside_lists l LEFT JOIN m ON m.source = l.name ORDER BY l.name
        """
    ).fetchall()
    return [ImportedList(*row) for row in rows]
