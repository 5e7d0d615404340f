"""The continuous collectors (NATS JetStream, log tailing; ``app.collect``) inside the
service: they run on a thread with an event loop of their own and commit through the
service's writer, so the store still has one writer and their events reach metrics and
live detection like the HTTP collector's."""

from __future__ import annotations

import asyncio
import logging
import threading

from insiderwatch.app.collect import Collectors, run_collectors
from insiderwatch.errors import InsiderwatchError

log = logging.getLogger("insiderwatch.collectors")


class CollectorThread:
    def __init__(self, collectors: Collectors) -> None:
        self.collectors = collectors
        self.error: Exception | None = None  # what stopped them (NATS unreachable at start)
        self._started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="collectors", daemon=True)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        found = self.collectors
        try:
            # Connected (and the stream made) before start() returns: a source may
            # publish as soon as the server is up.
            if found.nats is not None:
                await found.nats.connect()
        except InsiderwatchError as exc:
            log.error("NATS collector stopped: %s", exc)
            found.error, found.nats = exc, None
        finally:
            self._started.set()
        try:
            await run_collectors(self.collectors, self._stop)
        except Exception as exc:  # /healthz reports it; HTTP collection goes on
            log.error("collectors stopped: %s", exc)
            self.error = exc

    def start(self) -> None:
        self._thread.start()
        self._started.wait(30)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop fetching; what is being committed finishes first."""
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout)
