"""The NATS JetStream collector against a real nats-server (JetStream on, private port)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import nats
import nats.errors
import pytest

from insiderwatch.app import from_settings
from insiderwatch.app.collect import StoreSink, locked
from insiderwatch.settings import load_settings
from insiderwatch.sources.streams.nats import NatsCollector, NatsConfig, message_batch
from sample_data import at, write_sample
from servers import Nats


@pytest.fixture
def nats_server() -> Iterator[Nats]:
    server = Nats()
    server.start()
    yield server
    server.remove()


@pytest.fixture
def sink(store, hash_key, ingest, tmp_path) -> StoreSink:
    ingest(write_sample(tmp_path / "roster", only=("employees",)))
    return StoreSink(from_settings(load_settings(environ={})), hash_key, locked(store))


def _config(server: Nats, ack_wait: float = 1.0, **kw) -> NatsConfig:
    return NatsConfig(url=server.url, batch=200, ack_wait=ack_wait, **kw)


def event(n: int, employee: str = "e1") -> bytes:
    record = {
        "event_id": f"n{n}",
        "time": at(1, 9).isoformat(),
        "employee_id": employee,
        "action": "view",
        "customer_ids": [f"c{n % 7}"],
        "app": "crm",
    }
    return json.dumps(record).encode()


def stored(sink: StoreSink) -> list[str]:
    # Through the writer: the collector's commits run on other threads.
    rows = sink.write(lambda store: store.con.execute("SELECT event_id FROM access").fetchall())
    return [r[0] for r in rows]


async def publish(config: NatsConfig, source: str, bodies: list[bytes]) -> None:
    nc = await nats.connect(config.url)
    js = nc.jetstream()
    for body in bodies:
        await js.publish(config.subject(source), body)
    await nc.close()


async def consume_until(collector: NatsCollector, done, seconds: float = 20.0) -> None:
    """Run the collector until ``done()`` holds (checked between fetches) or time is up."""
    stop = asyncio.Event()
    task = asyncio.create_task(collector.run(stop))
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline and not task.done():
        await asyncio.sleep(0.05)
    stop.set()
    await task
    await collector.close()


async def pending(config: NatsConfig) -> tuple[int, int]:
    """(messages not yet delivered, delivered but not acked) of the durable consumer."""
    nc = await nats.connect(config.url)
    info = await nc.jetstream().consumer_info(config.stream, config.durable)
    await nc.close()
    return info.num_pending, info.num_ack_pending


def test_events_committed_then_acked_and_bad_messages_become_letters(nats_server, sink, store):
    config = _config(nats_server)

    async def scenario():
        collector = NatsCollector(config, sink)
        await collector.connect()  # creates the stream
        good = [event(n) for n in range(50)]
        bad = [b"not json", b"\xff\xfe", event(99, employee="nobody"), b"[1, 2]"]
        await publish(config, "crm", good[:25] + bad + good[25:])
        await consume_until(collector, lambda: collector.counters.committed >= 54)
        return collector, await pending(config)

    collector, (left, unacked) = asyncio.run(scenario())
    assert sorted(stored(sink)) == sorted(f"n{n}" for n in range(50))
    assert (left, unacked) == (0, 0)
    assert collector.counters.committed == 54 and collector.counters.dead == 0
    letters = store.con.execute(
        "SELECT source, row_no, field || ':' || reason FROM dead_letters ORDER BY row_no"
    ).fetchall()
    # Rows are the stream sequences of the bad messages: 26..29 (the 25 good ones first).
    assert [(s, r) for s, r, _ in letters] == [
        (f"nats:{config.subject('crm')}", n) for n in range(26, 30)
    ]
    assert [why for *_, why in letters] == [
        "line:malformed_json",
        "line:invalid_utf8",
        "employee_id:unknown_employee",
        "line:not_an_object",
    ]


def test_redelivery_after_a_crash_between_commit_and_ack_is_counted_once(nats_server, sink):
    config = _config(nats_server)
    bodies = [event(n) for n in range(120)]

    async def scenario():
        crashed = NatsCollector(config, sink)
        await crashed.connect()
        await publish(config, "crm", bodies)
        sub = await crashed._subscribe()
        msgs = await sub.fetch(len(bodies), timeout=5)
        sink.commit(f"nats:{config.subject('crm')}", "access", message_batch(msgs))
        await crashed._nc.close()  # gone before acking: the server redelivers after ack_wait
        again = NatsCollector(config, sink)
        await consume_until(again, lambda: again.counters.committed >= len(bodies))
        # What comes back as a redelivery is at most what the crashed consumer took,
        # counted by stream sequence: on a loaded machine a fetch slower than ack_wait can
        # be handed one message twice (and so miss another), and a server that judges a
        # delivery failed (the pull request gone) sends the message again with a delivery
        # count of 1 although the client had it (nats-server #5338).
        taken = {m.metadata.sequence.stream for m in msgs}
        return len(msgs), taken, again.counters, await pending(config)

    fetched, taken, counters, (left, unacked) = asyncio.run(scenario())
    assert fetched == len(bodies) and len(taken) >= len(bodies) // 2
    assert 0 < counters.redelivered <= len(taken)
    # Whatever the delivery count said, every event the crashed consumer committed was
    # recognised as already stored: counted once, and nothing is left to deliver.
    assert sorted(stored(sink)) == sorted(f"n{n}" for n in range(len(bodies)))
    assert sink.loaded.loaded == len(bodies) and sink.loaded.duplicates == len(bodies)
    assert (left, unacked) == (0, 0)


@dataclass
class FailingSink:
    """A store that refuses one message (poison) or every write for a while (outage)."""

    inner: StoreSink
    poison: int | None = None  # stream sequence it cannot take
    down_until: float = 0.0

    def commit(self, origin, table, batch):
        if time.monotonic() < self.down_until:
            raise RuntimeError("store unavailable")
        rows = batch.data.column("_row").to_pylist()
        if self.poison in rows:
            raise RuntimeError("value the engine chokes on")
        return self.inner.commit(origin, table, batch)

    def healthy(self) -> bool:
        return time.monotonic() >= self.down_until


def test_poison_message_goes_to_the_dead_subject_and_an_outage_loses_nothing(
    nats_server, sink, store
):
    # Outage and poison are handed back by explicit naks, never by the ack timer: a long
    # ack_wait keeps a busy machine (a starved event loop missing an in-progress tick)
    # from redelivering a message that is still being committed, which would be acked
    # twice and make the counts below depend on the load.
    config = _config(nats_server, max_deliver=2, ack_wait=10.0)
    failing = FailingSink(sink, poison=5, down_until=time.monotonic() + 1.5)

    async def scenario():
        collector = NatsCollector(config, failing)
        await collector.connect()
        await publish(config, "hr", [event(n) for n in range(1, 11)])
        await consume_until(
            collector, lambda: collector.counters.committed >= 9 and collector.counters.dead
        )
        nc = await nats.connect(config.url)
        js = nc.jetstream()
        dead = await js.pull_subscribe(
            f"{config.dead_prefix}.>", durable="check", stream=f"{config.stream}_DEAD"
        )
        msgs = await dead.fetch(5, timeout=2)
        await nc.close()
        return collector.counters, msgs

    counters, dead = asyncio.run(scenario())
    assert counters.outages >= 1  # the first tries met the outage, and were handed back
    assert counters.dead == 1 and counters.committed == 9
    assert [m.subject for m in dead] == [f"{config.dead_prefix}.hr"]
    assert dead[0].headers["Iw-Sequence"] == "5" and json.loads(dead[0].data)["event_id"] == "n5"
    assert sorted(stored(sink)) == sorted(f"n{n}" for n in range(1, 11) if n != 5)
    letter = store.con.execute("SELECT row_no, field, reason FROM dead_letters").fetchall()
    assert letter == [(5, "message", "commit_failed")]


def test_nats_restarted_under_load_loses_nothing(nats_server, sink):
    config = _config(nats_server)
    total = 3000
    published = threading.Event()

    sent = [0]

    async def publisher():
        nc = await nats.connect(config.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
        js = nc.jetstream()
        for n in range(total):
            while True:  # at least once: a publish the server did not confirm is sent again
                try:
                    await js.publish(config.subject("web"), event(n), timeout=1)
                    break
                except (TimeoutError, nats.errors.Error):
                    await asyncio.sleep(0.1)
            sent[0] = n + 1
        published.set()
        await nc.close()

    def restart_midway(collector) -> tuple[int, int]:
        """Restart while both sides are busy: half published, some committed."""
        while sent[0] < total // 2 or not collector.counters.committed:
            time.sleep(0.005)
        at = (sent[0], collector.counters.committed)
        nats_server.restart()
        return at

    async def scenario():
        collector = NatsCollector(config, sink)
        await collector.connect()
        sender = asyncio.create_task(publisher())
        restarter = asyncio.create_task(asyncio.to_thread(restart_midway, collector))
        await consume_until(
            collector, lambda: published.is_set() and len(stored(sink)) >= total, seconds=40
        )
        await sender
        return await restarter

    published_then, committed_then = asyncio.run(scenario())
    assert published_then < total and committed_then < total  # it was under load
    ids = stored(sink)
    assert len(ids) == len(set(ids)) == total


@dataclass
class SlowSink:
    """A store whose commits take a while (a detection step holding the writer)."""

    inner: StoreSink
    seconds: float
    sizes: list[int]

    def commit(self, origin, table, batch):
        time.sleep(self.seconds)
        self.sizes.append(batch.rows)
        return self.inner.commit(origin, table, batch)

    def healthy(self) -> bool:
        return True


def test_messages_fetched_during_a_slow_commit_are_committed_together(nats_server, sink):
    config = _config(nats_server, ack_wait=10.0)  # batch 200
    slow = SlowSink(sink, seconds=1.0, sizes=[])
    total = 900

    async def scenario():
        collector = NatsCollector(config, slow)
        await collector.connect()
        await publish(config, "crm", [event(n) for n in range(total)])
        await consume_until(collector, lambda: collector.counters.committed >= total)
        return collector.counters, await pending(config)

    counters, (left, unacked) = asyncio.run(scenario())
    assert counters.committed == total and (left, unacked) == (0, 0)
    assert sorted(stored(sink)) == sorted(f"n{n}" for n in range(total))
    # Behind a slow commit the collector took more than one fetch's worth at a time, and
    # asks for no more than two batches waiting (max_ack_pending is four). nats-py's fetch
    # also hands over what an expired pull (fetch_wait is short) had delivered late, at
    # most one pull's batch, so that much may ride along.
    assert max(slow.sizes) > config.batch and max(slow.sizes) <= 3 * config.batch
    assert len(slow.sizes) < total / config.batch
