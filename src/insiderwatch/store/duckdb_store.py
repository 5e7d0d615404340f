"""The embedded analytics store: one DuckDB file.

Ingest writes through this connection with engine SQL; analytical queries (stats,
timelines, and later detection) go through ``Store.ibis`` so the same code can run on
another Ibis backend.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from insiderwatch.contract import CONTRACT_VERSION
from insiderwatch.errors import ConfigError, InsiderwatchError
from insiderwatch.privacy import HashKey
from insiderwatch.store.schema import SCHEMA_VERSION, all_ddl


class Store:
    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = True,
        read_only: bool = False,
        memory_limit: str = "1GB",
        threads: int = 0,
    ) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise InsiderwatchError(
                f"no store at {self.path}: run `insiderwatch ingest DATASET --db {self.path}` first"
            )
        self.path.parent.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {
            "memory_limit": memory_limit,
            # Spill next to the store rather than in the OS temp dir, which may be small.
            "temp_directory": str(self.path.with_name(self.path.name + ".tmp")),
        }
        if threads:
            config["threads"] = threads
        try:
            self.con = duckdb.connect(str(self.path), read_only=read_only, config=config)
        except duckdb.Error as exc:
            raise InsiderwatchError(f"cannot open store {self.path}: {exc}") from None
        if not read_only:
            self._migrate()
        self._ibis = None

    # -- lifecycle ------------------------------------------------------------------
    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def _migrate(self) -> None:
        for ddl in all_ddl():
            self.con.execute(ddl)
        version = self.meta("schema_version")
        if version is None:
            self.set_meta("schema_version", SCHEMA_VERSION)
            self.set_meta("contract_version", CONTRACT_VERSION)
            self.set_meta("created_at", datetime.now(UTC).isoformat())
        elif version != SCHEMA_VERSION:
            raise InsiderwatchError(
                f"store {self.path} has schema version {version}; this insiderwatch expects "
                f"{SCHEMA_VERSION}"
            )

    # -- metadata -------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        row = self.con.execute("SELECT value FROM store_meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO store_meta VALUES (?, ?)", [key, value])

    def bind_key(self, key: HashKey) -> None:
        """Remember which hashing key this store uses; refuse a different one.

        Hashes made with another key never match, so mixing keys would silently break
        leak matching and relationship checks.
        """
        known = self.meta("hash_key_fingerprint")
        if known is None:
            self.set_meta("hash_key_fingerprint", key.fingerprint)
        elif known != key.fingerprint:
            raise ConfigError(
                f"store {self.path} was hashed with key {known}, but the configured key is "
                f"{key.fingerprint}: point secret_file/hash_key at the original key"
            )

    # -- queries --------------------------------------------------------------------
    @property
    def ibis(self):
        """Ibis backend over the same connection, for portable analytical queries."""
        if self._ibis is None:
            import ibis

            self._ibis = ibis.duckdb.from_connection(self.con)
        return self._ibis

    def scalar(self, sql: str, params: list | None = None) -> Any:
        row = self.con.execute(sql, params or []).fetchone()
        return row[0] if row else None

    def new_batch(self, table: str, source: str, fmt: str) -> int:
        batch_id = self.scalar("SELECT nextval('batch_seq')")
        self.con.execute(
            "INSERT INTO ingest_batches (batch_id, table_name, source, format, started_at, status) "
            "VALUES (?, ?, ?, ?, now(), 'running')",
            [batch_id, table, source, fmt],
        )
        return int(batch_id)

    def finish_batch(self, batch_id: int, counts: dict[str, int], status: str = "done") -> None:
        cols = ("rows_read", "loaded", "updated", "duplicates", "rejected", "fields_dropped")
        self.con.execute(
            f"UPDATE ingest_batches SET {', '.join(f'{c} = ?' for c in cols)}, "
            "finished_at = now(), status = ? WHERE batch_id = ?",
            [*(int(counts.get(c, 0)) for c in cols), status, batch_id],
        )


def open_store(settings, *, create: bool = True, read_only: bool = False) -> Store:
    return Store(
        settings.db,
        create=create,
        read_only=read_only,
        memory_limit=settings.memory_limit,
        threads=settings.threads,
    )
