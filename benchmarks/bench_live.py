"""Live collection benchmark, detection off: events/s and arrival-to-commit latency
through NATS JetStream and HTTP into the store, beside a bare NATS publish/consume loop
in the same run; then arrival-to-alert latency with live detection on.

Run by `make bench-live`. Starts a private nats-server (JetStream on, its own folder)
and, for each ingest path, a fresh store holding a roster and the process that loads it:
`collect` (`insiderwatch collect`, the JetStream collector alone), `nats` (the same
collector inside `insiderwatch serve`, committing through its single writer) and `http`
(`POST /v1/events` of `insiderwatch serve`). The server runs with live detection off
(no step is ever due; `--detection on` runs it as deployed) and its compaction on.
Each path is offered events at fixed rates (default 2,000 and 20,000 events/s, then as
fast as the publisher can): on NATS one event per message as a source would publish
them, over HTTP a request every 100 ms (as fast as four clients get answers, 2,000
lines each, for the max phase). An event counts as committed when it is acknowledged:
on NATS when the durable consumer's ack floor passes it (read every 20 ms; the collector
acks only after the commit), over HTTP when its request's 202 arrives (sent after the
commit); its latency is that moment minus the moment it was sent. Also printed: the
loading process's CPU and peak memory per phase, and the machine. The reference is the
same NATS traffic through a bare JetStream pull consumer that acks without storing
anything. Then arrival-to-alert latency: simulated companies published on NATS, one
message per event, to `insiderwatch serve` at several offered rates, each alert line
timed from the arrival of the event that caused it to its appearance in the operational
store (benchmarks/alert_latency.py says how, and what the in-process reference is).
Asserts nothing.

    python benchmarks/bench_live.py [--seconds 10] [--rates 2000,20000] [--employees 2000]
        [--paths collect,nats,http] [--detection off|on] [--throughput-only]
        [--latency-rates 2000,5000,20000] [--companies classic:11,eu-telco:5] [--repeats 1]
        [--latency-only]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec
import numpy as np
import psutil
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import nats  # noqa: E402
from nats.js.api import AckPolicy, ConsumerConfig, StreamConfig  # noqa: E402

import alert_latency as lat  # noqa: E402
from insiderwatch.app.deployment import load_deployment  # noqa: E402
from insiderwatch.app.tokens import create_token  # noqa: E402
from machine import describe  # noqa: E402
from synthetic import employees, events  # noqa: E402

PREFIX = "insiderwatch.events"
STREAM, DURABLE = "INSIDERWATCH", "insiderwatch"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_nats(folder: Path) -> tuple[subprocess.Popen, str]:
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    port = free_port()
    proc = subprocess.Popen(
        [binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(folder / "js")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, f"nats://127.0.0.1:{port}"
        time.sleep(0.1)
    raise SystemExit("nats-server did not start (tools/provision.sh installs it)")


def encoded_events(n: int, employees_n: int, start_id: int, seed: int) -> list[bytes]:
    """``n`` contract access records as JSON, one message each."""
    rows = events(n, seed=seed, employees_n=employees_n, start_id=start_id).to_pylist()
    encoder = msgspec.json.Encoder()
    return [encoder.encode({k: v for k, v in row.items() if v is not None}) for row in rows]


@dataclass
class Phase:
    name: str
    offered: float | None  # events/s; None = as fast as the publisher can
    published: int = 0
    committed: int = 0
    seconds: float = 0.0  # first publish to last commit
    span: float = 0.0  # first commit to last commit
    p50: float = float("nan")
    p99: float = float("nan")
    cpu: float = float("nan")  # collector CPU, % of one core
    rss_mb: float = float("nan")

    @property
    def rate(self) -> float:
        return self.committed / self.seconds if self.seconds else 0.0

    @property
    def kept_up(self) -> bool:
        """Committed as fast as offered: a loader that keeps up commits the phase's events
        over as long as they took to send, one that falls behind over longer."""
        return bool(
            self.offered and self.span and self.committed / self.span >= 0.95 * self.offered
        )


async def publish_paced(nc, bodies: list[bytes], rate: float | None, sent_at: np.ndarray) -> None:
    """Core publishes (the stream stores them) in 10 ms ticks at ``rate`` events/s."""
    tick = 0.01
    per_tick = len(bodies) if rate is None else max(1, round(rate * tick))
    began = time.perf_counter()
    subject = f"{PREFIX}.bench"
    for start in range(0, len(bodies), per_tick):
        chunk = bodies[start : start + per_tick]
        now = time.perf_counter()
        for body in chunk:
            await nc.publish(subject, body)
        sent_at[start : start + len(chunk)] = now
        await nc.flush()
        if rate is not None:
            wait = began + (start + per_tick) / rate - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)


async def watch_acks(js, consumer: str, first_seq: int, n: int, acked_at: np.ndarray) -> None:
    """Stamp each message with the time the consumer's ack floor passed it."""
    done = 0
    deadline = time.perf_counter() + 600
    while done < n and time.perf_counter() < deadline:
        info = await js.consumer_info(STREAM, consumer)
        floor = min(info.ack_floor.stream_seq - first_seq + 1, n)
        if floor > done:
            acked_at[done:floor] = time.perf_counter()
            done = floor
        await asyncio.sleep(0.02)


