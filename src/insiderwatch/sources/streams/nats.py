"""NATS JetStream collector: a durable pull consumer that acks only what is committed.

Each source publishes on ``<prefix>.<source>``, one contract access record (a JSON
object) per message. The collector fetches up to ``batch`` messages, makes one raw batch
per subject whose row numbers are the messages' stream sequences (so a dead letter names
the message), hands it to the sink and acks only after the sink returned; what arrives
while a commit is in flight is committed together next (up to two batches). A crash
between commit and ack means a redelivery, which is harmless: event ids deduplicate.

A batch the sink refuses is retried message by message, so one poison message cannot
hold back the rest. When even single messages fail while the store itself is down, that
is an outage, not bad data: everything is nak'ed with a delay and the collector backs
off (the server keeps the messages; nothing is dropped). A message that fails alone
``max_deliver`` times while the store is healthy is republished on
``<dead_prefix>.<source>`` (kept by its own stream), recorded as a dead letter, and
terminated.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import nats
import nats.errors
import nats.js.errors
import pyarrow as pa
from nats.aio.msg import Msg
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StorageType, StreamConfig

from insiderwatch.errors import InsiderwatchError
from insiderwatch.sources.follow import NOT_UTF8
from insiderwatch.sources.readers import LINE, ROW, RawBatch
from insiderwatch.sources.streams import EventSink

log = logging.getLogger(__name__)

COMMIT_FAILED = "message:commit_failed"
CONNECT_SECONDS = 5.0


async def _log_error(exc: Exception) -> None:
    # One line per problem (the client's default prints a traceback per reconnect try).
    log.warning("nats: %s", exc or type(exc).__name__)


@dataclass(frozen=True)
class NatsConfig:
    url: str
    stream: str = "INSIDERWATCH"
    durable: str = "insiderwatch"
    subject_prefix: str = "insiderwatch.events"
    dead_prefix: str = "insiderwatch.dead"
    batch: int = 5000
    max_deliver: int = 5
    ack_wait: float = 30.0
    fetch_wait: float = 0.05  # seconds a fetch waits for a first message: the idle latency

    @classmethod
    def from_settings(cls, settings: Any) -> NatsConfig:
        return cls(
            url=settings.nats_url,
            stream=settings.nats_stream,
            durable=settings.nats_durable,
            subject_prefix=settings.nats_subject_prefix,
            dead_prefix=settings.nats_dead_prefix,
            batch=settings.nats_batch,
            max_deliver=settings.nats_max_deliver,
            ack_wait=settings.nats_ack_wait,
        )

    @property
    def servers(self) -> list[str]:
        return [u.strip() for u in self.url.split(",") if u.strip()]

    def subject(self, source: str) -> str:
        return f"{self.subject_prefix}.{source}"

    def source_of(self, subject: str) -> str:
        return subject[len(self.subject_prefix) + 1 :]


@dataclass
class NatsCounters:
    """What the collector did, for /metrics and the benchmark."""

    received: int = 0
    redelivered: int = 0  # deliveries after the first (a crash or a failed commit before)
    committed: int = 0  # messages acked after their batch committed
    retried: int = 0  # nak'ed for a later try
    dead: int = 0
    outages: int = 0  # times the store refused every write
    by_source: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def message_batch(msgs: list[Msg]) -> RawBatch:
    """One raw JSON-lines batch of messages; row = the message's stream sequence."""
    lines: list[str] = []
    rows: list[int] = []
    malformed: list[tuple] = []
    for msg in msgs:
        seq = msg.metadata.sequence.stream
        try:
            text = msg.data.decode("utf-8")
        except UnicodeDecodeError as exc:
            why = f"not valid UTF-8 at byte {exc.start + 1} (message withheld)"
            malformed.append((seq, why, NOT_UTF8))
            continue
        # A message is one record; a body of several lines is malformed JSON as a whole.
        lines.append(text.strip())
        rows.append(seq)
    data = pa.table({LINE: pa.array(lines, pa.string()), ROW: pa.array(rows, pa.int64())})
    return RawBatch(layout="json", data=data, malformed=malformed, rows=len(msgs))


def _failed_batch(seq: int, why: str) -> RawBatch:
    empty = pa.table({LINE: pa.array([], pa.string()), ROW: pa.array([], pa.int64())})
    return RawBatch(layout="json", data=empty, malformed=[(seq, why, COMMIT_FAILED)], rows=1)


