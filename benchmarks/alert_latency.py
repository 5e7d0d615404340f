"""Arrival-to-alert latency of `insiderwatch serve`, shared by bench-serve (HTTP) and
bench-live (NATS).

A simulated company (several profiles and seeds) is split where its first insider acts:
the days before are loaded and detected in advance (the deployment's history), the rest
streams into a running server at a fixed offered rate, in event-time order. Each event's
arrival is the moment its request or message was sent. A thread reads the operational
store (where analysts see alerts, what `GET /v1/alerts` answers from) every 50 ms and
stamps each alert-history line when it first appears. A line's latency is that moment
minus the arrival of the last-arriving streamed event in its evidence: the event that
caused it. Evidence is capped per alert, so where the causing event was left out the
latency is overstated, never understated. Lines whose evidence holds no streamed event
(history being rewritten) are not counted.

The reference, measured in the same run, is the floor the service stands on: in-process,
on a copy of the same prepared store, one second of the stream at that rate loaded by
`app.ingest_records` and then one `app.detect_step`, timed together (median of the
seconds it takes), with no HTTP, NATS, queue or waiting for the step to be due.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psutil
import pyarrow.compute as pc
import pyarrow.parquet as pq

from insiderwatch import app

KEY_HEX = "6c6174656e63792d62656e63682d6b65792d303132333435363738396162"
DB = "iw.duckdb"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Company:
    name: str  # profile/seed
    prepared: Path  # store (history loaded and detected) and its ops store, to copy per run
    lines: list[bytes]  # the later events as JSON lines, in event-time order
    ids: list[str]


def deployment_at(folder: Path) -> app.Deployment:
    return app.load_deployment({"db": folder / DB, "hash_key": KEY_HEX})


def simulated_company(work: Path, profile: str, seed: int, employees: int, days: int) -> Company:
    """Simulate, load the days before the first insider acts and detect them once."""
    name = f"{profile}/{seed}"
    folder = work / f"{profile}-{seed}"
    dataset, history = folder / "dataset", folder / "history"
    subprocess.run(
        [sys.executable, "-c", "from insiderwatch.cli import main; main()", "simulate",
         "--employees", str(employees), "--days", str(days), "--seed", str(seed),
         "--profile", profile, "--out", str(dataset), "--truth", str(folder / "truth.json")],
        check=True, capture_output=True,
    )  # fmt: skip
    truth = json.loads((folder / "truth.json").read_text())
    since = min(datetime.fromisoformat(i["first_malicious_at"]) for i in truth["insiders"])
    since = since.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
    history.mkdir()
    for path in dataset.iterdir():
        if path.name != "access.parquet":
            shutil.copy(path, history / path.name)
    access = pq.read_table(dataset / "access.parquet")
    early = pc.less(access["time"], since)
    pq.write_table(access.filter(early), history / "access.parquet")
    later = access.filter(pc.invert(early)).sort_by("time")
    lines = [
        json.dumps({k: v for k, v in row.items() if v is not None}, default=str).encode()
        for row in later.to_pylist()
    ]
    prepared = folder / "prepared"
    deployment = deployment_at(prepared)
    app.ingest_paths(deployment, [history])
    app.detect(deployment)
    return Company(name, prepared, lines, later["event_id"].to_pylist())


def fresh_copy(company: Company, folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(company.prepared, folder)
    return folder


@dataclass
class Watcher:
    """Stamps each alert-history line when it first appears in the operational store;
    also samples the server's memory and, from start to stop, its CPU."""

    ops_file: Path
    pid: int
    seen: list[tuple[float, list[str]]] = field(default_factory=list)
    cpu: float = float("nan")  # % of one core
    rss_mb: float = 0.0  # peak
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._server = psutil.Process(self.pid)
        self._cpu0, self._began = self._server.cpu_times(), time.perf_counter()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()
        cpu1 = self._server.cpu_times()
        used = cpu1.user + cpu1.system - self._cpu0.user - self._cpu0.system
        self.cpu = 100 * used / (time.perf_counter() - self._began)

    def _loop(self) -> None:
        con = sqlite3.connect(f"file:{self.ops_file}?mode=ro", uri=True, timeout=5)
        last = con.execute("SELECT coalesce(max(rowid), 0) FROM alert_lines").fetchone()[0]
        while not self._stop.is_set():
            try:
                rows = con.execute(
                    "SELECT rowid, line FROM alert_lines WHERE rowid > ? ORDER BY rowid", [last]
                ).fetchall()
            except sqlite3.OperationalError:  # a writer holds it this instant
                rows = []
            now = time.perf_counter()
            self.rss_mb = max(self.rss_mb, self._server.memory_info().rss / 2**20)
            for rowid, line in rows:
                self.seen.append((now, json.loads(line)["event_ids"]))
                last = rowid
            self._stop.wait(0.05)
        con.close()