async def run_phase(url: str, phase: Phase, bodies: list[bytes], consumer: str, proc) -> Phase:
    nc = await nats.connect(url)
    js = nc.jetstream()
    first_seq = (await js.stream_info(STREAM)).state.last_seq + 1
    sent_at = np.zeros(len(bodies))
    acked_at = np.zeros(len(bodies))
    watched = psutil.Process(proc.pid) if proc else None
    if watched:
        watched.cpu_percent()
    began = time.perf_counter()
    watcher = asyncio.create_task(watch_acks(js, consumer, first_seq, len(bodies), acked_at))
    peak = 0.0
    sender = asyncio.create_task(publish_paced(nc, bodies, phase.offered, sent_at))
    while not watcher.done():
        if watched:
            peak = max(peak, watched.memory_info().rss / 2**20)
        await asyncio.sleep(0.1)
    await sender
    phase.published = len(bodies)
    ok = acked_at > 0
    phase.committed = int(ok.sum())
    phase.seconds = float(acked_at[ok].max() - began) if ok.any() else 0.0
    phase.span = float(acked_at[ok].max() - acked_at[ok].min()) if ok.any() else 0.0
    latency = acked_at[ok] - sent_at[ok]
    if len(latency):
        phase.p50, phase.p99 = (float(x) for x in np.percentile(latency, [50, 99]))
    if watched:
        phase.cpu, phase.rss_mb = watched.cpu_percent(), peak
    await nc.close()
    return phase