class NatsCollector:
    """Consumes ``<prefix>.>`` through the durable consumer until ``stop`` is set."""

    def __init__(self, config: NatsConfig, sink: EventSink) -> None:
        self.config = config
        self.sink = sink
        self.counters = NatsCounters()
        self.backoff = 0.5  # seconds; doubled per consecutive outage, up to 10 s
        self._last_error = ""
        # A message may come again while it is being moved (its ack wait ran out during
        # a back-off): one already moved is only terminated again, not moved twice.
        self._moved: set[int] = set()
        self._nc: nats.NATS | None = None
        self._js: Any = None

    async def connect(self) -> None:
        try:
            # Once connected the client reconnects for ever (a NATS restart must not end
            # the collector); the first connection must work within a few seconds, since a
            # wrong URL is a configuration error to report at start-up.
            self._nc = await asyncio.wait_for(
                nats.connect(
                    servers=self.config.servers,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    connect_timeout=2,
                    error_cb=_log_error,
                    name="insiderwatch-collector",
                ),
                timeout=CONNECT_SECONDS,
            )
        except (TimeoutError, nats.errors.Error, OSError) as exc:
            raise InsiderwatchError(
                f"cannot connect to NATS at {self.config.url}: {str(exc) or 'no answer'}"
            ) from None
        self._js = self._nc.jetstream()
        try:
            await self._ensure_stream(self.config.stream, self.config.subject_prefix)
            await self._ensure_stream(f"{self.config.stream}_DEAD", self.config.dead_prefix)
        except (TimeoutError, nats.errors.Error) as exc:
            raise InsiderwatchError(
                f"NATS at {self.config.url}: cannot set up stream {self.config.stream} "
                f"(is JetStream enabled?): {str(exc) or type(exc).__name__}"
            ) from None

    async def _ensure_stream(self, name: str, prefix: str) -> None:
        try:
            await self._js.stream_info(name)
        except nats.js.errors.NotFoundError:
            await self._js.add_stream(
                StreamConfig(name=name, subjects=[f"{prefix}.>"], storage=StorageType.FILE)
            )

    async def _subscribe(self) -> Any:
        return await self._js.pull_subscribe(
            f"{self.config.subject_prefix}.>",
            durable=self.config.durable,
            stream=self.config.stream,
            config=ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                # The server never gives up on a message: the collector decides when one
                # is dead, so an outage of the store cannot exhaust deliveries.
                max_deliver=-1,
                ack_wait=self.config.ack_wait,
                max_ack_pending=self.config.batch * 4,
            ),
        )

    async def run(self, stop: asyncio.Event) -> None:
        if self._nc is None:
            await self.connect()
        sub = await self._retrying(self._subscribe, stop)
        # The next messages are fetched while a batch commits (on a thread; the store
        # releases the GIL), and everything fetched meanwhile is committed together once
        # it is done: when commits are slow (a detection step holds the writer) the
        # collector takes bigger batches instead of falling behind one batch at a time.
        # One commit is in flight at a time, so acks keep the order of commits.
        handling: asyncio.Task | None = None
        waiting: list[Msg] = []  # fetched while a commit was in flight
        keeper: asyncio.Task | None = None  # keeps ``waiting`` in progress meanwhile
        limit = self.config.batch * 2  # with one batch in flight: within max_ack_pending
        while not stop.is_set():
            if handling is not None and handling.done():
                await handling  # a failure ends the collector, as a failed fetch would
                handling = None
            if handling is None and waiting:
                if keeper is not None:
                    keeper.cancel()
                handling, waiting, keeper = asyncio.create_task(self.handle(waiting)), [], None
            if handling is not None and len(waiting) >= limit:
                await asyncio.wait([handling])
                continue
            try:
                room = limit - len(waiting) if handling is not None else self.config.batch
                msgs = await sub.fetch(min(self.config.batch, room), timeout=self.config.fetch_wait)
            except TimeoutError:  # nothing arrived within fetch_wait (nats' own is one too)
                continue
            except nats.errors.Error as exc:
                # Reconnecting after a server restart: the client retries underneath.
                log.info("nats fetch: %s; retrying", exc)
                await asyncio.sleep(0.2)
                continue
            if handling is None:
                handling = asyncio.create_task(self.handle(msgs))
                continue
            # They wait their turn in progress, or a slow commit ahead of them would have
            # them redelivered before they are even looked at.
            waiting.extend(msgs)
            if keeper is None:
                keeper = asyncio.create_task(self._keep_in_progress(waiting))
        if handling is not None:
            await handling
        if keeper is not None:
            keeper.cancel()
        if waiting:
            await self.handle(waiting)

    async def _retrying(self, call, stop: asyncio.Event) -> Any:
        """``call()`` again until it answers (the server may be restarting)."""
        while True:
            try:
                return await call()
            except (TimeoutError, nats.errors.Error) as exc:
                if stop.is_set():
                    raise
                log.info("nats: %s; retrying", str(exc) or type(exc).__name__)
                await asyncio.sleep(0.2)

    async def close(self) -> None:
        if self._nc is not None:
            try:
                await self._nc.flush(timeout=2)  # the last acks out before closing
            except nats.errors.Error as exc:
                log.info("nats: acks not flushed at close (they will be redelivered): %s", exc)
            await self._nc.close()
            self._nc = None

    # -- one fetched batch ----------------------------------------------------------
    async def handle(self, msgs: list[Msg]) -> None:
        self.counters.received += len(msgs)
        self.counters.redelivered += sum(1 for m in msgs if m.metadata.num_delivered > 1)
        groups: dict[str, list[Msg]] = defaultdict(list)
        for msg in msgs:
            groups[msg.subject].append(msg)
        for subject, group in groups.items():
            if await self._commit(subject, group):
                await self._ack(subject, group)
            else:
                await self._one_by_one(subject, group)

    async def _commit(self, subject: str, msgs: list[Msg]) -> bool:
        working = asyncio.create_task(self._keep_in_progress(msgs))
        try:
            await asyncio.to_thread(
                self.sink.commit, f"nats:{subject}", "access", message_batch(msgs)
            )
        except Exception as exc:  # any failure means "not committed": never ack then
            log.warning("nats: commit of %d message(s) on %s failed: %s", len(msgs), subject, exc)
            self._last_error = str(exc)
            return False
        finally:
            working.cancel()
        return True

    async def _keep_in_progress(self, msgs: list[Msg]) -> None:
        """Reset the server's ack timer while a commit runs.

        A commit slower than ``ack_wait`` (a busy machine, a large batch) would otherwise
        be redelivered while it is still being written: counted as a retry, written twice
        and, near ``max_deliver``, even sent to the dead subject although it committed.
        """
        while True:
            await asyncio.sleep(self.config.ack_wait / 3)
            for msg in list(msgs):  # a snapshot: the caller may take handled ones out
                await msg.in_progress()

    async def _ack(self, subject: str, msgs: Iterable[Msg]) -> None:
        n = 0
        for msg in msgs:
            await msg.ack()
            n += 1
        self.counters.committed += n
        self.counters.by_source[self.config.source_of(subject)] += n
        self.backoff = 0.5

    async def _one_by_one(self, subject: str, msgs: list[Msg]) -> None:
        # The messages still waiting their turn are kept in progress too: on a busy
        # machine a group committed one at a time outlasts ack_wait, and the server
        # would redeliver the tail of the group while it is still being worked through.
        waiting = list(msgs)
        working = asyncio.create_task(self._keep_in_progress(waiting))
        failed = []
        try:
            for msg in msgs:
                waiting.remove(msg)
                if not await self._single(subject, msg):
                    failed.append(msg)
        finally:
            working.cancel()
        if not failed:
            return
        if not await asyncio.to_thread(self.sink.healthy):
            # An outage: no message is to blame. Hand them back and slow down.
            self.counters.outages += 1
            await self._nak(failed)
            await asyncio.sleep(self.backoff)
            self.backoff = min(self.backoff * 2, 10.0)
            return
        poison = [m for m in failed if m.metadata.num_delivered >= self.config.max_deliver]
        await self._nak([m for m in failed if m not in poison])
        for msg in poison:
            await self._dead(subject, msg)

    async def _single(self, subject: str, msg: Msg) -> bool:
        if await self._commit(subject, [msg]):
            await self._ack(subject, [msg])
            return True
        return False

    async def _nak(self, msgs: list[Msg]) -> None:
        for msg in msgs:
            await msg.nak(delay=min(2.0**msg.metadata.num_delivered, 30.0) / 4)
        self.counters.retried += len(msgs)

    async def _dead(self, subject: str, msg: Msg) -> None:
        seq = msg.metadata.sequence.stream
        if seq in self._moved:
            await msg.term()
            return
        why = f"not committed after {msg.metadata.num_delivered} deliveries: {self._last_error}"
        source = self.config.source_of(subject)
        headers = {"Iw-Subject": subject, "Iw-Sequence": str(seq), "Iw-Reason": why[:512]}
        await self._js.publish(f"{self.config.dead_prefix}.{source}", msg.data, headers=headers)
        try:
            await asyncio.to_thread(
                self.sink.commit, f"nats:{subject}", "access", _failed_batch(seq, why[:512])
            )
        except Exception as exc:  # the dead subject holds it already
            log.warning("nats: dead letter for %s #%d not stored: %s", subject, seq, exc)
        await msg.term()
        self._moved.add(seq)
        self.counters.dead += 1
