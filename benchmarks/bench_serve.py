"""HTTP collector benchmark: events/s through `insiderwatch serve` (POST /v1/events,
NDJSON, several clients at once), and how long live detection then takes to catch up,
against the same events through app.ingest_records in-process in the same run (the
reference: the same pipeline without HTTP, the queue and coalescing).

Run by `make bench-serve`. Starts the server as its own process over a fresh store
holding the roster, with a collector token; offers the events as fast as the clients can
send them; a request counts when its 202 (after the commit) arrives. Prints the machine,
events/s, the server's CPU and peak memory, the detection steps (count, mean seconds)
from /metrics. Then arrival-to-alert latency: simulated companies (several profiles and
seeds) streamed into the server at several offered rates, each alert line timed from the
arrival of the event that caused it to its appearance in the operational store, beside an
in-process floor (benchmarks/alert_latency.py). Asserts nothing.

    python benchmarks/bench_serve.py [--events 200000] [--request-lines 2000] [--clients 4]
        [--rates 2000,5000,20000] [--companies classic:11,eu-telco:5] [--repeats 1]
        [--latency-only]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import msgspec
import psutil

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import alert_latency as lat  # noqa: E402
from insiderwatch import app  # noqa: E402
from insiderwatch.app.tokens import create_token  # noqa: E402
from machine import describe  # noqa: E402
from synthetic import employees, events  # noqa: E402

KEY_HEX = "62656e63682d6b65792d30313233343536373839616263646566"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fresh(folder: Path) -> app.Deployment:
    shutil.rmtree(folder, ignore_errors=True)
    deployment = app.load_deployment({"db": folder / "iw.duckdb", "hash_key": KEY_HEX})
    roster = [msgspec.json.encode(r) for r in employees().to_pylist()]
    app.ingest_records(deployment, "employees", roster, source="bench-roster")
    return deployment


def reference(folder: Path, requests: list[list[str]]) -> float:
    deployment = fresh(folder)
    with deployment.open_store() as store:
        began = time.perf_counter()
        for lines in requests:
            app.ingest_records(
                deployment, "access", lines, source="bench", store=store, sealed=False
            )
        return time.perf_counter() - began


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return float("nan")


def through_http(folder: Path, requests: list[list[str]], clients: int, live: bool) -> dict:
    deployment = fresh(folder)
    with deployment.open_ops() as ops:
        token = create_token(ops, kind="source", owner="bench", actor="bench").token
    port = free_port()
    env = {
        **os.environ,
        "INSIDERWATCH_HASH_KEY": KEY_HEX,
        "INSIDERWATCH_COMPACT_MIN_SEGMENTS": "16",
    }
    if not live:  # detection really off: no step is ever due
        env |= {
            "INSIDERWATCH_DETECT_INTERVAL_SECONDS": "1000000",
            "INSIDERWATCH_DETECT_AFTER_EVENTS": str(10**12),
        }
    server = subprocess.Popen(
        [sys.executable, "-c", "from insiderwatch.cli import main; main()", "serve",
         "--db", str(folder / "iw.duckdb"), "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=(folder / "server.log").open("w"),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise SystemExit((folder / "server.log").read_text()[-2000:]) from None
            time.sleep(0.2)
    proc = psutil.Process(server.pid)
    cpu0 = proc.cpu_times()
    peak = [proc.memory_info().rss]
    todo = list(reversed(requests))
    lock = threading.Lock()
    busy = [0]

    def client() -> None:
        with httpx.Client(timeout=120, headers={"Authorization": f"Bearer {token}",
                                                "Content-Type": "application/x-ndjson"}) as c:  # fmt: skip
            while True:
                with lock:
                    if not todo:
                        return
                    lines = todo.pop()
                body = "\n".join(lines).encode()
                while (reply := c.post(f"{url}/v1/events", content=body)).status_code == 503:
                    with lock:
                        busy[0] += 1
                    time.sleep(float(reply.headers.get("Retry-After", "1")))
                assert reply.status_code == 202, reply.text

    began = time.perf_counter()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        peak.append(proc.memory_info().rss)
        time.sleep(0.2)
    loaded = time.perf_counter() - began
    # Live detection catches up: the lag gauge returns to 0 after a step.
    while live and metric(httpx.get(f"{url}/metrics").text, "insiderwatch_detect_lag_seconds") > 0:
        peak.append(proc.memory_info().rss)
        time.sleep(0.2)
    caught_up = time.perf_counter() - began
    cpu1 = proc.cpu_times()
    text = httpx.get(f"{url}/metrics").text
    server.send_signal(signal.SIGTERM)
    server.wait(120)
    return {
        "seconds": loaded,
        "caught_up": caught_up,
        "cpu": 100 * (cpu1.user + cpu1.system - cpu0.user - cpu0.system) / caught_up,
        "rss_mb": max(peak) / 2**20,
        "steps": metric(text, "insiderwatch_detect_step_seconds_count"),
        "step_sum": metric(text, "insiderwatch_detect_step_seconds_sum"),
        "busy": busy[0],
        "compacted": metric(text, "insiderwatch_segments_compacted_total"),
    }


def wait_healthy(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(log.read_text()[-2000:]) from None
            time.sleep(0.2)


def http_latency(company: lat.Company, folder: Path, rate: float, clients: int) -> lat.LatencyRow:
    """Stream the company's later events at ``rate`` into a fresh server, 10 requests a
    second (each sent by whichever client is free when it is due); time alert lines."""
    store = lat.fresh_copy(company, folder)
    deployment = lat.deployment_at(store)
    with deployment.open_ops() as ops:
        token = create_token(ops, kind="source", owner="latency", actor="bench").token
    port = lat.free_port()
    server = lat.serve(store, port, {})
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, server, store / "server.log")
    watcher = lat.Watcher(store / "iw.ops.sqlite", server.pid)
    watcher.start()
    per = max(1, round(rate / 10))
    chunks = [company.lines[k : k + per] for k in range(0, len(company.lines), per)]
    ids = [company.ids[k : k + per] for k in range(0, len(company.ids), per)]
    sent: dict[str, float] = {}
    lock, nxt = threading.Lock(), [0]
    began = time.perf_counter() + 0.2

    def client() -> None:
        with httpx.Client(timeout=120, headers={"Authorization": f"Bearer {token}",
                                                "Content-Type": "application/x-ndjson"}) as c:  # fmt: skip
            while True:
                with lock:
                    i = nxt[0]
                    nxt[0] += 1
                if i >= len(chunks):
                    return
                wait = began + i / 10 - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                now = time.perf_counter()
                with lock:
                    sent.update(dict.fromkeys(ids[i], now))
                body = b"\n".join(chunks[i])
                while (reply := c.post(f"{url}/v1/events", content=body)).status_code == 503:
                    time.sleep(float(reply.headers.get("Retry-After", "1")))
                assert reply.status_code == 202, reply.text

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        text = httpx.get(f"{url}/metrics").text
        if lat.metric(text, "insiderwatch_detect_lag_seconds") == 0:
            break
        time.sleep(0.2)
    time.sleep(0.5)
    watcher.stop()
    server.send_signal(signal.SIGTERM)
    server.wait(120)
    floor = lat.in_process_floor(company, folder.with_name(folder.name + "-floor"), rate)
    return lat.LatencyRow.of("HTTP", company.name, rate, len(company.lines), watcher, sent, floor)


def latency_runs(args: argparse.Namespace, work: Path) -> list[lat.LatencyRow]:
    rows = []
    for profile, seed in args.companies:
        company = lat.simulated_company(work, profile, seed, args.employees, args.days)
        print(f"{company.name}: {len(company.lines):,} events stream", flush=True)
        for rate in args.rates:
            for _ in range(args.repeats):
                row = http_latency(company, work / "latency", rate, args.clients)
                print(f"  HTTP at {rate:,.0f}/s: {row.lines} lines, p99 {row.p99:.2f} s",
                      flush=True)  # fmt: skip
                rows.append(row)
    return rows


def companies(text: str) -> list[tuple[str, int]]:
    return [(p, int(s)) for p, s in (item.split(":") for item in text.split(",") if item)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--request-lines", type=int, default=2_000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--latency-only", action="store_true", help="skip the throughput runs")
    parser.add_argument("--rates", default="2000,5000,20000", help="offered events/s (latency)")
    parser.add_argument("--companies", type=companies, default=companies("classic:11,eu-telco:5"),
                        help="simulated companies for latency, profile:seed,...")  # fmt: skip
    parser.add_argument("--employees", type=int, default=200, help="staff per company (latency)")
    parser.add_argument("--days", type=int, default=14, help="days per company (latency)")
    parser.add_argument("--repeats", type=int, default=1, help="runs per company and rate")
    args = parser.parse_args()
    args.rates = [float(r) for r in args.rates.split(",") if r]
    print(describe(), f"; load average {os.getloadavg()[0]:.1f}")
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    try:
        if not args.latency_only:
            throughput(args, work)
        lat.print_latency(latency_runs(args, work))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def throughput(args: argparse.Namespace, work: Path) -> None:
    encoder = msgspec.json.Encoder()
    rows = events(args.events, seed=3).to_pylist()
    lines = [encoder.encode({k: v for k, v in r.items() if v is not None}).decode() for r in rows]
    size = args.request_lines
    requests = [lines[k : k + size] for k in range(0, len(lines), size)]
    print(f"{len(lines):,} events in {len(requests):,} requests of {size:,} lines, "
          f"{args.clients} clients")  # fmt: skip
    ref = reference(work / "reference", requests)
    bare = through_http(work / "bare", requests, args.clients, live=False)
    http = through_http(work / "http", requests, args.clients, live=True)
    n = len(lines)
    print(f"reference  app.ingest_records in-process: {n / ref:>10,.0f} events/s ({ref:.1f} s)")
    print(f"HTTP       POST /v1/events, no detection: {n / bare['seconds']:>10,.0f} events/s "
          f"({bare['seconds']:.1f} s; {n / bare['seconds'] / (n / ref):.2f} x reference; "
          f"server CPU {bare['cpu']:.0f}%, peak {bare['rss_mb']:.0f} MB)")  # fmt: skip
    print(f"HTTP       with live detection:           {n / http['seconds']:>10,.0f} events/s "
          f"({http['seconds']:.1f} s; {n / http['seconds'] / (n / ref):.2f} x reference; "
          f"503 answers {http['busy']})")  # fmt: skip
    mean = http["step_sum"] / http["steps"] if http["steps"] else float("nan")
    print(f"live detection caught up {http['caught_up']:.1f} s after the first request "
          f"({http['steps']:.0f} steps, mean {mean:.2f} s); segments compacted "
          f"{http['compacted']:.0f}")  # fmt: skip
    print(f"server CPU {http['cpu']:.0f}% of one core, peak memory {http['rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()
