"""`insiderwatch collect`: NATS and tailing together into one store, then a summary."""

from __future__ import annotations

import asyncio
import gc
import json

from insiderwatch.sources.streams.nats import NatsConfig
from sample_data import write_sample
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
