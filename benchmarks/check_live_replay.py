"""Live equals replay, on a simulated company: the alert history and findings of one
replay of every event against those of the same events arriving in steps.

The replay ingests the whole company and runs ``app.detect`` once. The live store loads
the context tables and the days before the last ``--live-days`` and detects them, then
the rest of the events arrive in event-time order in batches of sizes drawn at random
from ``--sizes`` (seeded by ``--cut-seed``), each loaded with ``app.ingest_records`` and
followed by one ``app.detect_step`` (at most one day beyond the watermark), as
``insiderwatch serve`` does; at the end it steps until caught up. Printed: how many
alert-history lines and findings were compared and every difference (which field of
which line or finding). Exit status 1 when they differ.

The company's seed defaults to ``DEFAULT_SEED`` (9001): a fixed seed so two runs of the
check compare the same company, chosen outside the development seeds detectors are tuned
on and outside the range kept for the final measurement, so the check is not passing
only on a company someone tuned for. ``--seed`` picks another; running it on several
seeds is the stronger check.

    .venv/bin/python benchmarks/check_live_replay.py [--profile NAME] [--employees 300]
        [--days 10] [--seed S] [--live-days 2] [--sizes 200,3000,20000] [--cut-seed 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import msgspec
import pyarrow.compute as pc
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).parent))
from insiderwatch import app  # noqa: E402
from insiderwatch.detect.history import read_findings  # noqa: E402
from insiderwatch_sim import PROFILES, SimulationConfig, simulate, write_dataset  # noqa: E402
from machine import describe  # noqa: E402

DEFAULT_SEED = 9001  # see the module docstring: fixed, untuned, overridden by --seed


def deployment_at(root: Path) -> app.Deployment:
    return app.load_deployment(
        {"db": root / "iw.duckdb", "secret_file": root.parent / "hash.key"}, environ={}
    )


def split(dataset: Path, history: Path, live_days: int) -> list[bytes]:
    """``history``: the context tables and the events before the last ``live_days``
    days; returned: the later events as JSON lines, in event-time order."""
    access = pq.read_table(dataset / "access.parquet").sort_by(
        [("time", "ascending"), ("event_id", "ascending")]
    )
    last = pc.max(access["time"]).as_py().replace(hour=0, minute=0, second=0, microsecond=0)
    cut = last - (live_days - 1) * dt.timedelta(days=1)
    early = pc.less(access["time"], cut)
    history.mkdir(parents=True)
    for path in dataset.iterdir():
        if path.name != "access.parquet":
            (history / path.name).write_bytes(path.read_bytes())
    pq.write_table(access.filter(early), history / "access.parquet")
    later = access.filter(pc.invert(early))
    return [
        json.dumps({k: v for k, v in row.items() if v is not None}, default=str).encode()
        for row in later.to_pylist()
    ]


def outcome(deployment: app.Deployment) -> tuple[list[bytes], list]:
    with deployment.open_store() as store:
        history = [msgspec.json.encode(a) for a in app.alert_history(deployment, store=store)]
        return history, read_findings(store.con)


def live(root: Path, history: Path, lines: list[bytes], sizes: list[int], rng) -> int:
    """The live store's steps: how many ``detect_step`` calls it took."""
    deployment = deployment_at(root)
    app.ingest_paths(deployment, [history])
    app.detect(deployment)
    steps = 0
    with deployment.open_store() as store:
        k = 0
        while k < len(lines):
            n = rng.choice(sizes)
            chunk = [b.decode() for b in lines[k : k + n]]
            k += n
            app.ingest_records(deployment, "access", chunk, source="check", store=store)
            app.detect_step(deployment, store=store, record=False, max_days=1)
            steps += 1
        while not app.detect_step(deployment, store=store, record=False, max_days=1).caught_up:
            steps += 1
    return steps


