"""The service's readers: each request reads the store through a cursor of its own
(``Store.reader``), a cursor of the writer's connection. DuckDB refuses to close a
connection while one of its cursors runs a query ("connection is busy"), and a cursor
whose connection closed under it fails its next query; so the service closes the store
only once no request reads it. Here the readers are counted: a stop refuses new ones
(:class:`Stopping`, the HTTP layer answers 503 with Retry-After), waits a while for those
reading, then interrupts the queries still running, whose requests get the same refusal.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from insiderwatch.store.duckdb_store import Store

# How long a stop waits for interrupted readers to leave (an interrupted query ends at
# once; this only bounds Python work a request does after it).
AFTER_INTERRUPT_SECONDS = 5.0


class Stopping(Exception):
    """The service is stopping and takes no new work: try again later."""


class Readers:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._cond = threading.Condition()
        self._open: set[Store] = set()
        self._interrupted: set[Store] = set()
        self.refusing = False

    @contextmanager
    def open(self) -> Iterator[Store]:
        """A cursor of its own for the length of a request (:class:`Stopping` once the
        service stops)."""
        with self._cond:
            if self.refusing:
                raise Stopping("the service is stopping")
            reader = self.store.reader()
            self._open.add(reader)
        try:
            yield reader
        except duckdb.Error:
            if reader in self._interrupted:  # the stop ended its query
                raise Stopping("the service is stopping") from None
            raise
        finally:
            reader.close()
            with self._cond:
                self._open.discard(reader)
                self._interrupted.discard(reader)
                self._cond.notify_all()

    def refuse(self) -> None:
        """Open no new reader from now on."""
        with self._cond:
            self.refusing = True

    def drain(self, grace: float) -> int:
        """Wait up to ``grace`` seconds for the open readers to finish, then interrupt
        the queries of those still open and wait for them to leave; how many are left."""
        with self._cond:
            self.refusing = True
            if self._cond.wait_for(lambda: not self._open, grace):
                return 0
            for reader in self._open:
                self._interrupted.add(reader)
                reader.con.interrupt()
            self._cond.wait_for(lambda: not self._open, AFTER_INTERRUPT_SECONDS)
            return len(self._open)
