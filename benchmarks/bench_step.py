"""In-process live step latency over one simulated day, with where a step's time goes.

A simulated company's days before the last are loaded and detected (the deployment's
history); the last day then arrives at a fixed rate in one-second batches, in event-time
order: each batch is loaded (``app.ingest_records``) and followed by one live step
(``app.detect_step``), as ``insiderwatch serve`` does with no HTTP, NATS or queue in
between. Printed: the step's seconds (p50, p90, p99, max) and the load's, how many
employees each step evaluated against those active so far that day (the touched share),
and every engine query's time summed over the day and grouped by phase (the grouping of
``bench_replay.py``), per step.

Run it against two checkouts in one go to compare code (``PYTHONPATH=OTHER/src``), on the
same company and machine load; the figures of one run are its own pair.

    .venv/bin/python benchmarks/bench_step.py [--employees 1000] [--days 8]
        [--profile NAME] [--seed S] [--rate 20000] [--batches 0] [--top 20] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from bench_replay import TimedConnection  # noqa: E402
from insiderwatch import app  # noqa: E402
from insiderwatch_sim import PROFILES, SimulationConfig, simulate, write_dataset  # noqa: E402
from machine import describe  # noqa: E402

DEFAULT_SEED = 2718  # never used while developing the live step


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def prepare(root: Path, args) -> tuple[app.Deployment, list[bytes]]:
    """The company's history loaded and detected; the last day's events as JSON lines."""
    cfg = SimulationConfig(
        employees=args.employees, days=args.days, seed=args.seed, profile=args.profile
    )
    write_dataset(simulate(cfg), root / "dataset")
    access = pq.read_table(root / "dataset" / "access.parquet").sort_by("time")
    last = pc.max(access["time"]).as_py().replace(hour=0, minute=0, second=0, microsecond=0)
    early = pc.less(access["time"], last)
    (root / "history").mkdir()
    for path in (root / "dataset").iterdir():
        if path.name != "access.parquet":
            (root / "history" / path.name).write_bytes(path.read_bytes())
    pq.write_table(access.filter(early), root / "history" / "access.parquet")
    later = access.filter(pc.invert(early))
    lines = [
        json.dumps({k: v for k, v in row.items() if v is not None}, default=str).encode()
        for row in later.to_pylist()
    ]
    deployment = app.load_deployment(
        {"db": root / "store" / "iw.duckdb", "secret_file": root / "hash.key"}, environ={}
    )
    app.ingest_paths(deployment, [root / "history"])
    app.detect(deployment)
    return deployment, lines


def stream(deployment, lines: list[bytes], rate: int, batches: int) -> dict:
    steps, loads, evaluated, active = [], [], [], []
    with deployment.open_store() as store:
        timed = TimedConnection(store.con)
        for k in range(0, len(lines), rate):
            if batches and len(steps) >= batches:
                break
            chunk = [b.decode() for b in lines[k : k + rate]]
            began = time.perf_counter()
            store.con = timed._con
            app.ingest_records(deployment, "access", chunk, source="bench", store=store)
            loads.append(time.perf_counter() - began)
            store.con = timed
            began = time.perf_counter()
            step = app.detect_step(deployment, store=store, record=False)
            steps.append(time.perf_counter() - began)
            store.con = timed._con
            # Employees the step evaluated (None where the engine does not say: everyone).
            evaluated.append(getattr(step.summary, "employees", None))
            active.append(
                store.scalar(
                    "SELECT count(DISTINCT employee_id) FROM employee_days "
                    "WHERE day = (SELECT max(day) FROM employee_days)"
                )
            )
    return {
        "steps": steps,
        "loads": loads,
        "evaluated": evaluated,
        "active": active,
        "queries": dict(timed.seconds),
        "calls": dict(timed.calls),
    }


def report(f: dict, top: int) -> None:
    steps, loads = np.array(f["steps"]), np.array(f["loads"])
    n = len(steps)
    print(f"\n{n} steps of {f['rate']:,} events (the last may be short)")
    for name, xs in (("step", steps), ("load", loads), ("load + step", steps + loads)):
        p50, p90, p99 = np.percentile(xs, [50, 90, 99])
        print(f"{name:<12} p50 {p50:6.3f} s  p90 {p90:6.3f} s  p99 {p99:6.3f} s  "
              f"max {xs.max():6.3f} s  mean {xs.mean():6.3f} s")  # fmt: skip
    shares = [
        e / a for e, a in zip(f["evaluated"], f["active"], strict=True) if e is not None and a
    ]
    if shares:
        print(f"employees evaluated per step / active so far that day: mean "
              f"{np.mean(shares):.0%}, min {min(shares):.0%}, max {max(shares):.0%}")  # fmt: skip
    per_phase: dict[str, float] = defaultdict(float)
    for label, secs in f["queries"].items():
        per_phase[label.split(" | ")[0]] += secs
    per_phase["python and outside queries"] = steps.sum() - sum(f["queries"].values())
    print(f"\nstep time per phase, per step:{'ms':>12}{'share':>8}")
    for name, secs in sorted(per_phase.items(), key=lambda kv: -kv[1]):
        print(f"  {name:<38}{1000 * secs / n:>8.1f}{secs / steps.sum():>8.0%}")
    print(f"\nslowest query groups, per step:{'ms':>51}{'calls':>7}")
    for label, secs in sorted(f["queries"].items(), key=lambda kv: -kv[1])[:top]:
        print(f"  {label[:78]:<78}{1000 * secs / n:>8.1f}{f['calls'][label] / n:>7.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--days", type=int, default=8)
    parser.add_argument("--profile", default=PROFILES.names()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--rate", type=int, default=20_000, help="events per one-second batch")
    parser.add_argument("--batches", type=int, default=0, help="stop after this many (0: all)")
    parser.add_argument("--top", type=int, default=20, help="query groups to list")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args()
    PROFILES.get(args.profile)
    print(f"machine: {describe()}")
    print(f"code: {Path(app.__file__).parents[2]}")
    print(f"load at start: {load()}")
    with tempfile.TemporaryDirectory(prefix="bench-step-") as tmp:
        began = time.perf_counter()
        deployment, lines = prepare(Path(tmp), args)
        print(f"{args.profile}/{args.seed}, {args.employees} employees x {args.days} days: "
              f"history ready in {time.perf_counter() - began:.0f} s; the last day streams "
              f"{len(lines):,} events")  # fmt: skip
        figures = {"rate": args.rate, **stream(deployment, lines, args.rate, args.batches)}
    figures["load_end"] = load()
    print(f"load at end: {figures['load_end']}")
    report(figures, args.top)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))


if __name__ == "__main__":
    main()