def differences(kind: str, a: list, b: list, key) -> list[str]:
    """Lines of what differs between the replay's ``a`` and the live ``b``."""
    out = []
    if len(a) != len(b):
        out.append(f"{kind}: {len(a)} in the replay, {len(b)} live")
    one, other = {key(x): x for x in a}, {key(x): x for x in b}
    for k in sorted(set(one) | set(other)):
        x, y = one.get(k), other.get(k)
        if x is None or y is None:
            out.append(f"{kind} {k}: {'live only' if x is None else 'replay only'}")
            continue
        if x == y:
            continue
        dx = x if isinstance(x, dict) else msgspec.structs.asdict(x)
        dy = y if isinstance(y, dict) else msgspec.structs.asdict(y)
        fields = [f for f in dx if dx[f] != dy[f]]
        out.append(f"{kind} {k}: differs in {', '.join(fields)}"
                   + "".join(f"\n    {f}: {_brief(dx[f])} | {_brief(dy[f])}" for f in fields))  # fmt: skip
    return out


def _brief(value) -> str:
    if isinstance(value, list) and len(value) > 4:
        return f"[{len(value)} items, first {value[:2]}]"
    return repr(value)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--employees", type=int, default=300)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--profile", default=PROFILES.names()[0])
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED,
                        help=f"the simulated company's seed (default {DEFAULT_SEED})")  # fmt: skip
    parser.add_argument("--live-days", type=int, default=2)
    parser.add_argument("--sizes", default="200,3000,20000",
                        help="batch sizes (events) to draw from")  # fmt: skip
    parser.add_argument("--cut-seed", type=int, default=1)
    parser.add_argument("--keep", type=Path,
                        help="keep the company and stores here (a company there is reused)")  # fmt: skip
    args = parser.parse_args()
    PROFILES.get(args.profile)
    print(f"machine: {describe()}")
    print(f"code: {Path(app.__file__).parents[2]}")
    sizes = [int(x) for x in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="check-live-") as tmp:
        root = args.keep or Path(tmp)
        began = time.perf_counter()
        cfg = SimulationConfig(
            employees=args.employees, days=args.days, seed=args.seed, profile=args.profile
        )
        if not (root / "dataset").exists():  # --keep: the company simulated once
            write_dataset(simulate(cfg), root / "dataset")
        for stale in ("history", "replay", "live"):
            shutil.rmtree(root / stale, ignore_errors=True)
        lines = split(root / "dataset", root / "history", args.live_days)
        once = deployment_at(root / "replay")
        app.ingest_paths(once, [root / "dataset"])
        app.detect(once)
        replay_history, replay_findings = outcome(once)
        steps = live(root / "live", root / "history", lines, sizes, random.Random(args.cut_seed))
        live_history, live_findings = outcome(deployment_at(root / "live"))
        print(f"{args.profile}/{args.seed}, {args.employees} employees x {args.days} days; "
              f"the last {args.live_days} days ({len(lines):,} events) in {steps} live steps "
              f"of {args.sizes} events (cut seed {args.cut_seed}); "
              f"{time.perf_counter() - began:.0f} s")  # fmt: skip
        found = differences("finding", replay_findings, live_findings, key=lambda f: f.finding_id)
        lines_a = [msgspec.json.decode(x) for x in replay_history]
        lines_b = [msgspec.json.decode(x) for x in live_history]
        alerts = differences(
            "alert line", lines_a, lines_b, key=lambda a: (a["alert_id"], a["revision"])
        )
        same = sum(x == y for x, y in zip(replay_history, live_history, strict=False))
        print(f"alert-history lines: {len(replay_history)} replay, {len(live_history)} live, "
              f"{same} byte-identical in place; findings: {len(replay_findings)} replay, "
              f"{len(live_findings)} live")  # fmt: skip
        for line in found + alerts:
            print(line)
        print("EQUAL" if not (found or alerts) and same == len(replay_history) else "DIFFERENT")
        sys.exit(0 if not (found or alerts) else 1)


if __name__ == "__main__":
    main()
