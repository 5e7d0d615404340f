"""Detection replay speed at realistic scale, with where the time goes.

One company is simulated and written once; then, timed, in this order:

1. ``analyze`` end to end (``insiderwatch analyze``'s library call: ingest into a fresh
   store, detect, write ``alerts.jsonl``);
2. detection replay from scratch on that store (its detection state dropped first), with
   the time of every query the engine ran, grouped by phase: explanation (the step
   tables, casework, routine, allowance), employee_days, each detector, the record_*
   state updates, and what is left (Python between queries);
3. a reference in the same run: a plain DuckDB scan of the same events grouped by
   employee and day (count, sum, min, max), the cheapest pass any detection must make.

Printed: events/s of each, the ratios to the reference, peak RSS of each phase (the
high-water mark is reset in between), the machine and its load. Absolute figures on a
shared machine are pessimistic; quote the ratios and the load with them.

    .venv/bin/python benchmarks/bench_replay.py [--employees 2000] [--days 14]
        [--profile NAME] [--seed S] [--memory 1GB] [--threads 0] [--top 25] [--json FILE]
        [--keep DIR]

``--keep DIR`` prepares the company's store there once (simulated and ingested, not
timed) and replays a copy of it on each run: old and new code (``PYTHONPATH``) compared
on the same prepared data.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from insiderwatch.app.deployment import load_deployment  # noqa: E402
from insiderwatch.app.detect import analyze_dataset  # noqa: E402
from insiderwatch.detect import run_detection  # noqa: E402
from insiderwatch.detect.state import ALL_TABLES  # noqa: E402
from insiderwatch.store import Store  # noqa: E402
from insiderwatch_sim import PROFILES, SimulationConfig, simulate, write_dataset  # noqa: E402
from machine import describe  # noqa: E402

DEFAULT_SEED = 70913  # never used while tuning detection


def peak_rss() -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM"))


def reset_peak_rss() -> None:
    """Start a new high-water mark (Linux: writing 5 to clear_refs resets VmHWM)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- per-query timing -------------------------------------------------------------------

_VERB = re.compile(
    r"^\s*(?:WITH\b.*?\)\s*)?(CREATE OR REPLACE TEMP TABLE|INSERT OR REPLACE INTO|"
    r"INSERT OR IGNORE INTO|INSERT INTO|UPDATE|DELETE FROM|SELECT)\s+(\w+)?",
    re.S | re.I,
)
# What a step learns from earlier days (detect/daily.py: once a day).
LEARN = ("learn_day", "_learn", "_kept", "_has_kept", "casework_params", "learn_similar",
         "learn_portfolios", "learn_case_scope", "learn_routine", "learn_allowances",
         "learn_allowance_kinds", "learn_books", "learn_group_books", "learn_common_surnames",
         "learn_public_figures", "_learn_window", "_windows")  # fmt: skip
# The engine's callers, named as the phases they are.
PHASES = {
    "build_step": "explain",
    "explain_drilldown": "explain",
    "explain_by_routine": "explain",
    "explain_by_allowance": "explain",
    **dict.fromkeys(LEARN, "learn"),
    "record_flows": "record",
    "record_casework": "record",
    "record_lookups": "record",
    "record_explanations": "record",  # access_explained, step_explained
}


class TimedConnection:
    """A DuckDB connection that times each ``execute`` under the phase of its caller."""

    def __init__(self, con):
        self._con = con
        self.seconds: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def __getattr__(self, name):
        return getattr(self._con, name)

    def execute(self, sql, params=None):
        label = self._label(sql, params)
        began, cpu = time.perf_counter(), time.process_time()
        result = self._con.execute(sql, params) if params is not None else self._con.execute(sql)
        self.seconds[label] += time.perf_counter() - began
        self.cpu[label] += time.process_time() - cpu
        self.calls[label] += 1
        return result

    def _label(self, sql: str, params) -> str:
        """'phase | detail': the detector's id, else the calling function and statement."""
        if isinstance(params, dict) and "detector" in params:
            return f"detect | {params['detector']}"
        frame = sys._getframe(2)
        while frame.f_code.co_name in ("execute", "_label"):
            frame = frame.f_back
        caller = frame.f_code.co_name
        m = _VERB.match(sql)
        what = f"{m.group(1).split()[0].lower()} {m.group(2) or ''}".strip() if m else "?"
        if caller == "step" and "employee_days" in what:
            return "employee_days | insert employee_days"
        if caller == "step" and "employee_footprint" in what:
            return "record | record_footprint: insert employee_footprint"
        return f"{PHASES.get(caller, 'other')} | {caller}: {what}"


