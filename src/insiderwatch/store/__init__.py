"""The analytics store (DuckDB embedded) and the loader that fills it."""

from insiderwatch.store.duckdb_store import Store, open_store

__all__ = ["Store", "open_store"]
