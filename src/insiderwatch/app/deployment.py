"""One typed deployment configuration, built from the settings registry: where the stores
are, which key hashes customer data, how detection is configured, how logs are read.

The command line and the HTTP server build one :class:`Deployment` at start-up (bad
settings fail there) and hand it to every use case in ``app/``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from insiderwatch.detect.config import DetectionConfig, load_detection_config
from insiderwatch.settings import Settings, load_settings
from insiderwatch.sources.follow import MAX_LINE_BYTES
from insiderwatch.sources.identity import IdentityMap
from insiderwatch.sources.kinds import SourceOptions
from insiderwatch.sources.sql_access import SqlMap
from insiderwatch.store import Store
from insiderwatch.store.ops.db import OpsStore, default_url, open_ops
from insiderwatch.store.validate import TimeWindow


@dataclass(frozen=True)
class Deployment:
    settings: Settings  # the resolved registry, for everything not lifted out below
    store_path: Path  # the DuckDB analytics store (setting db)
    ops_url: str  # the operational store (setting ops_url; SQLite beside the store)
    detection: DetectionConfig  # from the setting rules_config (defaults without one)

    @property
    def phone_region(self) -> str:
        return self.settings.phone_region

    def with_store(self, path: Path) -> Deployment:
        """The same deployment over another analytics store (its ops store beside it,
        unless one is configured)."""
        return replace(self, store_path=Path(path), ops_url=_ops_url(self.settings, Path(path)))

    def open_store(self, *, create: bool = True, read_only: bool = False) -> Store:
        s = self.settings
        return Store(
            self.store_path,
            create=create,
            read_only=read_only,
            memory_limit=s.memory_limit,
            threads=s.threads,
            time_window=TimeWindow(date.fromisoformat(str(s.time_earliest)), s.time_days_ahead),
        )

    @contextmanager
    def using(
        self, store: Store | None, *, create: bool = True, read_only: bool = False
    ) -> Iterator[Store]:
        """``store`` when the caller holds one open (a server's writer), else the
        deployment's store, opened for this use and closed after it."""
        if store is not None:
            yield store
            return
        with self.open_store(create=create, read_only=read_only) as opened:
            yield opened

    def open_ops(self) -> OpsStore:
        """The operational store (triage, users, tokens, audit log), migrated to head."""
        return open_ops(self.ops_url)

    def source_options(self, mapping: Path | None = None) -> SourceOptions:
        """How log sources read (identity map, SQL map, internal apps ...)."""
        s = self.settings
        path = lambda name: Path(s[name]) if s[name] else None  # noqa: E731
        return SourceOptions(
            identities=IdentityMap.from_csv(path("identity_map")),
            sql_map=SqlMap.load(path("sql_map")),
            internal_apps=frozenset(
                a.strip() for a in str(s.internal_apps).split(",") if a.strip()
            ),
            mapping=mapping,
            log_line_prefix=s.pg_log_line_prefix,
            mariadb_timestamp_format=s.mariadb_timestamp_format,
            batch_rows=s.batch_rows or 500_000,
            max_line_bytes=s.max_line_bytes or MAX_LINE_BYTES,
        )


def _ops_url(settings: Settings, store_path: Path) -> str:
    return str(settings.ops_url) if settings.ops_url else default_url(store_path)


def from_settings(settings: Settings) -> Deployment:
    store_path = Path(settings.db)
    rules = settings.rules_config
    return Deployment(
        settings=settings,
        store_path=store_path,
        ops_url=_ops_url(settings, store_path),
        detection=load_detection_config(Path(rules) if rules else None),
    )


def load_deployment(
    flags: Mapping[str, Any] | None = None,
    config_file: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Deployment:
    """Settings (flag > env > file > default) resolved and checked, as a deployment."""
    return from_settings(load_settings(flags, config_file, environ))