def reset_detection(store: Store) -> None:
    """Drop detection's state: the next run replays from the first event."""
    for table in ALL_TABLES:
        store.con.execute(f"DROP TABLE IF EXISTS {table}")
    store.con.execute("DELETE FROM store_meta WHERE starts_with(key, 'detect_')")


REFERENCE_SQL = """
SELECT employee_id, time::DATE AS day, count(*), sum(coalesce(record_count, 0)),
       sum(len(customer_ids)), min(time), max(time)
FROM access GROUP BY ALL
"""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--employees", type=int, default=2000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--profile", default=PROFILES.names()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument(
        "--memory", default="1GB", help="DuckDB memory limit (the setting's default)"
    )
    parser.add_argument("--threads", type=int, default=0, help="DuckDB threads (0: all cores)")
    parser.add_argument("--top", type=int, default=25, help="query groups to list")
    parser.add_argument("--skip-analyze", action="store_true", help="ingest untimed instead")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument("--keep", type=Path, help="prepare the store here once and reuse it")
    args = parser.parse_args()
    PROFILES.get(args.profile)
    print(f"machine: {describe()}")
    print(f"load at start: {load()}")
    figures: dict = {"args": {k: str(v) for k, v in vars(args).items()}}
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as tmp:
        root = Path(tmp)
        if args.keep:
            deployment = _kept(args, root)
        else:
            deployment = _prepare(args, root, root, figures, analyze=not args.skip_analyze)
        with Store(deployment.store_path, memory_limit=args.memory, threads=args.threads) as store:
            events = store.scalar("SELECT count(*) FROM access")
            figures["events"] = events
            began, cpu = time.perf_counter(), time.process_time()
            store.con.execute(REFERENCE_SQL).fetchall()
            figures["reference"] = (time.perf_counter() - began, time.process_time() - cpu)
            reset_detection(store)
            key = _store_key(store, deployment)
            timed = TimedConnection(store.con)
            store.con = timed
            reset_peak_rss()
            began, cpu = time.perf_counter(), time.process_time()
            run = run_detection(store, deployment.detection, key)
            figures["replay"] = (time.perf_counter() - began, time.process_time() - cpu)
            figures["replay_rss"] = peak_rss()
            store.con = timed._con
            figures["steps"] = run.steps
            figures["alerts"] = run.alerts
            figures["findings"] = run.findings
            figures["queries"] = dict(timed.seconds)
            figures["queries_cpu"] = dict(timed.cpu)
            figures["calls"] = dict(timed.calls)
    figures["load_end"] = load()
    report(figures, args.top)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str))


def _deployment(root: Path, args):
    return load_deployment(
        {"db": root / "out" / "insiderwatch.duckdb", "memory_limit": args.memory,
         "threads": args.threads, "secret_file": root / "hash.key"},
        environ={},
    )  # fmt: skip


def _kept(args, root: Path):
    """The store prepared in ``args.keep`` (the first time: simulated and ingested there,
    untimed), copied to ``root``: each run replays the same events, and the prepared
    store stays as it was."""
    if not (args.keep / "out").exists():
        args.keep.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="bench-replay-") as scratch:
            _prepare(args, args.keep, Path(scratch), {}, analyze=False)
    shutil.copytree(args.keep / "out", root / "out")
    shutil.copy(args.keep / "hash.key", root / "hash.key")
    print(f"prepared store: {args.keep}")
    return _deployment(root, args)


