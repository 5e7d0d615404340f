"""Opening the operational store: an engine for the URL, the schema brought to the
latest migration, and sessions that are one transaction each.

SQLite (the embedded default) runs in WAL mode with foreign keys on, and every
transaction starts ``BEGIN IMMEDIATE``: writers queue on the busy timeout instead of
failing when two of them upgrade a read lock at once, and the audit chain has one writer
at a time. PostgreSQL serialises the chain with an advisory lock (see ``audit.py``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from sqlalchemy import Engine, create_engine, event, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from insiderwatch.errors import ConfigError, InsiderwatchError

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number: the key of the PostgreSQL advisory lock held while migrating.
MIGRATION_LOCK = 0x1D5_0715
SQLITE_BUSY_MS = 30_000
STATISTICS_EVERY_SECONDS = 600.0
ANALYSIS_ROWS = 2_000  # rows sampled per index when SQLite gathers statistics


def default_url(analytics_db: str | Path) -> str:
    """A SQLite file beside the analytics store: ``x.duckdb`` -> ``x.ops.sqlite``."""
    path = Path(analytics_db).expanduser().resolve()
    return f"sqlite:///{path.with_name(path.stem + '.ops.sqlite')}"


def locked_row(session: Session, key: InstrumentedAttribute, value: object):
    """The row whose ``key`` column equals ``value``, or None; FOR UPDATE on PostgreSQL,
    so two people changing one row take turns (SQLite's transactions already do)."""
    query = select(key.class_).where(key == value).with_for_update()
    return session.scalars(query).first()


def redacted(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable URL>"


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_con, _record) -> None:
        # Let SQLAlchemy's "begin" below decide when transactions start.
        dbapi_con.isolation_level = None
        cur = dbapi_con.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(con) -> None:
        con.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(f"ops_url {redacted(url)}: {exc}") from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"ops_url {redacted(url)}: the operational store runs on SQLite or PostgreSQL, "
            f"not {backend}"
        )
    if backend == "sqlite" and parsed.database:
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(parsed, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise ConfigError(f"ops_url {redacted(url)}: {exc}") from None
    if backend == "sqlite":
        _sqlite_pragmas(engine)
    return engine


def upgrade(engine: Engine) -> None:
    """Bring the schema to the latest migration, in one transaction; concurrent openers
    wait for each other (advisory lock on PostgreSQL, BEGIN IMMEDIATE on SQLite)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as con:
        if con.dialect.name == "postgresql":
            con.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        cfg.attributes["connection"] = con
        command.upgrade(cfg, "head")


class OpsStore:
    """The operational store: alerts' triage, cases, users, tokens and the audit log."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._analysed = float("-inf")

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on an error."""
        with self._sessions.begin() as session:
            yield session

    def refresh_statistics(self, *, every_seconds: float = STATISTICS_EVERY_SECONDS) -> bool:
        """Gather the query planner's statistics again on SQLite (PostgreSQL's autovacuum
        does it there), at most once per ``every_seconds``: without them SQLite can pick
        an index that sorts 100,000 alerts for a 50-row page. Sampled (analysis_limit),
        so it takes milliseconds. True when it ran."""
        now = time.monotonic()
        if self.dialect != "sqlite" or now - self._analysed < every_seconds:
            return False
        self._analysed = now
        with self.engine.begin() as con:
            con.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_ROWS}")
            con.exec_driver_sql("ANALYZE")
        return True

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> OpsStore:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


def open_ops(url: str) -> OpsStore:
    """Open (creating and migrating as needed) the operational store at ``url``."""
    engine = make_engine(url)
    try:
        upgrade(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise InsiderwatchError(f"cannot open the ops store {redacted(url)}: {reason}") from None
    except CommandError as exc:  # a revision this version does not know
        engine.dispose()
        raise InsiderwatchError(
            f"cannot open the ops store {redacted(url)}: {exc} (was it written by a newer "
            "insiderwatch?)"
        ) from None
    return OpsStore(engine)
