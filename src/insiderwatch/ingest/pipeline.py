"""The one ingest loop: raw batches -> validate -> dead letters -> store, one error policy.

Files of a dataset, log files read from an offset and in-memory batches (an HTTP
request, a NATS message) all come here as an iterator of :class:`RawBatch`. Each batch
loads in its own transaction through the store's loader (validation, hashing, dedupe by
key, letters for bad records); the error policy is the same for all of them:

* an :class:`InsiderwatchError` (unreadable file, broken line framing) fails this input
  with its message, which already names ``file:row:field``;
* an engine error (DuckDB, Arrow) is a bug or a value no check anticipated: this input
  fails with what the engine said, not the whole run;
* batches that committed before the failure stay committed: re-sending the input skips
  them as duplicates, so a retry is always safe.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from insiderwatch.contract import TABLES
from insiderwatch.errors import InsiderwatchError
from insiderwatch.privacy import HashKey
from insiderwatch.sources.readers import RawBatch
from insiderwatch.store import Store
from insiderwatch.store.loader import BatchLoader, LoadCounts


@dataclass
class Loaded:
    """What one input (a file, a log file, a batch of records) did to the store."""

    batch_id: int
    counts: LoadCounts = field(default_factory=LoadCounts)
    error: str | None = None
    # Per-record outcomes of good records, when asked for: (row numbers, outcome words).
    outcomes: list[pa.Table] = field(default_factory=list)


@dataclass
class Hooks:
    """What a kind of input does around each batch (all optional)."""

    before: Callable[[RawBatch], None] | None = None  # e.g. put unmapped staff on the roster
    after: Callable[[RawBatch], None] | None = None  # e.g. save the file offset
    progress: Callable[[], None] | None = None
    finish: Callable[[], None] | None = None  # after the last batch, e.g. the final offset


def load(
    store: Store,
    table: str,
    origin: str,
    fmt: str,
    key: HashKey,
    batches: Iterable[RawBatch],
    *,
    phone_region: str = "GB",
    where: str | None = None,
    hooks: Hooks | None = None,
    track_rows: bool = False,
) -> Loaded:
    """Load ``batches`` of ``table`` as one ingest batch named ``origin`` (the letters'
    source); ``where`` names the input in engine errors (default: ``origin``)."""
    hooks = hooks or Hooks()
    result = Loaded(batch_id=store.new_batch(table, origin, fmt))
    loader = BatchLoader(store, TABLES[table], origin, result.batch_id, key, phone_region)
    loader.track_rows = track_rows
    status = "done"
    try:
        for raw in batches:
            if hooks.before:
                hooks.before(raw)
            result.counts.add(loader.load_in_transaction(raw))
            if loader.outcomes is not None:
                result.outcomes.append(loader.outcomes)
            if hooks.after:
                hooks.after(raw)
            if hooks.progress:
                hooks.progress()
        if hooks.finish:
            hooks.finish()
    except InsiderwatchError as exc:
        result.error, status = str(exc), "failed"
    except (duckdb.Error, pa.ArrowException) as exc:
        result.error, status = f"{where or origin}: could not load: {exc}", "failed"
    store.finish_batch(result.batch_id, result.counts.as_dict(), status)
    return result