def _prepare(args, root: Path, scratch: Path, figures: dict, *, analyze: bool):
    """Simulate the company into ``scratch`` and ingest it into the store under ``root``,
    detecting too (``analyze``, timed into ``figures``) or not."""
    began = time.perf_counter()
    cfg = SimulationConfig(
        employees=args.employees, days=args.days, seed=args.seed, profile=args.profile
    )
    company = simulate(cfg)
    write_dataset(company, scratch / "dataset")
    del company
    print(f"simulated {args.profile}/{args.seed}, {args.employees} employees x "
          f"{args.days} days in {time.perf_counter() - began:.0f} s")  # fmt: skip
    deployment = _deployment(root, args)
    reset_peak_rss()
    began, cpu = time.perf_counter(), time.process_time()
    if analyze:
        analyze_dataset(deployment, scratch / "dataset", root / "out")
        figures["analyze"] = (time.perf_counter() - began, time.process_time() - cpu)
    else:
        from insiderwatch.app.keys import ingest_key
        from insiderwatch.ingest import ingest_dataset

        with deployment.open_store() as store:
            ingest_dataset(store, scratch / "dataset", ingest_key(deployment.settings))
    figures["analyze_rss"] = peak_rss()
    print(f"load after analyze: {load()}")
    return deployment


def _store_key(store: Store, deployment):
    from insiderwatch.app.keys import existing_key

    return existing_key(deployment.settings, store)


def report(f: dict, top: int) -> None:
    """Wall and CPU seconds (all of the process's threads): on a shared machine the CPU
    figures are the steadier ones, the ratios to the reference the ones to quote."""
    events, (ref, ref_cpu) = f["events"], f["reference"]
    print(f"\n{events:,} events, {f['steps']} steps, {f['findings']:,} findings, "
          f"{f['alerts']} alerts")  # fmt: skip
    print(f"{'':<40}{'wall s':>8}{'events/s':>11}{'x ref':>7}{'CPU s':>8}{'x ref':>7}"
          f"{'peak RSS':>10}")  # fmt: skip
    rows = [("reference scan (GROUP BY employee, day)", f["reference"], None),
            ("detection replay", f["replay"], f["replay_rss"])]  # fmt: skip
    if "analyze" in f:
        rows.append(("analyze (ingest + detect)", f["analyze"], f["analyze_rss"]))
    for name, (secs, cpu), rss in rows:
        mem = "-" if rss is None else f"{rss / 2**30:.2f} GiB"
        print(f"{name:<40}{secs:>8.1f}{events / secs:>11,.0f}{secs / ref:>7.1f}{cpu:>8.1f}"
              f"{cpu / max(ref_cpu, 1e-3):>7.1f}{mem:>10}")  # fmt: skip
    wall, cpu = f["replay"]
    per_phase: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for label, secs in f["queries"].items():
        phase = per_phase[label.split(" | ")[0]]
        phase[0] += secs
        phase[1] += f["queries_cpu"][label]
    per_phase["python and outside queries"] = [
        wall - sum(f["queries"].values()),
        cpu - sum(f["queries_cpu"].values()),
    ]
    print(f"\nReplay time per phase:{'wall s':>25}{'share':>8}{'CPU s':>8}{'share':>8}")
    for name, (secs, c) in sorted(per_phase.items(), key=lambda kv: -kv[1][1]):
        print(f"  {name:<37}{secs:>8.1f}{secs / wall:>8.1%}{c:>8.1f}{c / cpu:>8.1%}")
    print(f"\nSlowest query groups by CPU (of {len(f['queries'])}):"
          f"{'wall s':>14}{'CPU s':>8}{'calls':>7}{'CPU ms/call':>12}")  # fmt: skip
    ranked = sorted(f["queries_cpu"].items(), key=lambda kv: -kv[1])[:top]
    for label, c in ranked:
        calls = f["calls"][label]
        print(f"  {label:<58}{f['queries'][label]:>8.1f}{c:>8.1f}{calls:>7}"
              f"{1000 * c / calls:>12.1f}")  # fmt: skip
    print(f"\nload at end: {f['load_end']}")


if __name__ == "__main__":
    main()
