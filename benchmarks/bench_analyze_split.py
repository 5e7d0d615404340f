"""Where `analyze` spends its time besides detection, with references in the same run.

One simulated company is written as Parquet, CSV and JSON Lines. For each format:

1. a reference: DuckDB reading every column of the access file (``read_parquet``,
   ``read_csv`` all as text, ``read_json``), the floor of any ingest of that file;
2. the dataset ingested into a fresh store, split into reading (the reader's batches),
   and per table validation (the query that parses and checks every column and joins
   the stored ids), personal data (normalise + keyed hash), writing (Parquet segment or
   upsert), dedupe within the batch, dead letters; then sealing the evidence log.

Then ``analyze`` on the Parquet dataset (what bench_detect times) split into ingest,
detection and the report (alert history, alerts.jsonl, explained share, top alerts, the
operational store). Wall and CPU seconds of the whole process (DuckDB's threads
included): on a shared machine quote CPU and the ratios, with the load printed.

    .venv/bin/python benchmarks/bench_analyze_split.py [--employees 1000] [--days 14]
        [--profile classic] [--seed 5150] [--formats parquet,csv,jsonl] [--skip-analyze]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import ExitStack, contextmanager
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).parent))
import insiderwatch.app.detect  # noqa: E402,F401  (the module, not the function app exports)
import insiderwatch.app.ingest  # noqa: E402,F401
from insiderwatch.app.deployment import load_deployment  # noqa: E402
from insiderwatch.ingest import ingest_dataset  # noqa: E402
from insiderwatch.privacy import HashKey, normalize_phone  # noqa: E402
from insiderwatch.report.evidence.log import append_pending  # noqa: E402
from insiderwatch.sources.readers import READERS  # noqa: E402
from insiderwatch.store import Store  # noqa: E402
from insiderwatch.store.loader import BatchLoader  # noqa: E402
from insiderwatch_sim import PROFILES, SimulationConfig, simulate, write_dataset  # noqa: E402
from machine import describe  # noqa: E402

KEY = HashKey(b"bench-key-0123456789abcdef")
APP_DETECT = sys.modules["insiderwatch.app.detect"]
APP_INGEST = sys.modules["insiderwatch.app.ingest"]

# BatchLoader steps timed inside each batch's load; validation is what load spends
# outside them (the parse-and-check query with the join to stored ids).
LOADER_STEPS = {
    "_hash_personal_data": "personal data",
    "_append_events": "write",
    "_upsert_context": "write",
    "_mark_repeats": "dedupe in batch",
    "_letters_for_problems": "dead letters",
    "_letters_for_bad_json": "dead letters",
    "_letters_for_malformed": "dead letters",
    "_resolve_letters": "dead letters",
}
REFERENCE = {
    "parquet": "read_parquet('{}')",
    "csv": "read_csv('{}', all_varchar = true)",
    "jsonl": "read_json('{}', format = 'newline_delimited')",
}


class Phases:
    """Wall and CPU seconds per (table, phase), added up over calls."""

    def __init__(self) -> None:
        self.seconds: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])

    def add(self, key: tuple[str, str], wall: float, cpu: float) -> None:
        self.seconds[key][0] += wall
        self.seconds[key][1] += cpu

    @contextmanager
    def wrap(self, owner, name: str, phase: str, table_of=lambda args: "-"):
        """Time every call of ``owner.name`` for the duration of the block."""
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            wall, cpu = time.perf_counter(), time.process_time()
            try:
                return original(*args, **kwargs)
            finally:
                key = (table_of(args), phase)
                self.add(key, time.perf_counter() - wall, time.process_time() - cpu)

        setattr(owner, name, timed)
        try:
            yield
        finally:
            setattr(owner, name, original)

    @contextmanager
    def wrap_generator(self, owner, name: str, phase: str, table_of):
        """Time the work of each ``next()`` of the generator ``owner.name`` returns."""
        original = getattr(owner, name)
        phases = self

        def timed(self_, *args, **kwargs):
            it = original(self_, *args, **kwargs)
            while True:
                wall, cpu = time.perf_counter(), time.process_time()
                try:
                    item = next(it)
                except StopIteration:
                    return
                finally:
                    phases.add((table_of(self_), phase), *_since(wall, cpu))
                yield item

        setattr(owner, name, timed)
        try:
            yield
        finally:
            setattr(owner, name, original)


def _since(wall: float, cpu: float) -> tuple[float, float]:
    return time.perf_counter() - wall, time.process_time() - cpu


def load_average() -> str:
    try:
        return " ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def reference_seconds(fmt: str, path: Path) -> tuple[float, float]:
    """DuckDB reading every column of the access file (a max per column, so none is
    skipped)."""
    con = duckdb.connect()
    source = REFERENCE[fmt].format(str(path).replace("'", "''"))
    names = [d[0] for d in con.execute(f"SELECT * FROM {source} LIMIT 0").description]
    aggs = ", ".join(f'max(length(CAST("{n}" AS VARCHAR)))' for n in names)
    wall, cpu = time.perf_counter(), time.process_time()
    con.execute(f"SELECT count(*), {aggs} FROM {source}").fetchall()
    return _since(wall, cpu)


def ingest_split(dataset: Path, work: Path) -> tuple[Phases, int, tuple[float, float]]:
    """Ingest ``dataset`` into a fresh store with every phase timed; (phases, events,
    total wall and CPU)."""
    phases = Phases()
    loader_table = lambda args: args[0].spec.name  # noqa: E731
    reader_table = lambda reader: reader.file.table  # noqa: E731
    # Each run starts cold: the phone normaliser's cache would otherwise carry one
    # format's customers over to the next.
    normalize_phone.cache_clear()
    with ExitStack() as stack, Store(work / "iw.duckdb") as store:
        stack.enter_context(phases.wrap(BatchLoader, "load", "load", loader_table))
        for name, phase in LOADER_STEPS.items():
            stack.enter_context(phases.wrap(BatchLoader, name, phase, loader_table))
        for reader in {READERS.get(n) for n in READERS.names()}:
            stack.enter_context(phases.wrap_generator(reader, "batches", "read", reader_table))
        wall, cpu = time.perf_counter(), time.process_time()
        report = ingest_dataset(store, dataset, KEY)
        seal_wall, seal_cpu = time.perf_counter(), time.process_time()
        append_pending(store)
        phases.add(("access", "seal evidence"), *_since(seal_wall, seal_cpu))
        total = _since(wall, cpu)
    errors = [f.error for f in report.files if f.error]
    if errors:
        raise SystemExit(f"ingest failed: {errors}")
    events = sum(f.counts.loaded for f in report.files if f.file.table == "access")
    # What load spent outside the timed steps: the parse-and-check query.
    steps = set(LOADER_STEPS.values())
    for table in {t for (t, p) in phases.seconds if p == "load"}:
        wall, cpu = phases.seconds.pop((table, "load"))
        inner = [v for (t, p), v in phases.seconds.items() if t == table and p in steps]
        phases.seconds[(table, "validate")] = [
            wall - sum(v[0] for v in inner),
            cpu - sum(v[1] for v in inner),
        ]
    return phases, events, total


def print_ingest(fmt: str, phases: Phases, events: int, total, reference) -> None:
    wall, cpu = total
    print(f"\n{fmt}: {events:,} events; ingest + seal {wall:.2f} s wall, {cpu:.2f} s CPU "
          f"({events / wall:,.0f} events/s wall, {events / cpu:,.0f} per CPU second); "
          f"reference read {reference[0]:.2f} s wall, {reference[1]:.2f} s CPU "
          f"(ingest CPU = {cpu / max(reference[1], 1e-3):.0f}x)")  # fmt: skip
    print(f"  {'table':<10} {'phase':<16} {'wall s':>8} {'CPU s':>8} {'CPU share':>10}")
    for (table, phase), (w, c) in sorted(phases.seconds.items(), key=lambda kv: -kv[1][1]):
        if c >= 0.005:
            print(f"  {table:<10} {phase:<16} {w:>8.2f} {c:>8.2f} {c / cpu:>10.0%}")


def analyze_split(dataset: Path, work: Path) -> None:
    """``analyze`` as the command runs it, split by the use cases it calls."""
    phases = Phases()
    parts = [
        (APP_INGEST, "ingest_dataset", "ingest: load files"),
        (APP_INGEST, "seal", "ingest: seal evidence"),
        (APP_DETECT, "ingest_paths", "ingest (all)"),
        (APP_DETECT, "with_applied_suppressions", "detect: suppressions"),
        (APP_DETECT, "run_detection", "detect: run_detection"),
        (APP_DETECT, "read_alert_history", "report: alert history"),
        (APP_DETECT, "write_alerts_jsonl", "report: alerts.jsonl"),
        (APP_DETECT, "explained_share", "report: explained share"),
        (APP_DETECT, "read_alerts", "report: top alerts"),
        (APP_DETECT, "record_detection", "report: ops store"),
    ]
    deployment = load_deployment(
        {"db": work / "out" / "insiderwatch.duckdb", "secret_file": work / "hash.key"},
        environ={},
    )
    with ExitStack() as stack:
        for owner, name, label in parts:
            stack.enter_context(phases.wrap(owner, name, label))
        normalize_phone.cache_clear()
        wall, cpu = time.perf_counter(), time.process_time()
        analysis = APP_DETECT.analyze_dataset(deployment, dataset, work / "out")
        wall, cpu = _since(wall, cpu)
    events = analysis.detection.summary.events
    print(f"\nanalyze (Parquet): {events:,} events, {wall:.2f} s wall, {cpu:.2f} s CPU: "
          f"{events / wall:,.0f} events/s wall, {events / cpu:,.0f} per CPU second")  # fmt: skip
    print(f"  {'part':<26} {'wall s':>8} {'CPU s':>8} {'CPU share':>10}")
    for (_, label), (w, c) in phases.seconds.items():
        print(f"  {label:<26} {w:>8.2f} {c:>8.2f} {c / cpu:>10.0%}")
    top = [c for (_, label), (_, c) in phases.seconds.items() if ":" not in label]
    top += [
        c for (_, label), (_, c) in phases.seconds.items() if label.startswith(("detect", "report"))
    ]
    rest = cpu - sum(top)
    print(f"  {'other (opening, Python)':<26} {'':>8} {rest:>8.2f} {rest / cpu:>10.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--employees", type=int, default=1000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--profile", default="classic")
    parser.add_argument("--seed", type=int, default=5150)
    parser.add_argument("--formats", default="parquet,csv,jsonl")
    parser.add_argument("--skip-analyze", action="store_true")
    args = parser.parse_args()
    PROFILES.get(args.profile)
    print(f"machine: {describe()}")
    print(f"load at start: {load_average()}")
    cfg = SimulationConfig(
        employees=args.employees, days=args.days, seed=args.seed, profile=args.profile
    )
    company = simulate(cfg)
    sizes = {name: table.num_rows for name, table in company.tables.items()}
    print(f"company {args.profile}/{args.seed}, {args.employees} x {args.days} days: {sizes}")
    with tempfile.TemporaryDirectory(prefix="bench-analyze-split-") as tmp:
        root = Path(tmp)
        for fmt in args.formats.split(","):
            dataset = root / f"dataset-{fmt}"
            write_dataset(company, dataset, fmt)
            reference = reference_seconds(fmt, dataset / f"access.{fmt}")
            phases, events, total = ingest_split(dataset, root / f"store-{fmt}")
            print_ingest(fmt, phases, events, total, reference)
        del company
        if not args.skip_analyze:
            dataset = root / "dataset-parquet"
            if not dataset.exists():
                raise SystemExit("analyze runs on the Parquet dataset: keep parquet in --formats")
            analyze_split(dataset, root / "analyze")
    print(f"\nload at end: {load_average()}")


if __name__ == "__main__":
    main()
