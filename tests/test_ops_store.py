"""The operational store's schema: migrations from empty on SQLite and PostgreSQL, the
models matching them, and the settings every SQLite connection gets."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from insiderwatch.errors import InsiderwatchError
from insiderwatch.store.ops import default_url, open_ops
from insiderwatch.store.ops.db import MIGRATIONS
from insiderwatch.store.ops.models import Base


def test_migrations_build_the_models_from_empty(ops_url: str) -> None:
    with open_ops(ops_url) as ops, ops.engine.connect() as con:
        tables = set(inspect(con).get_table_names())
        assert set(Base.metadata.tables) <= tables
        version = con.execute(text("SELECT version_num FROM alembic_version")).scalar()
        assert version == ScriptDirectory(str(MIGRATIONS)).get_current_head()
        # What the migrations built is what the models describe, column for column.
        diff = compare_metadata(MigrationContext.configure(con), Base.metadata)
        assert diff == []


def test_reopening_migrates_nothing_and_keeps_rows(ops_url: str) -> None:
    with open_ops(ops_url) as ops, ops.session() as s:
        s.execute(
            text(
                "INSERT INTO cases (title, state, created_by, created_at) "
                "VALUES ('t', 'new', 'ana', CURRENT_TIMESTAMP)"
            )
        )
    with open_ops(ops_url) as ops, ops.session() as s:
        assert s.execute(text("SELECT count(*) FROM cases")).scalar() == 1


def test_sqlite_runs_in_wal_with_foreign_keys(tmp_path) -> None:
    with open_ops(f"sqlite:///{tmp_path / 'o.sqlite'}") as ops, ops.engine.connect() as con:
        assert con.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert con.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_default_url_sits_beside_the_analytics_store(tmp_path) -> None:
    url = default_url(tmp_path / "data" / "iw.duckdb")
    assert url == f"sqlite:///{tmp_path / 'data' / 'iw.ops.sqlite'}"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("not a url", "ops_url"),
        ("mysql://u@127.0.0.1/x", "SQLite or PostgreSQL"),
        ("postgresql+psycopg://u:secret@127.0.0.1:1/x", "cannot open the ops store"),
    ],
)
def test_bad_urls_say_what_is_wrong_without_the_password(url: str, message: str) -> None:
    with pytest.raises(InsiderwatchError, match=message) as caught:
        open_ops(url)
    assert "secret" not in str(caught.value)


def test_a_store_from_a_newer_version_is_refused_with_a_reason(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'o.sqlite'}"
    with open_ops(url) as ops, ops.engine.begin() as con:
        con.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(InsiderwatchError, match="9999.*newer insiderwatch"):
        open_ops(url)
