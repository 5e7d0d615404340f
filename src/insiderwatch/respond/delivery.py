"""Delivering notices: one worker thread, tries with exponential backoff, a dead letter
after the last try, every attempt recorded, and replay of dead letters.

The live detection loop only queues a notice (``submit``) and goes on; a slow or broken
receiver delays its own messages, never detection. ``drain`` waits until the queue is
empty (tests, shutdown).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import queue
import threading
from collections.abc import Callable

import msgspec

from insiderwatch.errors import InsiderwatchError
from insiderwatch.respond.notice import Notice
from insiderwatch.respond.records import Delivery
from insiderwatch.respond.sinks.base import DeliveryError, Sink
from insiderwatch.respond.store import ResponseStore

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def delivery_id(notice_id: str, route: str, sink: str) -> str:
    return hashlib.sha256(f"{notice_id}\x00{route}\x00{sink}".encode()).hexdigest()[:24]


class Deliverer:
    """Sends queued notices to their sinks in a background thread."""

    def __init__(
        self,
        sinks: dict[str, Sink],
        store: ResponseStore,
        clock: Clock = utcnow,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        self.sinks = sinks
        self.store = store
        self.clock = clock
        self._stop = threading.Event()
        self._sleep = sleep or self._stop.wait  # backoff that a close can cut short
        self._queue: queue.Queue[tuple[Notice, str, str] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        for sink in self.sinks.values():
            sink.open()
        self._thread = threading.Thread(target=self._work, name="deliveries", daemon=True)
        self._thread.start()

    def submit(self, notice: Notice, route: str, sink: str) -> None:
        now = self.clock()
        self.store.save_delivery(
            Delivery(
                delivery_id=delivery_id(notice.notice_id, route, sink),
                notice_id=notice.notice_id,
                route=route,
                sink=sink,
                status="pending",
                tries=0,
                created_at=now,
                updated_at=now,
                notice=msgspec.json.encode(notice),
            )
        )
        self._queue.put((notice, route, sink))

    def drain(self) -> None:
        self._queue.join()

    def close(self) -> None:
        """Deliver what is queued (each notice's tries included), then stop."""
        if self._thread is None:
            return  # never started: nothing opened
        self._queue.put(None)
        self._thread.join()
        self._thread = None
        for sink in self.sinks.values():
            sink.close()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self.deliver(*item)
            finally:
                self._queue.task_done()

    def deliver(self, notice: Notice, route: str, sink_name: str) -> Delivery:
        """Try ``sink.config.tries`` times, waiting backoff, 2x backoff, ... in between;
        record the outcome (delivered, or dead with the last error)."""
        sink = self.sinks[sink_name]
        record = self.store.delivery(delivery_id(notice.notice_id, route, sink_name))
        tries, error = record.tries, ""
        for attempt in range(sink.config.tries):
            if attempt:
                self._sleep(sink.config.backoff_seconds * 2 ** (attempt - 1))
            tries += 1
            try:
                sink.send(notice)
            except DeliveryError as exc:
                error = exc.message
                continue
            except Exception as exc:  # a plug-in's bug must not stop the worker thread
                error = f"{sink_name}: unexpected {type(exc).__name__}: {exc}"
                continue
            return self._record(record, "delivered", tries, "")
        return self._record(record, "dead", tries, error)

    def _record(self, record: Delivery, status: str, tries: int, error: str) -> Delivery:
        done = msgspec.structs.replace(
            record, status=status, tries=tries, last_error=error, updated_at=self.clock()
        )
        self.store.save_delivery(done)
        return done

    def replay(self, delivery_ids: list[str]) -> list[Delivery]:
        """Send stored notices again, now, in this thread (dead letters after a fix)."""
        out = []
        for did in delivery_ids:
            record = self.store.delivery(did)
            if record.sink not in self.sinks:
                raise InsiderwatchError(
                    f"delivery {did}: sink {record.sink!r} is not in the response file any more"
                )
            notice = msgspec.json.decode(record.notice, type=Notice)
            out.append(self.deliver(notice, record.route, record.sink))
        return out
