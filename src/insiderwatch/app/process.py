"""Process-wide tuning for the long-running commands (`insiderwatch serve` and
`insiderwatch collect`), shared so that both get it.

Loading a batch makes a few objects per line (results, outcomes), so a collector
triggers the cyclic garbage collector hundreds of times a second, and each older-
generation pass walks every module loaded at start (FastAPI, pyarrow, DuckDB,
SQLAlchemy): profiled, a fifth of the in-process ingest time. What exists once the
process has started lives as long as it does, so it is frozen out of collection, and the
youngest generation is collected after 50,000 allocations instead of 700.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

GC_YOUNG_THRESHOLD = 50_000


@contextmanager
def long_running_gc() -> Iterator[None]:
    """Freeze what exists now and collect the young generation less often, until the
    block ends; then put back the thresholds and unfreeze (a command run in-process, as
    the tests do, leaves the interpreter as it found it)."""
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