async def bare_consumer(url: str, stop: asyncio.Event) -> None:
    """The reference: a pull consumer that acks every message and stores nothing."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    sub = await js.pull_subscribe(
        f"{PREFIX}.>",
        durable="bare",
        stream=STREAM,
        config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, max_ack_pending=8000),
    )
    while not stop.is_set():
        try:
            msgs = await sub.fetch(2000, timeout=0.05)
        except TimeoutError:
            continue
        for msg in msgs:
            await msg.ack()
    await nc.close()


async def reference(url: str, bodies: list[bytes]) -> Phase:
    nc = await nats.connect(url)
    await nc.jetstream().add_stream(StreamConfig(name=STREAM, subjects=[f"{PREFIX}.>"]))
    await nc.close()
    stop = asyncio.Event()
    consumer = asyncio.create_task(bare_consumer(url, stop))
    await asyncio.sleep(0.5)  # the consumer exists before the first message
    phase = await run_phase(url, Phase("bare NATS loop (reference)", None), bodies, "bare", None)
    stop.set()
    await consumer
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.delete_consumer(STREAM, "bare")
    await js.purge_stream(STREAM)
    await nc.close()
    return phase


# Live detection off: no step is ever due (neither the interval nor the event count).
DETECTION_OFF = {
    "INSIDERWATCH_DETECT_INTERVAL_SECONDS": "1000000",
    "INSIDERWATCH_DETECT_AFTER_EVENTS": str(10**12),
}


def fresh_store(folder: Path, url: str, roster: Path) -> tuple[Path, dict[str, str]]:
    """A store holding the roster, and the environment that opens it (key, NATS)."""
    folder.mkdir(parents=True)
    db = folder / "store" / "iw.duckdb"
    env = {
        **os.environ,
        "INSIDERWATCH_SECRET_FILE": str(folder / "hash.key"),
        "INSIDERWATCH_NATS_URL": url,
    }
    subprocess.run(
        [str(BIN / "insiderwatch"), "ingest", str(roster), "--db", str(db)],
        check=True,
        env=env,
        capture_output=True,
    )
    return db, env


def start_collector(folder: Path, url: str, roster: Path) -> subprocess.Popen:
    db, env = fresh_store(folder, url, roster)
    return subprocess.Popen(
        [str(BIN / "insiderwatch"), "collect", "--db", str(db), "--json"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )


@dataclass
class Server:
    proc: subprocess.Popen
    api: str
    token: str  # a collector's, for POST /v1/events


def start_server(folder: Path, url: str | None, roster: Path, detection: bool) -> Server:
    """`insiderwatch serve` over a fresh store (its NATS collector on when ``url``)."""
    db, env = fresh_store(folder, url or "", roster)
    if not url:
        env.pop("INSIDERWATCH_NATS_URL")
    if not detection:
        env |= DETECTION_OFF
    deployment = load_deployment({"db": db, "secret_file": env["INSIDERWATCH_SECRET_FILE"]})
    with deployment.open_ops() as ops:
        token = create_token(ops, kind="source", owner="bench", actor="bench").token
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "insiderwatch"), "serve", "--db", str(db), "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=(folder / "server.log").open("w"),
    )  # fmt: skip
    api = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{api}/healthz", timeout=1).status_code == 200:
                return Server(proc, api, token)
        except httpx.TransportError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit((folder / "server.log").read_text()[-2000:]) from None
            time.sleep(0.2)


async def wait_for_consumer(url: str, proc: subprocess.Popen) -> None:
    nc = await nats.connect(url)
    js = nc.jetstream()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("the collecting process exited at start")
        try:
            await js.consumer_info(STREAM, DURABLE)
            break
        except nats.js.errors.NotFoundError:
            await asyncio.sleep(0.2)
    await nc.close()


def print_table(phases: list[Phase], ref: Phase) -> None:
    print(
        f"{'phase':<34} {'offered/s':>10} {'events':>9} {'committed/s':>12} "
        f"{'p50 s':>7} {'p99 s':>7} {'CPU %':>6} {'RSS MB':>7} {'vs ref':>7}"
    )
    for p in [ref, *phases]:
        offered = f"{p.offered:,.0f}" if p.offered else "max"
        ratio = p.rate / ref.rate if ref.rate else float("nan")
        print(
            f"{p.name:<34} {offered:>10} {p.committed:>9,} {p.rate:>12,.0f} "
            f"{p.p50:>7.3f} {p.p99:>7.3f} {p.cpu:>6.0f} {p.rss_mb:>7.0f} {ratio:>7.2f}"
        )


HTTP_TICK = 0.1  # seconds between paced requests
MAX_REQUEST = 2_000  # lines per request in the max phase
HTTP_CLIENTS = 4


async def run_http_phase(server: Server, phase: Phase, bodies: list[bytes]) -> Phase:
    """The phase's events over HTTP: a request every 100 ms at the offered rate (sent by
    whichever client is free when it is due), or requests of 2,000 lines as fast as the
    clients get answers; an event is committed when its request's 202 arrives."""
    per = MAX_REQUEST if phase.offered is None else max(1, round(phase.offered * HTTP_TICK))
    starts = list(range(0, len(bodies), per))
    sent_at = np.zeros(len(bodies))
    acked_at = np.zeros(len(bodies))
    watched = psutil.Process(server.proc.pid)
    watched.cpu_percent()
    todo = iter(range(len(starts)))
    began = time.perf_counter()

    async def client(c: httpx.AsyncClient) -> None:
        for i in todo:  # one iterator: each request is sent by one client
            start = starts[i]
            chunk = bodies[start : start + per]
            if (
                phase.offered is not None
                and (wait := began + i * HTTP_TICK - time.perf_counter()) > 0
            ):
                await asyncio.sleep(wait)
            now = time.perf_counter()
            content = b"\n".join(chunk)
            while (
                reply := await c.post(f"{server.api}/v1/events", content=content)
            ).status_code == 503:
                await asyncio.sleep(float(reply.headers.get("Retry-After", "1")))
            assert reply.status_code == 202, reply.text
            sent_at[start : start + len(chunk)] = now
            acked_at[start : start + len(chunk)] = time.perf_counter()

    headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/x-ndjson"}
    peak = 0.0
    async with httpx.AsyncClient(timeout=300, headers=headers) as c:
        clients = asyncio.gather(*(client(c) for _ in range(HTTP_CLIENTS)))
        while not clients.done():
            peak = max(peak, watched.memory_info().rss / 2**20)
            await asyncio.sleep(0.1)
        await clients
    phase.published = phase.committed = len(bodies)
    phase.seconds = float(acked_at.max() - began)
    phase.span = float(acked_at.max() - acked_at.min())
    phase.p50, phase.p99 = (float(x) for x in np.percentile(acked_at - sent_at, [50, 99]))
    phase.cpu, phase.rss_mb = watched.cpu_percent(), peak
    return phase


