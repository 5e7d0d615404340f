"""The operational store (SQLAlchemy + Alembic; SQLite embedded, PostgreSQL for a
service): what people create and must never be recomputed away."""

from insiderwatch.store.ops import response as _response  # noqa: F401  (its tables join Base.metadata)
from insiderwatch.store.ops.db import OpsStore, default_url, open_ops

__all__ = ["OpsStore", "default_url", "open_ops"]
