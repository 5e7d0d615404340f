"""In-memory ingest benchmark: events/s of app.ingest_records (what an HTTP request or a
NATS message goes through) at several batch sizes, against the same events loaded from
a JSON Lines file in the same run (the reference).

Run by `make bench`. The events are encoded as JSON lines before timing (a collector
receives bytes); each run starts from a fresh store holding only the roster, and every
use case seals the evidence log as it does in service. Prints the machine and the
figures; asserts nothing.

    python benchmarks/bench_ingest_records.py [--events 200000] [--batches 1000,20000]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import msgspec

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from insiderwatch import app  # noqa: E402
from machine import describe  # noqa: E402
from synthetic import employees, events  # noqa: E402

KEY_HEX = "62656e63682d6b65792d30313233343536373839616263646566"


def fresh(work: Path, name: str) -> app.Deployment:
    """A deployment over a new store that holds the roster (loaded untimed)."""
    folder = work / name
    shutil.rmtree(folder, ignore_errors=True)
    deployment = app.load_deployment({"db": folder / "iw.duckdb", "hash_key": KEY_HEX})
    roster = [msgspec.json.encode(r) for r in employees().to_pylist()]
    app.ingest_records(deployment, "employees", roster, source="bench-roster")
    return deployment


def from_file(work: Path, lines: list[bytes]) -> tuple[float, int]:
    folder = work / "file-input"
    folder.mkdir(exist_ok=True)
    (folder / "access.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    deployment = fresh(work, "file")
    began = time.perf_counter()
    report = app.ingest_paths(deployment, [folder])
    return time.perf_counter() - began, report.totals.loaded


def from_batches(work: Path, lines: list[bytes], size: int, seal_each: bool) -> tuple[float, int]:
    """Batches of ``size`` into one open store (as a service holds it), the evidence log
    sealed after each batch or once at the end (a collector may seal on a timer)."""
    deployment = fresh(work, f"batches-{size}-{seal_each}")
    loaded = 0
    with deployment.open_store() as store:
        began = time.perf_counter()
        for start in range(0, len(lines), size):
            batch = lines[start : start + size]
            report = app.ingest_records(
                deployment, "access", batch, source="bench", store=store, sealed=seal_each
            )
            loaded += report.totals.loaded
        if not seal_each:
            app.seal(store, deployment)
        return time.perf_counter() - began, loaded


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--batches", default="1000,20000", help="comma-separated batch sizes")
    args = parser.parse_args()
    sizes = [int(s) for s in args.batches.split(",")]
    work = Path(tempfile.mkdtemp(prefix="insiderwatch-bench-records-"))
    encoder = msgspec.json.Encoder()
    lines = [encoder.encode(e) for e in events(args.events).to_pylist()]
    print(f"machine: {describe()}")
    print(f"{args.events:,} access events as JSON lines; reference: the same lines as a file")
    print(f"{'input':>18} {'evidence sealed':>16} {'events/s':>11} {'seconds':>8} {'x file':>7}")
    seconds, loaded = from_file(work, lines)
    reference = loaded / seconds
    print(
        f"{'file (reference)':>18} {'at the end':>16} {reference:>11,.0f} {seconds:>8.2f} {1:>7.2f}"
    )
    for size in sizes:
        for seal_each in (True, False):
            seconds, n = from_batches(work, lines, size, seal_each)
            if n != loaded:
                print(f"  loaded {n:,} of {loaded:,} events")
            rate = n / seconds
            when = "every batch" if seal_each else "at the end"
            print(
                f"{f'batches of {size:,}':>18} {when:>16} {rate:>11,.0f} {seconds:>8.2f} "
                f"{rate / reference:>7.2f}"
            )
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
