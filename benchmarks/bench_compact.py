"""Segment compaction: what many small HTTP batches cost every later read, before and
after `insiderwatch store compact`, in the same run on the same store.

Starts `insiderwatch serve` (its compaction and live detection off) over a fresh store
holding a roster, and sends synthetic events from one client in small requests (each
request one batch, one Parquet segment). Then, with the server stopped: one detection
run (compaction merges only segments detection has read), the reads below timed, the
compaction (app.compact, what the command runs), the same reads timed again. Each read
is run once to warm up, then ``--reps`` times; the median is printed. Reads: a full scan
(count, distinct staff, sum), detection's own read of the whole history and of the last
day (the temp table a run or a live step starts from), one employee's accesses, a
detection run with nothing new (it redoes the current day, as a live step does), and
loading one more request of the same size on a copy of the store (ingest checks its ids
against every stored event). Asserts nothing.

    python benchmarks/bench_compact.py [--events 50000] [--request-lines 50,500] [--reps 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import msgspec

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_serve import KEY_HEX, free_port, fresh, wait_healthy  # noqa: E402
from insiderwatch import app  # noqa: E402
from insiderwatch.app.compact import compact  # noqa: E402
from insiderwatch.app.tokens import create_token  # noqa: E402
from machine import describe  # noqa: E402
from synthetic import events  # noqa: E402

# Compaction off (a merge needs at least two segments) and no detection step ever due.
SERVE_ENV = {
    "INSIDERWATCH_HASH_KEY": KEY_HEX,
    "INSIDERWATCH_COMPACT_MIN_SEGMENTS": "1",
    "INSIDERWATCH_DETECT_INTERVAL_SECONDS": "1000000",
    "INSIDERWATCH_DETECT_AFTER_EVENTS": str(10**12),
}


def stream(folder: Path, requests: list[list[str]]) -> tuple[app.Deployment, list[float]]:
    """Send the requests one after another over HTTP; the seconds each took to its 202."""
    deployment = fresh(folder)
    with deployment.open_ops() as ops:
        token = create_token(ops, kind="source", owner="bench", actor="bench").token
    port = free_port()
    log = folder / "server.log"
    server = subprocess.Popen(
        [sys.executable, "-c", "from insiderwatch.cli import main; main()", "serve",
         "--db", str(folder / "iw.duckdb"), "--port", str(port)],
        env={**os.environ, **SERVE_ENV}, stdout=subprocess.DEVNULL, stderr=log.open("w"),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, server, log)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/x-ndjson"}
    took = []
    with httpx.Client(timeout=120, headers=headers) as client:
        for lines in requests:
            began = time.perf_counter()
            reply = client.post(f"{url}/v1/events", content="\n".join(lines).encode())
            assert reply.status_code == 202, reply.text
            took.append(time.perf_counter() - began)
    server.send_signal(signal.SIGTERM)
    server.wait(120)
    return deployment, took


def median_seconds(fn: Callable[[], object], reps: int) -> float:
    fn()
    times = []
    for _ in range(reps):
        began = time.perf_counter()
        fn()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def reads(deployment: app.Deployment, probes: list[list[str]], reps: int) -> dict[str, float]:
    """Median seconds of each read on the store as it stands."""
    with deployment.open_store() as store:
        con = store.con
        first, last = con.execute("SELECT min(time), max(time) FROM access").fetchone()
        last_day = dt.datetime.combine(last.date(), dt.time(), tzinfo=dt.UTC)
        who = con.execute("SELECT min(employee_id) FROM access").fetchone()[0]

        def detection_read(since: dt.datetime) -> None:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE run_events AS SELECT * FROM access "
                "WHERE time >= ? AND time <= ? ORDER BY time",
                [since, last],
            )
            con.execute("DROP TABLE run_events")

        out = {
            "files": len(store.segment_files()),
            "full scan (count, distinct staff, sum)": median_seconds(
                lambda: con.execute(
                    "SELECT count(*), count(DISTINCT employee_id), sum(record_count) FROM access"
                ).fetchall(),
                reps,
            ),
            "detection read, whole history": median_seconds(lambda: detection_read(first), reps),
            "detection read, last day (live step)": median_seconds(
                lambda: detection_read(last_day), reps
            ),
            "one employee's accesses": median_seconds(
                lambda: con.execute(
                    "SELECT * FROM access WHERE employee_id = ? ORDER BY time", [who]
                ).fetchall(),
                reps,
            ),
        }
    out["detection run, nothing new"] = median_seconds(lambda: app.detect(deployment), reps)
    out["loading one more request"] = load_probes(deployment, probes, reps)
    return out


def load_probes(deployment: app.Deployment, probes: list[list[str]], reps: int) -> float:
    """Median seconds to load one more request, on a copy of the store (the probes'
    segments would otherwise stay behind as small ones of their own)."""
    folder = deployment.store_path.parent
    copy = folder.with_name(folder.name + "-probe")
    shutil.copytree(folder, copy)
    try:
        probe = app.load_deployment({"db": copy / deployment.store_path.name, "hash_key": KEY_HEX})
        todo = iter(probes)
        with probe.open_store() as store:
            return median_seconds(
                lambda: app.ingest_records(
                    probe, "access", next(todo), source="probe", store=store, sealed=False
                ),  # fmt: skip
                reps,
            )
    finally:
        shutil.rmtree(copy, ignore_errors=True)


def run(work: Path, size: int, lines: list[str], probes: list[list[str]], reps: int) -> None:
    requests = [lines[k : k + size] for k in range(0, len(lines), size)]
    deployment, took = stream(work / f"r{size}", requests)
    tenth = max(1, len(took) // 10)
    first, last = statistics.median(took[:tenth]), statistics.median(took[-tenth:])
    print(f"\n{len(lines):,} events in {len(requests):,} requests of {size} lines over HTTP, "
          f"compaction off: {len(lines) / sum(took):,.0f} events/s; median request "
          f"{first:.3f} s in the first tenth, {last:.3f} s in the last ({last / first:.2f} x)",
          flush=True)  # fmt: skip
    # The server ran a last detection step as it stopped; this run makes sure every
    # batch has been read (compaction merges nothing else).
    app.detect(deployment)
    before = reads(deployment, probes, reps)
    began = time.perf_counter()
    report = compact(deployment)
    took = time.perf_counter() - began
    print(f"compaction: {report.merged:,} segments into {report.written:,}, {report.rows:,} "
          f"events rewritten in {took:.1f} s ({report.rows / took:,.0f} events/s)")  # fmt: skip
    after = reads(deployment, probes, reps)
    print(f"{'':<40} {'before':>9} {'after':>9} {'after/before':>12}")
    print(f"{'segment files (access)':<40} {before['files']:>9,} {after['files']:>9,}")
    for name in before:
        if name != "files":
            b, a = before[name], after[name]
            print(f"{name + ', s':<40} {b:>9.3f} {a:>9.3f} {a / b:>12.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--request-lines", default="50,500", help="request sizes, comma-separated")
    parser.add_argument("--reps", type=int, default=5)
    args = parser.parse_args()
    print(describe(), f"; load average {os.getloadavg()[0]:.1f}")
    encoder = msgspec.json.Encoder()

    def encoded(n: int, start_id: int, seed: int) -> list[str]:
        rows = events(n, seed=seed, start_id=start_id).to_pylist()
        return [encoder.encode({k: v for k, v in r.items() if v is not None}).decode()
                for r in rows]  # fmt: skip

    lines = encoded(args.events, 0, 3)
    work = Path(tempfile.mkdtemp(prefix="bench-compact-"))
    try:
        for size in [int(s) for s in args.request_lines.split(",") if s]:
            extra = encoded(size * (args.reps + 1), 10**8, 5)
            probes = [extra[k : k + size] for k in range(0, len(extra), size)]
            run(work, size, lines, probes, args.reps)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
