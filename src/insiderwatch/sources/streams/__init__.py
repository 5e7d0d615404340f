"""Continuous collectors: a NATS JetStream consumer (``nats.py``) and log tailing
(``tail.py``). They read; committing is the caller's :class:`EventSink` (the store's
single writer), so a collector never touches the store itself."""

from __future__ import annotations

from typing import Protocol

from insiderwatch.sources.readers import RawBatch


class EventSink(Protocol):
    """Where a collector's batches go. ``commit`` returns only once the batch is durable
    (loaded, deduplicated, bad records kept as dead letters) and raises when it is not."""

    def commit(self, origin: str, table: str, batch: RawBatch) -> object: ...

    def healthy(self) -> bool:
        """Whether the store takes writes at all (tells a poison message from an outage)."""
        ...