def latencies(sent: dict[str, float], seen: list[tuple[float, list[str]]]) -> np.ndarray:
    out = []
    for at, event_ids in seen:
        arrivals = [sent[e] for e in event_ids if e in sent]
        if arrivals:
            out.append(at - max(arrivals))
    return np.array(out)


def in_process_floor(company: Company, folder: Path, rate: float, repeats: int = 3) -> float:
    """Median seconds to load one second of the stream at ``rate`` and step detection."""
    deployment = deployment_at(fresh_copy(company, folder))
    per = max(1, int(rate))
    times = []
    with deployment.open_store() as store:
        for k in range(repeats):
            chunk = [b.decode() for b in company.lines[k * per : (k + 1) * per]]
            if not chunk:
                break
            began = time.perf_counter()
            app.ingest_records(deployment, "access", chunk, source="floor", store=store)
            app.detect_step(deployment, store=store)
            times.append(time.perf_counter() - began)
    shutil.rmtree(folder, ignore_errors=True)
    return float(np.median(times)) if times else float("nan")


def serve(folder: Path, port: int, env_extra: dict[str, str]) -> subprocess.Popen:
    env = {**os.environ, "INSIDERWATCH_HASH_KEY": KEY_HEX, **env_extra}
    return subprocess.Popen(
        [sys.executable, "-c", "from insiderwatch.cli import main; main()", "serve",
         "--db", str(folder / DB), "--port", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=(folder / "server.log").open("w"),
    )  # fmt: skip


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return float("nan")


@dataclass
class LatencyRow:
    path: str
    company: str
    offered: float
    events: int
    lines: int  # alert lines caused by streamed events
    p50: float
    p95: float
    p99: float
    floor: float  # the in-process reference, seconds
    cpu: float  # the server's, % of one core, over the run
    rss_mb: float  # the server's peak
    samples: list[float] = field(default_factory=list, repr=False)  # each line's latency

    @classmethod
    def of(cls, path, company, offered, events, watcher: Watcher, sent, floor) -> LatencyRow:
        lat = latencies(sent, watcher.seen)
        p = np.percentile(lat, [50, 95, 99]) if len(lat) else [float("nan")] * 3
        return cls(
            path, company, offered, events, len(lat), *map(float, p), floor,
            watcher.cpu, watcher.rss_mb, lat.tolist(),
        )  # fmt: skip


def print_latency(rows: list[LatencyRow]) -> None:
    print(
        f"\n{'path':<6} {'company':<20} {'offered/s':>9} {'events':>7} {'lines':>5} "
        f"{'p50 s':>6} {'p95 s':>6} {'p99 s':>6} {'floor s':>7} {'p99/floor':>9} "
        f"{'CPU %':>5} {'RSS MB':>6}"
    )
    for r in rows:
        print(
            f"{r.path:<6} {r.company:<20} {r.offered:>9,.0f} {r.events:>7,} {r.lines:>5} "
            f"{r.p50:>6.2f} {r.p95:>6.2f} {r.p99:>6.2f} {r.floor:>7.2f} {r.p99 / r.floor:>9.2f} "
            f"{r.cpu:>5.0f} {r.rss_mb:>6.0f}"
        )
    for rate in sorted({r.offered for r in rows}):
        at = [r for r in rows if r.offered == rate and r.lines]
        if at:
            worst = max(at, key=lambda r: r.p99)
            print(f"worst p99 at {rate:,.0f}/s: {worst.p99:.2f} s ({worst.path}, {worst.company})")
    # A run holds a dozen lines or so, so its p99 is its worst line; pooled over every
    # company and repeat of a path and rate, the percentiles rest on more lines.
    for path, rate in sorted({(r.path, r.offered) for r in rows}):
        pooled = [x for r in rows if (r.path, r.offered) == (path, rate) for x in r.samples]
        if pooled:
            p50, p99 = np.percentile(pooled, [50, 99])
            floors = [r.floor for r in rows if (r.path, r.offered) == (path, rate)]
            print(f"pooled {path} at {rate:,.0f}/s: {len(pooled)} lines, p50 {p50:.2f} s, "
                  f"p99 {p99:.2f} s, max {max(pooled):.2f} s; floor median "
                  f"{float(np.median(floors)):.2f} s")  # fmt: skip
