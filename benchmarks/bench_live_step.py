"""Live detection step time through a growing day, in process.

Live events arrive in small batches and each batch is followed by a detection step. The
last day is partial until it ends, so how much a step costs as the day fills up is what
decides whether a one-second micro-batch keeps up: a step that redoes the whole day so
far gets slower hour by hour, one that explains only the new events stays flat.

One company is simulated; the days before the last ``--stream-days`` are ingested and
detected (the deployment's history), then the rest is loaded in time order, ``--chunk``
events at a time (20,000: one second at 20k events/s), each chunk followed by one
detection run (what ``app.detect_step`` runs), timed (wall and CPU of the step alone; loading is not timed). Printed
per step: the events of its day so far, the step's wall and CPU seconds, and how many of
the day's events the engine explained afresh (``DetectionRun.explained``, when the engine
reports it); then the engine's query groups by CPU over all streamed steps (as
``bench_replay.py`` groups them). No HTTP, NATS or queue: the floor the service stands on.

    .venv/bin/python benchmarks/bench_live_step.py [--employees 1000] [--days 10]
        [--stream-days 1] [--chunk 20000] [--profile NAME] [--seed S] [--json FILE]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from bench_replay import TimedConnection  # noqa: E402
from insiderwatch import app  # noqa: E402
from insiderwatch.app.keys import existing_key  # noqa: E402
from insiderwatch.detect import run_detection  # noqa: E402
from insiderwatch_sim import PROFILES, SimulationConfig, simulate, write_dataset  # noqa: E402
from machine import describe  # noqa: E402

DEFAULT_SEED = 2718  # never used while developing the engine change it measures


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def prepare(root: Path, args) -> tuple[app.Deployment, list[bytes], list]:
    """The history ingested and detected; the streamed events as JSON lines in time order."""
    cfg = SimulationConfig(
        employees=args.employees, days=args.days, seed=args.seed, profile=args.profile
    )
    write_dataset(simulate(cfg), root / "dataset")
    access = pq.read_table(root / "dataset" / "access.parquet").sort_by("time")
    last = access["time"][-1].as_py()
    since = last.replace(hour=0, minute=0, second=0, microsecond=0)
    since -= dt.timedelta(days=args.stream_days - 1)
    history = root / "history"
    shutil.copytree(root / "dataset", history, ignore=shutil.ignore_patterns("access.*"))
    early = pc.less(access["time"], since)
    pq.write_table(access.filter(early), history / "access.parquet")
    later = access.filter(pc.invert(early))
    lines = [
        json.dumps({k: v for k, v in row.items() if v is not None}, default=str).encode()
        for row in later.to_pylist()
    ]
    deployment = app.load_deployment(
        {"db": root / "store" / "insiderwatch.duckdb", "secret_file": root / "hash.key"},
        environ={},
    )
    app.ingest_paths(deployment, [history])
    app.detect(deployment)
    return deployment, lines, later["time"].to_pylist()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--stream-days", type=int, default=1)
    parser.add_argument("--chunk", type=int, default=20000)
    parser.add_argument("--profile", default=PROFILES.names()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--top", type=int, default=15, help="query groups to list")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args()
    print(f"machine: {describe()}")
    print(f"load at start: {load()}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-live-step-") as tmp:
        deployment, lines, times = prepare(Path(tmp), args)
        print(f"{args.profile}/{args.seed} {args.employees} x {args.days} days; streaming "
              f"{len(lines):,} events in chunks of {args.chunk:,}")  # fmt: skip
        print(f"{'step':>5}{'day':>12}{'day so far':>12}{'wall s':>8}{'CPU s':>8}"
              f"{'explained':>11}")  # fmt: skip
        with deployment.open_store() as store:
            key = existing_key(deployment.settings, store)
            timed = TimedConnection(store.con)
            for k in range(0, len(lines), args.chunk):
                chunk = [b.decode() for b in lines[k : k + args.chunk]]
                app.ingest_records(deployment, "access", chunk, source="bench", store=store)
                day = times[min(k + args.chunk, len(times)) - 1].date()
                so_far = sum(1 for t in times[: k + args.chunk] if t.date() == day)
                began, cpu = time.perf_counter(), time.process_time()
                store.con = timed
                try:
                    run = run_detection(store, deployment.detection, key)
                finally:
                    store.con = timed._con
                wall, used = time.perf_counter() - began, time.process_time() - cpu
                explained = getattr(run, "explained", None)  # the engine before had none
                rows.append({"day": str(day), "day_so_far": so_far, "wall": wall, "cpu": used,
                             "explained": explained})  # fmt: skip
                print(f"{len(rows):>5}{str(day):>12}{so_far:>12,}{wall:>8.2f}{used:>8.2f}"
                      f"{'-' if explained is None else f'{explained:,}':>11}")  # fmt: skip
            queries = {k: (timed.seconds[k], timed.cpu[k], timed.calls[k]) for k in timed.cpu}
    walls = sorted(r["wall"] for r in rows)
    cpu = sum(r["cpu"] for r in rows)
    print(f"\nsteps {len(rows)}: wall median {walls[len(walls) // 2]:.2f} s, "
          f"max {walls[-1]:.2f} s, CPU {cpu:.1f} s in all; load at end: {load()}")  # fmt: skip
    print(f"\nSlowest query groups over the streamed steps by CPU:{'CPU s':>12}{'share':>8}"
          f"{'calls':>7}")  # fmt: skip
    for label, (_, c, calls) in sorted(queries.items(), key=lambda kv: -kv[1][1])[: args.top]:
        print(f"  {label:<58}{c:>8.1f}{c / cpu:>8.1%}{calls:>7}")
    if args.json:
        args.json.write_text(
            json.dumps({"args": vars(args), "steps": rows, "queries": queries}, default=str)
        )


if __name__ == "__main__":
    main()
