"""Evidence benchmark: what sealing costs at ingest, and how fast a bundle is exported,
verified and the store audited, in a large store.

Run with `make bench-breach` (this is its evidence line). Prints the machine and the
figures; asserts nothing. Each profile is a store of synthetic events
(benchmarks/synthetic.py) with a different staff size, so the insider's share of the
events differs: "broad" spreads them over 2,000 staff, "concentrated" over 100. For each,
the employee with the most events is exported (the worst case) and one with a median
count. The baseline in the same run is ingest alone: the log's cost is reported as a
share of it.

    python benchmarks/bench_evidence.py [--events 10000000] [--work DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from insiderwatch.contract import TABLES
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.report.evidence import log
from insiderwatch.report.evidence.audit import audit_store
from insiderwatch.report.evidence.bundle import ExportRequest, export_bundle
from insiderwatch.report.evidence.sth import generate_key, load_signing_key, sign_current
from insiderwatch.report.evidence.verify import verify_bundle
from insiderwatch.store import Store

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from machine import describe  # noqa: E402
from synthetic import employees, events  # noqa: E402

KEY = HashKey(b"bench-evidence-key-0123456789abc")
PROFILES = (("broad", 2000, 11), ("concentrated", 100, 12))  # name, staff, seed
CHUNK = 500_000


def write_dataset(folder: Path, n: int, staff: int, seed: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(employees(staff), folder / "employees.parquet")
    schema = TABLES["access"].arrow_schema()
    with pq.ParquetWriter(folder / "access.parquet", schema) as writer:
        for i, begin in enumerate(range(0, n, CHUNK)):
            size = min(CHUNK, n - begin)
            writer.write_table(events(size, seed * 1000 + i, employees_n=staff, start_id=begin))


def timed(fn, *args, **kwargs):
    began = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - began


def run_profile(work: Path, name: str, staff: int, seed: int, n: int) -> dict:
    folder = work / name
    shutil.rmtree(folder, ignore_errors=True)
    write_dataset(folder / "dataset", n, staff, seed)
    generate_key(folder / "evidence.key")
    key = load_signing_key(folder / "evidence.key")
    row: dict = {"profile": f"{name} ({staff} staff)"}
    with Store(folder / "iw.duckdb") as store:
        _, row["ingest_s"] = timed(ingest_dataset, store, folder / "dataset", KEY)
        appended, row["log_s"] = timed(log.append_pending, store)
        _, row["sign_s"] = timed(sign_current, store, key)
        counts = store.con.execute(
            "SELECT employee_id, count(*) AS n FROM access GROUP BY 1 ORDER BY n DESC, 1"
        ).fetchall()
        row["events"] = appended.tree_size
        for label, (employee, count) in (("top", counts[0]), ("median", counts[len(counts) // 2])):
            out = folder / f"bundle-{label}"
            request = ExportRequest(employee_id=employee, reason="benchmark", exported_by="bench")
            _, row[f"{label}_export_s"] = timed(export_bundle, store, key, request, out)
            report, row[f"{label}_verify_s"] = timed(verify_bundle, out)
            row[f"{label}_events"] = count
            row[f"{label}_ok"] = report.ok and report.events_checked == count
            row[f"{label}_mb"] = sum(p.stat().st_size for p in out.iterdir()) / 2**20
        complaints, row["audit_s"] = timed(audit_store, store, key.public)
        row["audit_ok"] = not complaints
    shutil.rmtree(folder / "dataset")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=10_000_000, help="events per profile")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (kept if given)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="insiderwatch-bench-evidence-"))
    print(f"machine: {describe()}; load average {os.getloadavg()[0]:.1f} at start")
    rows = [run_profile(work, *profile, args.events) for profile in PROFILES]
    for r in rows:
        print(
            f"{r['profile']}: {r['events']:,} events; ingest {r['ingest_s']:.1f} s (baseline), "
            f"evidence log +{r['log_s']:.1f} s ({r['log_s'] / r['ingest_s']:.0%} of ingest, "
            f"{r['events'] / r['log_s'] / 1e6:.2f} M events/s), sign {r['sign_s'] * 1000:.0f} ms; "
            f"audit of the whole store {r['audit_s']:.1f} s ({'clean' if r['audit_ok'] else 'FAILED'})"
        )
        for label in ("top", "median"):
            print(
                f"  {label} employee, {r[f'{label}_events']:,} events: export "
                f"{r[f'{label}_export_s']:.2f} s, verify {r[f'{label}_verify_s']:.2f} s, "
                f"bundle {r[f'{label}_mb']:.1f} MiB, "
                f"{'verified' if r[f'{label}_ok'] else 'VERIFY FAILED'}"
            )
    worst = max(rows, key=lambda r: r["top_export_s"] + r["top_verify_s"])
    print(
        f"worst case: {worst['profile']}, {worst['top_events']:,} events exported in "
        f"{worst['top_export_s']:.2f} s and verified in {worst['top_verify_s']:.2f} s"
    )
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
