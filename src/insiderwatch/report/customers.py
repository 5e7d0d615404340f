"""The company's customer system: names, addresses, emails and where customers live.

The store keeps only keyed hashes of contact details, so notices get them from the
system of record at the moment they are written, through an adapter the company points
at its own data: an export file (CSV, JSON Lines, Parquet) or a SQL query over any
SQLAlchemy URL. Rows are fetched for the customers in scope only, held in memory, and
never written to the store or a log.

Adapters are plug-ins in the ``customer_systems`` registry (entry points
``insiderwatch.customer_systems``); the first whose ``accepts`` says yes reads the spec.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Protocol

import duckdb
import pyarrow as pa

from insiderwatch.errors import InsiderwatchError, Location, UnreadableFileError
from insiderwatch.registry import Registry

# What a notice can use; only customer_id is required. country is ISO 3166-1 alpha-2,
# region a subdivision ("CO" or "US-CO"), locale a language ("de", "fr-CA").
CONTACT_COLUMNS = ("customer_id", "name", "email", "address", "country", "region", "locale")
DEFAULT_QUERY = "SELECT * FROM customers"


class CustomerSystem(Protocol):
    kind: ClassVar[str]

    @classmethod
    def accepts(cls, spec: str) -> bool: ...

    def __init__(self, spec: str, query: str | None = None) -> None: ...

    def fetch(self, customer_ids: list[str]) -> pa.Table:
        """Rows of these customers with the columns of CONTACT_COLUMNS it has."""
        ...


class FileCustomers:
    """An export of the customer system: CSV, JSON Lines or Parquet."""

    kind = "file"
    READERS: ClassVar[dict[str, str]] = {
        ".csv": "read_csv", ".tsv": "read_csv", ".jsonl": "read_json", ".ndjson": "read_json",
        ".json": "read_json", ".parquet": "read_parquet",
    }  # fmt: skip

    @classmethod
    def accepts(cls, spec: str) -> bool:
        return "://" not in spec

    def __init__(self, spec: str, query: str | None = None) -> None:
        self.path = Path(spec)
        reader = self.READERS.get(self.path.suffix.lower())
        if reader is None:
            raise UnreadableFileError(
                f"customer export must be one of {', '.join(self.READERS)}", Location(spec)
            )
        if not self.path.is_file():
            raise UnreadableFileError("no such file", Location(spec))
        self.reader = reader

    def fetch(self, customer_ids: list[str]) -> pa.Table:
        con = duckdb.connect()
        # All columns as text: an id such as 00042 must not become the number 42.
        typed = ", all_varchar = true" if self.reader == "read_csv" else ""
        export = f"{self.reader}($path{typed})"
        try:
            head = con.execute(f"SELECT * FROM {export} LIMIT 0", {"path": str(self.path)})
            _require_id(head.description, str(self.path))
            return con.sql(
                f"SELECT * FROM {export} WHERE list_contains($ids, CAST(customer_id AS VARCHAR))",
                params={"path": str(self.path), "ids": customer_ids},
            ).to_arrow_table()
        except duckdb.Error as exc:
            raise UnreadableFileError(f"cannot read: {exc}", Location(str(self.path))) from None
        finally:
            con.close()


class SqlCustomers:
    """A query over the customer database, through a SQLAlchemy URL (any DB-API driver
    the company has installed: PostgreSQL, MySQL, SQL Server, SQLite ...)."""

    kind = "sql"

    @classmethod
    def accepts(cls, spec: str) -> bool:
        return "://" in spec

    def __init__(self, spec: str, query: str | None = None) -> None:
        self.url = spec
        self.query = (query or DEFAULT_QUERY).strip().rstrip(";")

    def fetch(self, customer_ids: list[str]) -> pa.Table:
        import sqlalchemy as sa

        # The company's query wrapped, so that only customers in scope leave the database.
        stmt = sa.text(f"SELECT * FROM ({self.query}) AS q WHERE q.customer_id IN :ids").bindparams(
            sa.bindparam("ids", expanding=True)
        )
        try:
            engine = sa.create_engine(self.url)
        except (sa.exc.ArgumentError, ImportError) as exc:
            raise InsiderwatchError(f"customer system URL not usable: {exc}") from None
        rows: list[dict] = []
        try:
            with engine.connect() as conn:
                for start in range(0, len(customer_ids), 10_000):
                    chunk = customer_ids[start : start + 10_000]
                    result = conn.execute(stmt, {"ids": chunk})
                    _require_id([(k,) for k in result.keys()], _redacted(self.url))  # noqa: SIM118
                    rows.extend(dict(r._mapping) for r in result)
        except sa.exc.SQLAlchemyError as exc:
            raise InsiderwatchError(
                f"customer system query failed ({_redacted(self.url)}): {exc.orig or exc}"
            ) from None
        finally:
            engine.dispose()
        return pa.Table.from_pylist([{k: _text(v) for k, v in r.items()} for r in rows])


CUSTOMER_SYSTEMS: Registry[type[CustomerSystem]] = Registry("customer_systems")


def open_customer_system(spec: str, query: str | None = None) -> CustomerSystem:
    for _name, kind in CUSTOMER_SYSTEMS:
        if kind.accepts(spec):
            return kind(spec, query)
    raise InsiderwatchError(f"no customer system adapter reads {spec!r}")


def contacts(system: CustomerSystem, customer_ids: list[str]) -> pa.Table:
    """The customers' contact rows with every column of CONTACT_COLUMNS (text, '' when the
    system has none) and their ``jurisdiction``; customers it does not know are absent."""
    raw = system.fetch(customer_ids) if customer_ids else pa.table({"customer_id": []})
    con = duckdb.connect()
    con.register("raw", raw)
    have = set(raw.column_names)
    cols = ", ".join(
        f"coalesce(CAST({c} AS VARCHAR), '') AS {c}" if c in have else f"'' AS {c}"
        for c in CONTACT_COLUMNS
    )
    # A subdivision given alone ("CO") belongs to the row's country ("US-CO").
    table = con.sql(
        f"""SELECT *, CASE
              WHEN region = '' THEN upper(country)
              WHEN contains(region, '-') THEN upper(region)
              WHEN country = '' THEN ''
              ELSE upper(country) || '-' || upper(region) END AS jurisdiction
            FROM (SELECT DISTINCT ON (customer_id) {cols} FROM raw ORDER BY customer_id)"""
    ).to_arrow_table()
    con.close()
    return table


def _require_id(description, where: str) -> None:
    if "customer_id" not in {d[0] for d in description}:
        raise UnreadableFileError("the customer system has no customer_id column",
                                  Location(where, field="customer_id"))  # fmt: skip


def _redacted(url: str) -> str:
    """The URL without its password, for messages."""
    import sqlalchemy as sa

    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return "<unparsable url>"


def _text(value: object) -> str | None:
    return None if value is None else str(value)