PATHS = {
    "collect": "collect: NATS -> store",
    "nats": "serve: NATS -> store",
    "http": "serve: HTTP -> store",
}


def phase_name(path: str, rate: float | None) -> str:
    return f"{PATHS[path]} at {rate:,.0f}/s" if rate else f"{PATHS[path]}, max rate"


async def nats_phases(url: str, proc, path: str, rates, batches) -> list[Phase]:
    await wait_for_consumer(url, proc)
    phases = []
    for rate, bodies in zip(rates, batches, strict=True):
        phase = await run_phase(url, Phase(phase_name(path, rate), rate), bodies, DURABLE, proc)
        print(f"{phase.name}: {phase.rate:,.0f} events/s, p99 {phase.p99:.3f} s", flush=True)
        phases.append(phase)
    return phases


async def forget_consumer(url: str) -> None:
    """Delete the durable consumer of a stopped path and empty the stream, so that the
    next path's process makes its own consumer (and is waited for) and reads only its
    own phases' messages."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    await js.delete_consumer(STREAM, DURABLE)
    await js.purge_stream(STREAM)
    await nc.close()


async def collect_path(args, folder: Path, url: str, roster: Path, batches) -> list[Phase]:
    proc = start_collector(folder, url, roster)
    try:
        phases = await nats_phases(url, proc, "collect", [*args.rates, None], batches)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=120)
    summary = msgspec.json.decode(out) if out.strip() else {}
    print(
        f"collect: {summary.get('loaded', 0):,} loaded, {summary.get('duplicates', 0):,} "
        f"duplicates, {summary.get('rejected', 0):,} rejected; redelivered "
        f"{summary.get('nats', {}).get('redelivered', 0):,}",
        flush=True,
    )
    return phases


async def serve_path(args, path: str, folder: Path, url: str, roster: Path, batches):
    server = start_server(folder, url if path == "nats" else None, roster, args.detection == "on")
    try:
        if path == "nats":
            return await nats_phases(url, server.proc, path, [*args.rates, None], batches)
        phases = []
        for rate, bodies in zip([*args.rates, None], batches, strict=True):
            phase = await run_http_phase(server, Phase(phase_name(path, rate), rate), bodies)
            print(f"{phase.name}: {phase.rate:,.0f} events/s, p99 {phase.p99:.3f} s", flush=True)
            phases.append(phase)
        return phases
    finally:
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(120)


async def main_async(args: argparse.Namespace, folder: Path, url: str) -> None:
    roster = folder / "roster"
    roster.mkdir()
    pq.write_table(employees(args.employees), roster / "employees.parquet")
    sizes = [int(r * args.seconds) for r in args.rates] + [args.max_events]
    print(f"encoding {sum(sizes) + args.max_events:,} events ...", flush=True)
    ref_bodies = encoded_events(args.max_events, args.employees, 10**8, seed=99)
    # The same events for every path: each loads them into a store of its own.
    batches = [
        encoded_events(n, args.employees, 10**7 * (i + 1), seed=i + 1) for i, n in enumerate(sizes)
    ]
    ref = await reference(url, ref_bodies)
    print(f"reference: {ref.rate:,.0f} events/s", flush=True)
    phases = []
    for path in args.paths:
        if path == "collect":
            phases += await collect_path(args, folder / path, url, roster, batches)
        else:
            phases += await serve_path(args, path, folder / path, url, roster, batches)
        if path in ("collect", "nats"):
            await forget_consumer(url)
    print(f"\nlive detection {args.detection} in serve; load average {os.getloadavg()[0]:.1f}")
    print_table(phases, ref)
    for path in args.paths:
        mine = [p for p in phases if p.name.startswith(PATHS[path])]
        kept = [p for p in mine if p.kept_up]
        best = max(mine, key=lambda p: p.rate)
        top = max(kept, key=lambda p: p.offered or 0, default=None)
        print(
            f"{PATHS[path]}: highest {best.rate:,.0f} events/s ({best.rate / ref.rate:.2f} x "
            f"reference); highest offered rate kept up with: "
            + (
                f"{top.offered:,.0f}/s (p50 {top.p50:.3f} s, p99 {top.p99:.3f} s)"
                if top
                else "none"
            )
        )


async def drained(url: str) -> None:
    """Until the durable consumer has nothing pending or unacked."""
    nc = await nats.connect(url)
    js = nc.jetstream()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        info = await js.consumer_info(STREAM, DURABLE)
        if info.num_pending == 0 and info.num_ack_pending == 0:
            break
        await asyncio.sleep(0.1)
    await nc.close()


def caught_up(api: str, server: subprocess.Popen, seconds: float = 300) -> None:
    """Until live detection has stepped over every loaded event (its lag gauge is 0)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and server.poll() is None:
        try:
            text = httpx.get(f"{api}/metrics", timeout=5).text
            if lat.metric(text, "insiderwatch_detect_lag_seconds") == 0:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)


