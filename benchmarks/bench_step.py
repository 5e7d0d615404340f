"""In-process live step latency over one simulated day, with where a step's time goes.

A simulated company's days before the last are loaded and detected (the deployment's
history); the last day then arrives at a fixed rate in one-second batches, in event-time
order: each batch is loaded (``app.ingest_records``) and followed by one live step
(``app.detect_step``, at most one day beyond the watermark), as ``insiderwatch serve``
does with no HTTP, NATS or queue in between; ``--warm N`` first loads and detects the
day's first N events untimed, to measure steps later in the day; ``--idle N`` follows each
batch's step with N steps with nothing new (timed apart). Printed: the step's seconds
(p50, p90, p99, max) and the load's, the statements a step runs, how many
employees each step evaluated against those active so far that day (the touched share),
the events each step explained afresh against those it streamed (an earlier step's stay
explained), the checkpoints the service's writer makes between steps (timed apart, every
``--checkpoint-every`` steps: no commit checkpoints), and every engine query's time summed over the day and grouped by phase (the grouping of
``bench_replay.py``), per step.

Run it against two checkouts in one go to compare code (``PYTHONPATH=OTHER/src``), on the
same company and machine load; the figures of one run are its own pair.

    .venv/bin/python benchmarks/bench_step.py [--employees 1000] [--days 8]
        [--profile NAME] [--seed S] [--rate 20000] [--batches 0] [--warm 0]
        [--idle 0] [--checkpoint-every 10] [--plans] [--top 20]
        [--json FILE] [--keep DIR] [--report FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
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


def prepare(root: Path, args) -> list[bytes]:
    """The company's history loaded and detected in ``root/store``; the last day's events
    as JSON lines (also kept in ``root/lines.jsonl``)."""
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
    (root / "lines.jsonl").write_bytes(b"\n".join(lines))
    deployment = deployment_at(root)
    app.ingest_paths(deployment, [root / "history"])
    app.detect(deployment)
    return lines


def deployment_at(root: Path) -> app.Deployment:
    return app.load_deployment(
        {"db": root / "store" / "iw.duckdb", "secret_file": root / "hash.key"}, environ={}
    )


class StepTimer(TimedConnection):
    """bench_replay's timed connection, naming statements it cannot (BEGIN, COMMIT, DROP);
    with ``plans``, DuckDB's profiler reports how long each statement spent planning
    (binding, optimizing, the physical plan) as it ran, kept apart in ``plan_seconds``
    under its label: what of a statement's time is planning, and what running it.

    Planned a second time on its own (``EXPLAIN``), a statement took about as long again as
    it did whole, and its planning looked like nearly all of it; the profiler times the
    one plan the statement runs with, inside its own time."""

    def __init__(self, con, plans: bool = False):
        super().__init__(con)
        self.plans = plans
        self.plan_seconds: dict[str, float] = defaultdict(float)
        self._unread: tuple[str, str] | None = None  # the last statement: SQL, label
        if plans:  # kept on the connection, read after each statement; nothing printed
            con.execute("SET enable_profiling = 'no_output'")

    def execute(self, sql, params=None):
        self.read_plan()
        result = super().execute(sql, params)
        if self.plans:
            self._unread = (sql, self._label(sql, params))
        return result

    def read_plan(self) -> None:
        """Add the last statement's planning to its label: DuckDB's profile of a query is
        whole once its result was read, so it is read before the next statement runs (and
        after a step). A statement with no plan (BEGIN, SET) leaves no profile of its own."""
        if self._unread is None:
            return
        (sql, label), self._unread = self._unread, None
        profile = json.loads(self._con.get_profiling_information(format="json"))
        if profile.get("query", {}).get("sql") == sql:
            self.plan_seconds[label] += sum(
                profile[part]["total_time"] for part in ("planner", "optimizer", "physical_planner")
            )

    def _label(self, sql: str, params) -> str:
        label = super()._label(sql, params)
        if label.endswith(": ?"):
            label = label[:-1] + sql.split(None, 1)[0].lower()
        return label


def checkpoint(store, checkpoints: list[float]) -> None:
    """The writer's checkpoint duty (``app/upkeep.py``), timed apart from the steps."""
    cpu = time.process_time()
    store.checkpoint()
    checkpoints.append(time.process_time() - cpu)


def idle_steps(deployment, store, count: int, idle: list[tuple[float, int]]) -> None:
    """``count`` steps with nothing loaded since the last: (CPU seconds, statements) each."""
    for _ in range(count):
        timed = StepTimer(store.con)
        store.con, cpu = timed, time.process_time()
        app.detect_step(deployment, store=store, record=False, max_days=1)
        idle.append((time.process_time() - cpu, sum(timed.calls.values())))
        store.con = timed._con


