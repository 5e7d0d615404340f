"""The embedded analytics store: one DuckDB file.

Ingest writes through this connection with engine SQL; analytical queries (stats,
timelines, and later detection) go through ``Store.ibis`` so the same code can run on
another Ibis backend.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from insiderwatch.contract import CONTRACT_VERSION, TABLES
from insiderwatch.errors import ConfigError, InsiderwatchError
from insiderwatch.privacy import HashKey
from insiderwatch.store.schema import COUNTERS, EVENT_TABLES, SCHEMA_VERSION, all_ddl, empty_select
from insiderwatch.store.validate import TimeWindow

# The WAL size at which DuckDB checkpoints in a commit once checkpoints are deferred: a
# safety net only, as the writer checkpoints long before.
DEFERRED_CHECKPOINT = "1GB"
# The store_meta key of the hashing key's fingerprint (see bind_key).
FINGERPRINT_META = "hash_key_fingerprint"
# Rows per Parquet row group of an event segment. A scan skips the row groups whose time
# statistics miss its time filter, so a statement that reads one day decodes about that
# day's rows, not the whole segment (pyarrow's default put a 500,000-event ingest chunk in
# one row group). Measured in docs/serve.md ("Speed").
SEGMENT_ROW_GROUP = 32_768


class Store:
    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = True,
        read_only: bool = False,
        memory_limit: str = "1GB",
        threads: int = 0,
        time_window: TimeWindow = TimeWindow(),
    ) -> None:
        # Absolute, so the view's segment paths work from any working directory.
        self.path = Path(path).resolve()
        self.time_window = time_window
        self.read_only = read_only
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
        # Contract times are UTC: a time without offset is UTC and event days are UTC
        # days, whatever the host's local zone.
        self.con.execute("SET TimeZone = 'UTC'")
        self.aborted: list[int] = []  # batches found interrupted by an earlier run
        if not read_only:
            self._migrate()
            self._recover_interrupted()
        self.refresh_views()
        self._ibis = None

    # -- lifecycle ------------------------------------------------------------------
    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def defer_checkpoints(self) -> None:
        """Stop DuckDB checkpointing inside commits; the caller checkpoints itself
        (:meth:`checkpoint`). DuckDB checkpoints in a commit once it judges the WAL and the
        transaction large enough, which a live step's commit reached every second or
        third step (a few hundred ms each, the step's largest single cost); a
        long-running writer checkpoints every few seconds between jobs instead, and the
        steps' repeated rewrites of the same day's rows are written out once."""
        self.con.execute(f"SET checkpoint_threshold = '{DEFERRED_CHECKPOINT}'")

    def checkpoint(self) -> None:
        """Write the WAL into the database file (and empty it)."""
        self.con.execute("CHECKPOINT")

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

    def _recover_interrupted(self) -> None:
        """DuckDB admits one writing process, so a batch still ``running`` when the store
        opens for writing was killed: it is marked ``aborted``, and segment files the
        catalog does not list (written by a transaction that never committed) are
        deleted. Nothing of such a batch was ever visible, so nothing else changes."""
        self.aborted = [
            r[0]
            for r in self.con.execute(
                "UPDATE ingest_batches SET status = 'aborted', finished_at = now() "
                "WHERE status = 'running' RETURNING batch_id"
            ).fetchall()
        ]
        listed = {p for (p,) in self.con.execute("SELECT path FROM event_segments").fetchall()}
        for table in EVENT_TABLES:
            for file in (self.segments_dir / table).glob("batch-*.parquet*"):
                if str(file.relative_to(self.path.parent)) not in listed:
                    file.unlink(missing_ok=True)

    def reader(self) -> Store:
        """A second handle on the same database for another thread: its own DuckDB cursor
        (reads see committed data, never the writer's open transaction), closed with
        ``close()``. One process can hold only one read-write DuckDB connection, so a
        service keeps this one for its single writer and gives each reader a cursor."""
        view = object.__new__(Store)
        view.path, view.time_window, view.read_only = self.path, self.time_window, True
        view.con = self.con.cursor()
        view.con.execute("SET TimeZone = 'UTC'")
        view.aborted, view._ibis = [], None
        return view

    # -- event segments -------------------------------------------------------------
    @property
    def segments_dir(self) -> Path:
        """Folder of the Parquet event segments, beside the database file (named after the
        whole file name, so `x.duckdb` and `x.db` never share one)."""
        return self.path.parent / f"{self.path.name}.segments"

    def segment_files(self, table: str = "access") -> list[Path]:
        rows = self.con.execute(
            "SELECT path FROM event_segments WHERE table_name = ? ORDER BY min_time, path", [table]
        ).fetchall()
        return [self.path.parent / p for (p,) in rows]

    def refresh_views(self) -> None:
        """(Re)define each event view over exactly the segments in the catalog.

        Listing files explicitly (not a glob) means a half-written or orphaned file is
        never read, and the store folder can move since paths are resolved on open.
        """
        for table in EVENT_TABLES:
            files = self.segment_files(table)
            if files:
                listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
                body = f"SELECT * FROM read_parquet([{listed}])"
            else:
                body = empty_select(TABLES[table])
            # A persistent view lets other DuckDB tools read the store; a read-only
            # connection gets a temporary one with the same definition.
            kind = "TEMP VIEW" if self.read_only else "VIEW"
            self.con.execute(f"CREATE OR REPLACE {kind} {table} AS {body}")

    def add_segment(self, table: str, data: pa.Table, batch_id: int) -> Path:
        """Write events as a new Parquet segment and register it (inside the caller's
        transaction: if that rolls back, the file is an orphan nobody reads)."""
        folder = self.segments_dir / table
        folder.mkdir(parents=True, exist_ok=True)
        n = self.scalar("SELECT count(*) FROM event_segments WHERE batch_id = ?", [batch_id])
        final = folder / f"batch-{batch_id:06d}-{n:04d}.parquet"
        if final.exists():
            raise InsiderwatchError(f"{final} already exists: another store shares this folder?")
        partial = final.with_suffix(".parquet.partial")
        # Unique ids gain nothing from dictionary encoding and it costs a third of the write.
        dictionary = [n for n in data.column_names if n not in ("event_id", "customer_ids")]
        # A list column is encoded by its leaf: without "fields.list.element" the field
        # categories were written plain, and every scan filtering on them read 2x more.
        dictionary += [f"{n}.list.element" for n in dictionary if pa.types.is_list(data[n].type)]
        write_segment(
            data, partial, compression="zstd", compression_level=1, use_dictionary=dictionary
        )
        os.replace(partial, final)
        times = data.column("time")
        self.con.execute(
            "INSERT INTO event_segments VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                str(final.relative_to(self.path.parent)),
                table,
                batch_id,
                data.num_rows,
                final.stat().st_size,
                pc.min(times).as_py(),
                pc.max(times).as_py(),
            ],
        )
        return final

    # -- metadata -------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        rows = self.con.execute("SELECT value FROM store_meta WHERE key = ?", [key]).fetchall()
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO store_meta VALUES (?, ?)", [key, value])

    def bind_key(self, key: HashKey) -> None:
        """Remember which hashing key this store uses; refuse a different one.

        Hashes made with another key never match, so mixing keys would silently break
        leak matching and relationship checks.
        """
        self.check_key(key)
        if self.meta(FINGERPRINT_META) is None:
            self.set_meta(FINGERPRINT_META, key.fingerprint)

    def check_key(self, key: HashKey, *, known: str | None = None) -> None:
        """Refuse a key other than the one the store was hashed with (if it has one).
        ``known``: the stored fingerprint when the caller has read it."""
        known = known or self.meta(FINGERPRINT_META)
        if known is not None and known != key.fingerprint:
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

    def has_table(self, name: str) -> bool:
        """Whether a table exists (later stages create theirs on first use; a read-only
        store cannot)."""
        return bool(
            self.scalar("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name])
        )

    def scalar(self, sql: str, params: list | None = None) -> Any:
        # fetchall, not fetchone: DuckDB keeps a result "unfinished" until drained.
        rows = self.con.execute(sql, params or []).fetchall()
        return rows[0][0] if rows else None

    def new_batch(self, table: str, source: str, fmt: str) -> int:
        batch_id = self.scalar("SELECT nextval('batch_seq')")
        self.con.execute(
            "INSERT INTO ingest_batches (batch_id, table_name, source, format, started_at, status) "
            "VALUES (?, ?, ?, ?, now(), 'running')",
            [batch_id, table, source, fmt],
        )
        return int(batch_id)

    def finish_batch(self, batch_id: int, counts: dict[str, int], status: str = "done") -> None:
        cols = COUNTERS
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
        time_window=TimeWindow(
            date.fromisoformat(str(settings.time_earliest)), settings.time_days_ahead
        ),
    )


def in_time_order(data: pa.Table) -> pa.Table:
    """The events sorted by time (stably: events of the same time keep their order), or
    ``data`` itself when they already are. The loader's batch after the first of a file
    comes back from its join with the stored events as interleaved runs (16 in a replay's
    ingest), each over the whole batch's time: only a sort makes its row groups short."""
    times = data.column("time")
    if (
        data.num_rows < 2
        or pc.all(pc.less_equal(times.slice(0, data.num_rows - 1), times.slice(1))).as_py()
    ):
        return data
    # Taken from whole columns: a take across the chunks a query returns cost 3x more.
    return data.combine_chunks().take(pc.sort_indices(times))


def write_segment(data: pa.Table, path: Path, **options: Any) -> None:
    """Write events as one Parquet segment, in time order and in row groups of
    ``SEGMENT_ROW_GROUP`` rows, so each row group's time statistics span a short stretch
    of time that a scan filtering on time can skip; ``options`` go to ``pq.write_table``."""
    pq.write_table(in_time_order(data), path, row_group_size=SEGMENT_ROW_GROUP, **options)