async def nats_latency(company: lat.Company, folder: Path, rate: float) -> lat.LatencyRow:
    """Publish the company's later events at ``rate`` on NATS, one message each, to a fresh
    `insiderwatch serve` (private nats-server) and time the alert lines they cause."""
    store = lat.fresh_copy(company, folder)
    nats_proc, url = start_nats(store)
    port = lat.free_port()
    server = lat.serve(store, port, {"INSIDERWATCH_NATS_URL": url})
    api = f"http://127.0.0.1:{port}"
    try:
        await wait_for_consumer(url, server)
        watcher = lat.Watcher(store / "iw.ops.sqlite", server.pid)
        watcher.start()
        sent_at = np.zeros(len(company.lines))
        nc = await nats.connect(url)
        await publish_paced(nc, company.lines, rate, sent_at)
        await nc.close()
        await drained(url)
        await asyncio.to_thread(caught_up, api, server)
        await asyncio.sleep(0.5)
        watcher.stop()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(120)
        nats_proc.terminate()
        nats_proc.wait(30)
    sent = dict(zip(company.ids, sent_at.tolist(), strict=True))
    floor = lat.in_process_floor(company, folder.with_name(folder.name + "-floor"), rate)
    return lat.LatencyRow.of("NATS", company.name, rate, len(company.lines), watcher, sent, floor)


async def latency_runs(args: argparse.Namespace, work: Path) -> list[lat.LatencyRow]:
    rows = []
    for profile, seed in args.companies:
        company = lat.simulated_company(work, profile, seed, args.staff, args.days)
        print(f"{company.name}: {len(company.lines):,} events stream", flush=True)
        for rate in args.latency_rates:
            for _ in range(args.repeats):
                row = await nats_latency(company, work / "latency", rate)
                print(f"  NATS at {rate:,.0f}/s: {row.lines} lines, p99 {row.p99:.2f} s",
                      flush=True)  # fmt: skip
                rows.append(row)
    return rows


def companies(text: str) -> list[tuple[str, int]]:
    return [(p, int(s)) for p, s in (item.split(":") for item in text.split(",") if item)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each paced phase")
    parser.add_argument("--rates", default="2000,20000", help="offered events/s, comma-separated")
    parser.add_argument("--max-events", type=int, default=200_000, help="events in the max phase")
    parser.add_argument("--employees", type=int, default=2000)
    parser.add_argument("--paths", default="collect,nats,http",
                        help="ingest paths measured, of collect, nats, http")  # fmt: skip
    parser.add_argument("--detection", choices=["off", "on"], default="off",
                        help="live detection in serve during the throughput runs")  # fmt: skip
    parser.add_argument("--latency-only", action="store_true", help="skip the throughput runs")
    parser.add_argument("--throughput-only", action="store_true",
                        help="skip the arrival-to-alert runs")  # fmt: skip
    parser.add_argument("--latency-rates", default="2000,5000,20000",
                        help="offered events/s of the arrival-to-alert runs")  # fmt: skip
    parser.add_argument("--companies", type=companies, default=companies("classic:11,eu-telco:5"),
                        help="simulated companies for latency, profile:seed,...")  # fmt: skip
    parser.add_argument("--staff", type=int, default=200, help="staff per company (latency)")
    parser.add_argument("--days", type=int, default=14, help="days per company (latency)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per company and rate")
    args = parser.parse_args()
    args.rates = [float(r) for r in args.rates.split(",") if r]
    args.paths = [p for p in args.paths.split(",") if p]
    if unknown := set(args.paths) - set(PATHS):
        parser.error(
            f"unknown path(s) {', '.join(sorted(unknown))}: choose from {', '.join(PATHS)}"
        )
    args.latency_rates = [float(r) for r in args.latency_rates.split(",") if r]
    print(f"machine: {describe()}, load average {os.getloadavg()[0]:.1f}")
    folder = Path(tempfile.mkdtemp(prefix="iw-bench-live-"))
    try:
        if not args.latency_only:
            server, url = start_nats(folder)
            try:
                asyncio.run(main_async(args, folder, url))
            finally:
                server.terminate()
                server.wait(timeout=30)
        if not args.throughput_only:
            lat.print_latency(asyncio.run(latency_runs(args, folder)))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