def stream(
    deployment,
    lines: list[bytes],
    rate: int,
    batches: int,
    warm: int,
    every: int = 10,
    idle_after: int = 0,
    plans: bool = False,
) -> dict:
    steps, cpus, loads, evaluated, active, explained = [], [], [], [], [], []
    idle: list[tuple[float, int]] = []
    checkpoints: list[float] = []
    with deployment.open_store() as store:
        if warm:  # the day's first events in one untimed load, detected until caught up
            first = [b.decode() for b in lines[:warm]]
            app.ingest_records(deployment, "access", first, source="bench", store=store)
            while not app.detect_step(deployment, store=store, record=False, max_days=1).caught_up:
                pass
        if every:  # as the service's writer: no checkpoint in a commit, one every few seconds
            store.defer_checkpoints()
            store.checkpoint()
        timed = StepTimer(store.con, plans)
        for k in range(warm, len(lines), rate):
            if batches and len(steps) >= batches:
                break
            chunk = [b.decode() for b in lines[k : k + rate]]
            began = time.perf_counter()
            store.con = timed._con
            app.ingest_records(deployment, "access", chunk, source="bench", store=store)
            loads.append(time.perf_counter() - began)
            store.con = timed
            began, cpu = time.perf_counter(), time.process_time()
            # As the service steps: at most one day beyond the watermark at a time.
            step = app.detect_step(deployment, store=store, record=False, max_days=1)
            steps.append(time.perf_counter() - began)
            cpus.append(time.process_time() - cpu)
            timed.read_plan()
            store.con = timed._con
            idle_steps(deployment, store, idle_after, idle)
            if every and len(steps) % every == 0:
                checkpoint(store, checkpoints)
            # Employees the step evaluated (None where the engine does not say: everyone).
            evaluated.append(getattr(step.summary, "employees", None))
            explained.append(getattr(step.summary, "explained", None))
            active.append(
                store.scalar(
                    "SELECT count(DISTINCT employee_id) FROM employee_days "
                    "WHERE day = (SELECT max(day) FROM employee_days)"
                )
            )
        if every and len(steps) % every:
            checkpoint(store, checkpoints)  # the rest of the steps' WAL
    return {
        "steps": steps,
        "cpus": cpus,
        "loads": loads,
        "evaluated": evaluated,
        "active": active,
        "explained": explained,
        "queries": dict(timed.seconds),
        "queries_cpu": dict(timed.cpu),
        "plans": dict(timed.plan_seconds),
        "calls": dict(timed.calls),
        "checkpoints": checkpoints,
        "idle": idle,
    }


# What bench_replay files under "other", by the engine function that ran the query.
_OTHER = {
    "alert history": ("keep", "changed_employees", "update_history", "read_findings",
                      "_replace_lines", "_mark_suppressed", "_alert_count", "_basis"),
    "scope": ("touched_scope", "forget_scope", "_new_events", "_context_changed", "_forget"),
    "run bookkeeping": ("meta", "set_meta", "scalar", "check_key", "reset_if_outdated",
                        "ensure_tables", "_missing_tables", "_store_meta", "_snapshot",
                        "_first_day", "step_bound", "live_marks", "_advance", "run_detection", "_history_only"),
}  # fmt: skip


def phase(label: str) -> str:
    """The phase of a query label ('phase | caller: statement')."""
    name, _, detail = label.partition(" | ")
    if name == "other":
        caller = detail.split(":")[0]
        if caller == "run_detection" and "run_events" in detail:
            return "run events copy"
        for group, callers in _OTHER.items():
            if caller in callers:
                return group
    return name


