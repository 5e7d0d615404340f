"""`insiderwatch collect`: NATS and tailing together into one store, then a summary; the
evidence log sealed while it runs."""

from __future__ import annotations

import asyncio
import gc
import json

from insiderwatch.app.collect import StoreSink, locked
from insiderwatch.app.deployment import load_deployment
from insiderwatch.app.ingest import ingest_records
from insiderwatch.app.upkeep import Sealer, run_upkeep
from insiderwatch.privacy import HashKey
from insiderwatch.sources.streams.nats import NatsConfig
from insiderwatch.store import Store
from sample_data import KEY_HEX, write_sample
from test_streams_nats import event, nats_server, publish  # noqa: F401  (the fixture)
from test_streams_tail import MAPPING, rows, write


def test_collect_runs_nats_and_tailing_into_one_store(cli, tmp_path, nats_server):  # noqa: F811
    db = tmp_path / "iw.duckdb"
    assert (
        cli("ingest", write_sample(tmp_path / "roster", only=("employees",)), "--db", db).exit_code
        == 0
    )
    (tmp_path / "m.yaml").write_text(MAPPING)
    write(tmp_path / "app.csv", rows(0, 4))
    tail = tmp_path / "tail.yaml"
    tail.write_text("- kind: mapped\n  mapping: m.yaml\n  paths: [app.csv]\n")
    config = NatsConfig(url=nats_server.url)
    thresholds = gc.get_threshold()
    # Published before the collector exists: the stream is made by the first publisher
    # here, as a deployment's would be, and the durable consumer starts from its first message.
    asyncio.run(_make_stream_and_publish(config, [event(n) for n in range(30)]))
    result = cli(
        "collect",
        "--db",
        db,
        "--nats-url",
        nats_server.url,
        "--tail-sources",
        tail,
        "--for",
        "4",
        "--json",
    )
    import traceback

    assert result.exit_code == 0, "".join(traceback.format_exception(result.exception))
    summary = json.loads(result.stdout)
    assert summary["loaded"] == 34 and summary["rejected"] == 0
    assert summary["nats"]["committed"] == 30 and summary["nats"]["by_source"] == {"crm": 30}
    assert summary["tail"] == {"reads": 1, "errors": {}}
    # It ran under serve's garbage-collector tuning (app.process) and put it back.
    assert gc.get_threshold() == thresholds
    stats = json.loads(cli("stats", "--db", db, "--json").stdout)
    assert stats["tables"]["access"] == 34 and stats["dead_letters"]["open"] == 0


async def _make_stream_and_publish(config: NatsConfig, bodies: list[bytes]) -> None:
    import nats

    nc = await nats.connect(config.url)
    await nc.jetstream().add_stream(name=config.stream, subjects=[f"{config.subject_prefix}.>"])
    await nc.close()
    await publish(config, "crm", bodies)


def test_collect_without_anything_to_collect_says_what_to_set(cli, tmp_path):
    result = cli("collect", "--db", tmp_path / "iw.duckdb")
    assert result.exit_code == 1
    assert "set nats_url or tail_sources" in result.stderr


def test_collect_fails_at_once_when_nats_cannot_be_reached(cli, tmp_path):
    from servers import free_port

    url = f"nats://127.0.0.1:{free_port()}"
    result = cli("collect", "--db", tmp_path / "iw.duckdb", "--nats-url", url)
    assert result.exit_code == 1
    assert f"cannot connect to NATS at {url}" in result.stderr


def test_collectors_seal_the_evidence_log_while_they_run(tmp_path):
    """Not only when `insiderwatch collect` stops: a collector may run for weeks."""
    key = HashKey(bytes.fromhex(KEY_HEX))
    deployment = load_deployment({"db": str(tmp_path / "iw.duckdb"), "hash_key": KEY_HEX})
    store = Store(tmp_path / "iw.duckdb", threads=1)
    sink = StoreSink(deployment, key, locked(store))
    roster = write_sample(tmp_path / "roster", "jsonl", only=("employees",))
    rows = (roster / "employees.jsonl").read_text().splitlines()
    ingest_records(deployment, "employees", rows, source="t", store=store, sealed=False)
    ingest_records(deployment, "access", [event(1).decode()], source="t", store=store,
                   sealed=False)  # fmt: skip

    def sealed() -> int:
        read = sink.write(lambda s: s.has_table("evidence_batches") and s.scalar(
            "SELECT coalesce(sum(leaves), 0) FROM evidence_batches"))  # fmt: skip
        return int(read or 0)

    async def run() -> tuple[int, int]:
        stop = asyncio.Event()
        sealer = Sealer(deployment, every=0.05)
        task = asyncio.create_task(run_upkeep(sink.write, [sealer], stop))
        for _ in range(600):  # until sealed, with the collector still running
            if sealed():
                break
            await asyncio.sleep(0.05)
        while_running = sealed()
        stop.set()
        await task
        return while_running, sealer.leaves

    assert asyncio.run(run()) == (1, 1)
    store.close()
