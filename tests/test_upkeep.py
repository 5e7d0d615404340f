"""The writer's upkeep duties: the checkpointer takes checkpoints out of commits."""

from __future__ import annotations

import time

from insiderwatch.app.upkeep import Checkpointer
from insiderwatch.store import Store


def wal_bytes(store: Store) -> int:
    wal = store.path.with_name(store.path.name + ".wal")
    return wal.stat().st_size if wal.exists() else 0


def write(store: Store, n: int) -> None:
    store.con.execute(f"CREATE OR REPLACE TABLE probe AS SELECT range AS x FROM range({n})")


def test_commits_leave_the_wal_to_the_checkpointer_which_writes_it_out_when_due(tmp_path):
    store = Store(tmp_path / "iw.duckdb", threads=1)
    # A store whose commits checkpoint (as DuckDB's do once the WAL is large enough).
    store.con.execute("SET checkpoint_threshold = '1KB'")
    write(store, 1000)
    assert wal_bytes(store) == 0
    duty = Checkpointer(every=60.0)
    assert duty.due(time.monotonic()) <= 0  # due at start: commits stop checkpointing
    duty.run(store)
    write(store, 2000)
    assert wal_bytes(store) > 0
    assert duty.due(time.monotonic()) > 0
    duty.run(store)
    assert wal_bytes(store) == 0
    assert duty.checkpoints == 2
    store.close()
    with Store(tmp_path / "iw.duckdb") as again:
        assert again.scalar("SELECT count(*) FROM probe") == 2000