def report(f: dict, top: int) -> None:
    steps, cpus, loads = np.array(f["steps"]), np.array(f["cpus"]), np.array(f["loads"])
    n = len(steps)
    print(f"\n{n} steps of {f['rate']:,} events (the last may be short)")
    rows = (("step", steps), ("step CPU", cpus), ("load", loads), ("load + step", steps + loads))
    for name, xs in rows:
        p50, p90, p99 = np.percentile(xs, [50, 90, 99])
        print(f"{name:<12} p50 {p50:6.3f} s  p90 {p90:6.3f} s  p99 {p99:6.3f} s  "
              f"max {xs.max():6.3f} s  mean {xs.mean():6.3f} s")  # fmt: skip
    shares = [
        e / a for e, a in zip(f["evaluated"], f["active"], strict=True) if e is not None and a
    ]
    if shares:
        print(f"employees evaluated per step / active so far that day: mean "
              f"{np.mean(shares):.0%}, min {min(shares):.0%}, max {max(shares):.0%}")  # fmt: skip
    fresh = [e for e in f.get("explained", []) if e is not None]
    if fresh:
        print(f"events explained afresh per step: mean {np.mean(fresh):,.0f}, first "
              f"{fresh[0]:,}, last {fresh[-1]:,} (each step streams {f['rate']:,})")  # fmt: skip
    print(f"statements per step: {sum(f['calls'].values()) / n:.1f}")
    if idle := f.get("idle"):
        cpu, count = np.array([c for c, _ in idle]), np.array([k for _, k in idle])
        print(f"{len(idle)} steps with nothing new: CPU mean {cpu.mean():.3f} s, max "
              f"{cpu.max():.3f} s; statements {count.mean():.1f}")  # fmt: skip
    if checkpoints := f.get("checkpoints"):
        print(f"checkpoints outside the steps (the writer's upkeep): {len(checkpoints)}, CPU "
              f"{1000 * sum(checkpoints) / n:.1f} ms per step, max {max(checkpoints):.3f} s")  # fmt: skip
    per_phase: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for label, secs in f["queries"].items():
        per_phase[phase(label)][0] += secs
        per_phase[phase(label)][1] += f["queries_cpu"][label]
    per_phase["python and outside queries"] = [
        steps.sum() - sum(f["queries"].values()),
        cpus.sum() - sum(f["queries_cpu"].values()),
    ]
    print(f"\nstep time per phase, per step:{'wall ms':>12}{'share':>7}{'CPU ms':>9}{'share':>7}")
    for name, (secs, c) in sorted(per_phase.items(), key=lambda kv: -kv[1][1]):
        print(f"  {name:<38}{1000 * secs / n:>8.1f}{secs / steps.sum():>7.0%}"
              f"{1000 * c / n:>9.1f}{c / cpus.sum():>7.0%}")  # fmt: skip
    plans = f.get("plans") or {}  # within the statements' wall time
    if plans:
        print(f"\nplanning (--plans; DuckDB's profiler, wall): {1000 * sum(plans.values()) / n:.1f} "
              f"ms per step, {sum(plans.values()) / sum(f['queries'].values()):.0%} of the "
              "statements' wall time")  # fmt: skip
    print(f"\nslowest query groups by CPU, per step:{'wall ms':>44}{'CPU ms':>8}{'calls':>7}"
          + (f"{'plan ms':>9}" if plans else ""))  # fmt: skip
    for label, c in sorted(f["queries_cpu"].items(), key=lambda kv: -kv[1])[:top]:
        plan = f"{1000 * plans.get(label, 0) / n:>9.1f}" if plans else ""
        print(f"  {label[:78]:<78}{1000 * f['queries'][label] / n:>8.1f}{1000 * c / n:>8.1f}"
              f"{f['calls'][label] / n:>7.1f}{plan}")  # fmt: skip


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
    parser.add_argument("--warm", type=int, default=0,
                        help="load and detect the day's first N events untimed, then stream")  # fmt: skip
    parser.add_argument("--idle", type=int, default=0,
                        help="after each batch's step, this many steps with nothing new, "
                        "timed apart")  # fmt: skip
    parser.add_argument("--checkpoint-every", type=int, default=10,
                        help="checkpoint every N steps outside them, as the service's upkeep "
                        "(0: DuckDB's own checkpoints inside commits)")  # fmt: skip
    parser.add_argument("--plans", action="store_true",
                        help="show how long each statement spent planning (DuckDB's profiler: "
                        "binding, optimizing, the physical plan; wall time within the statement's)")  # fmt: skip
    parser.add_argument("--top", type=int, default=20, help="query groups to list")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--keep", type=Path, help="prepare the history here once and reuse it")
    parser.add_argument("--report", type=Path, help="print the figures of an earlier --json")
    args = parser.parse_args()
    if args.report:
        report(json.loads(args.report.read_text()), args.top)
        return
    PROFILES.get(args.profile)
    print(f"machine: {describe()}")
    print(f"code: {Path(app.__file__).parents[2]}")
    print(f"load at start: {load()}")
    with tempfile.TemporaryDirectory(prefix="bench-step-") as tmp:
        began = time.perf_counter()
        kept = args.keep or Path(tmp) / "prepared"
        if not (kept / "lines.jsonl").exists():
            kept.mkdir(parents=True, exist_ok=True)
            prepare(kept, args)
        lines = (kept / "lines.jsonl").read_bytes().split(b"\n")
        # Each run streams into a copy: the prepared history stays as it was.
        shutil.copytree(kept / "store", Path(tmp) / "run" / "store")
        shutil.copy(kept / "hash.key", Path(tmp) / "run" / "hash.key")
        print(f"{args.profile}/{args.seed}, {args.employees} employees x {args.days} days: "
              f"history ready in {time.perf_counter() - began:.0f} s; the last day streams "
              f"{len(lines):,} events")  # fmt: skip
        deployment = deployment_at(Path(tmp) / "run")
        figures = {
            "rate": args.rate,
            **stream(
                deployment,
                lines,
                args.rate,
                args.batches,
                args.warm,
                args.checkpoint_every,
                args.idle,
                args.plans,
            ),
        }
    figures["load_end"] = load()
    print(f"load at end: {figures['load_end']}")
    report(figures, args.top)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))


if __name__ == "__main__":
    main()
