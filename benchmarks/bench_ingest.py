"""Ingest benchmark: events/s from Parquet and JSON Lines, peak memory, store size.

Run with `make bench`. Prints the machine and the figures; asserts nothing. In the same
run it times DuckDB reading every column of the same Parquet file, so the ratio shows our
overhead (validation, deduplication, writing the store) against a raw read.

    python benchmarks/bench_ingest.py [--sizes 1000000,10000000] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from machine import describe  # noqa: E402
from synthetic import write_parquet_dataset  # noqa: E402

# Runs in a fresh process so its peak memory is its own.
RUNNER = """
import json, sys, time
from pathlib import Path
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
dataset, db = Path(sys.argv[1]), sys.argv[2]
with Store(db, memory_limit="1GB") as store:
    began = time.perf_counter()
    report = ingest_dataset(store, dataset, HashKey(b"bench-key-0123456789abcdef"))
    seconds = time.perf_counter() - began
access = [f for f in report.files if f.file.table == "access"]
print(json.dumps({
    "seconds": seconds,
    "events": sum(f.counts.loaded for f in access),
    "read": sum(f.counts.rows_read for f in access),
    "errors": [f.error for f in report.files if f.error],
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec.
    "peak_rss": next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmHWM")),
}))
"""


def folder_bytes(*paths: Path) -> int:
    total = 0
    for path in paths:
        if path.is_file():
            total += path.stat().st_size
        elif path.is_dir():
            total += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return total


def raw_read_seconds(parquet: Path) -> float:
    """DuckDB reading every column of the file (the floor any ingest must pay)."""
    con = duckdb.connect()
    cols = con.execute(f"SELECT * FROM read_parquet('{parquet}') LIMIT 0").description
    aggs = []
    for name, *_ in cols:
        if name in ("customer_ids", "fields"):
            aggs.append(f"sum(len({name}))")
        else:
            aggs.append(f"max({name})")
    began = time.perf_counter()
    con.execute(f"SELECT {', '.join(aggs)} FROM read_parquet('{parquet}')").fetchall()
    return time.perf_counter() - began


def copy_floor_seconds(parquet: Path, work: Path) -> float:
    """DuckDB reading the file and writing it back as zstd Parquet: the least any ingest
    that keeps its own copy must pay, before validating anything."""
    out = work / "copy-floor.parquet"
    began = time.perf_counter()
    duckdb.execute(
        f"COPY (SELECT * FROM read_parquet('{parquet}')) TO '{out}' "
        "(FORMAT parquet, COMPRESSION zstd)"
    )
    seconds = time.perf_counter() - began
    out.unlink()
    return seconds


def ingest_run(dataset: Path, work: Path) -> dict:
    db = work / "bench.duckdb"
    segments = work / "bench.duckdb.segments"
    for leftover in (db, segments, work / "bench.duckdb.wal"):
        if leftover.is_dir():
            shutil.rmtree(leftover)
        elif leftover.exists():
            leftover.unlink()
    done = subprocess.run(
        [sys.executable, "-c", RUNNER, str(dataset), str(db)],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["store_bytes"] = folder_bytes(db, segments)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000000,10000000", help="comma-separated event counts")
    parser.add_argument(
        "--work", type=Path, default=None, help="scratch folder (default: a temp dir)"
    )
    args = parser.parse_args()
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    work = args.work or Path(tempfile.mkdtemp(prefix="insiderwatch-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {describe()}")
    print(
        "targets: >= 1M events/s from Parquet, >= 300k events/s from JSON Lines, "
        "peak memory <= 2 GiB at 10M, within 3x of the raw DuckDB read"
    )
    print(
        "references: 'raw read' = DuckDB reading every column of the Parquet file; "
        "'copy' = DuckDB reading it and writing it back as zstd Parquet"
    )
    header = f"{'events':>11} {'format':>8} {'events/s':>11} {'seconds':>8} {'peak MiB':>9} {'MiB/M events':>13} {'x raw read':>11}"
    print(header)
    for n in sizes:
        pq_dir = work / f"parquet-{n}"
        if not (pq_dir / "access.parquet").exists():
            write_parquet_dataset(pq_dir, n)
        jsonl_dir = work / f"jsonl-{n}"
        if not (jsonl_dir / "access.jsonl").exists():
            jsonl_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy(pq_dir / "employees.parquet", jsonl_dir / "employees.parquet")
            # Written under another name first, so an interrupted run leaves no half file
            # that a later run would take for the whole one.
            partial = jsonl_dir / "partial.json"
            duckdb.execute(
                f"COPY (SELECT * FROM read_parquet('{pq_dir / 'access.parquet'}')) "
                f"TO '{partial}' (FORMAT json)"
            )
            partial.rename(jsonl_dir / "access.jsonl")
        raw = raw_read_seconds(pq_dir / "access.parquet")
        print(
            f"{n:>11,} {'raw read':>8} {n / raw:>11,.0f} {raw:>8.2f} {'':>9} {'':>13} {'1.0':>11}"
        )
        floor = copy_floor_seconds(pq_dir / "access.parquet", work)
        print(
            f"{n:>11,} {'copy':>8} {n / floor:>11,.0f} {floor:>8.2f} {'':>9} {'':>13} "
            f"{floor / raw:>11.1f}"
        )
        for fmt, folder in (("parquet", pq_dir), ("jsonl", jsonl_dir)):
            r = ingest_run(folder, work)
            if r["errors"] or r["events"] != n:
                print(f"  ingest problem: {r}")
            print(
                f"{n:>11,} {fmt:>8} {r['events'] / r['seconds']:>11,.0f} {r['seconds']:>8.2f} "
                f"{r['peak_rss'] / 2**20:>9,.0f} {r['store_bytes'] / 2**20 / (n / 1e6):>13,.1f} "
                f"{r['seconds'] / raw:>11.1f}"
            )
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
