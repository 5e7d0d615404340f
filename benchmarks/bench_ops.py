"""Operational-store benchmark: recording an alert history and appending to the audit
log, on SQLite and on PostgreSQL, each beside a bare INSERT of the same number of rows
into the same database (the reference, so the ratio shows what the store's own work
costs: deduplication, the alerts' current state, the hash chain and its lock).

Run with `make bench-ops`. Prints the machine and the figures; asserts nothing.

    python benchmarks/bench_ops.py [--lines 5000] [--appends 1000] [--no-postgres]

History: LINES lines (alerts of 5 revisions each) recorded in one transaction, then the
same lines again (all duplicates). Audit: APPENDS entries, each in its own transaction
as the API writes them (one per request), then ``verify`` over the chain. PostgreSQL is
a private server started for the run (tests/servers.py; fsync off, as in the tests).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text

from insiderwatch.contract import Alert
from insiderwatch.store.ops import OpsStore, audit, open_ops
from insiderwatch.store.ops.history import HistoryLine, record_history

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from machine import describe  # noqa: E402

T0 = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)
REVISIONS = 5


def history(lines: int) -> list[HistoryLine]:
    out = []
    for n in range(lines):
        alert, revision = divmod(n, REVISIONS)
        at = T0 + dt.timedelta(minutes=alert, seconds=revision)
        a = Alert(
            alert_id=f"A{alert:06d}",
            revision=revision,
            employee_id=f"E{alert % 700:05d}",
            score=min(100.0, 30.0 + 10 * revision),
            severity="high",
            detected_at=at,
            opened_at=T0 + dt.timedelta(minutes=alert),
            first_seen=T0 + dt.timedelta(minutes=alert),
            last_seen=at,
            summary=f"read {120 * (revision + 1)} customer records, usually 15",
            detectors=["volume", "exfiltration"][: 1 + revision % 2],
            reasons=["volume: 120 records against a usual 15"],
            event_ids=[f"ev{alert}-{i}" for i in range(20)],
            customer_ids=[f"C{alert}-{i}" for i in range(20)],
            finding_ids=[f"f{alert}-{revision}"],
        )
        out.append(HistoryLine(a, f"bench:{n + 1}"))
    return out


def timed(work: Callable[[], object]) -> float:
    began = time.perf_counter()
    work()
    return time.perf_counter() - began


def reference_bulk(ops: OpsStore, rows: int) -> float:
    """A bare INSERT of ``rows`` rows of about a history line's size, one transaction."""
    body = "x" * 900
    with ops.engine.begin() as con:
        con.execute(text("CREATE TABLE bench_bulk (k TEXT PRIMARY KEY, body TEXT)"))

    def run() -> None:
        with ops.session() as s:
            s.execute(
                text("INSERT INTO bench_bulk (k, body) VALUES (:k, :b)"),
                [{"k": f"k{i}", "b": body} for i in range(rows)],
            )

    return timed(run)


def reference_single(ops: OpsStore, rows: int) -> float:
    """A bare one-row INSERT per transaction, ``rows`` times."""
    with ops.engine.begin() as con:
        con.execute(text("CREATE TABLE bench_one (k INTEGER PRIMARY KEY, body TEXT)"))

    def run() -> None:
        for i in range(rows):
            with ops.session() as s:
                s.execute(
                    text("INSERT INTO bench_one (k, body) VALUES (:k, 'employee.read')"), {"k": i}
                )

    return timed(run)


def measure(name: str, url: str, lines: list[HistoryLine], appends: int) -> list[str]:
    with open_ops(url) as ops:

        def record() -> None:
            with ops.session() as s:
                record_history(s, lines, source="bench")

        first = timed(record)
        again = timed(record)
        bulk = reference_bulk(ops, len(lines))

        def append_all() -> None:
            for i in range(appends):
                with ops.session() as s:
                    audit.append(
                        s,
                        actor="bench",
                        action="employee.read",
                        subject_kind="employee",
                        subject_id=f"E{i % 700:05d}",
                        why="benchmark",
                    )

        appended = timed(append_all)
        single = reference_single(ops, appends)
        with ops.session() as s:
            verified = timed(lambda: audit.verify(s))
    n = len(lines)
    return [
        f"{name}: record {n:,} history lines {first:.2f} s ({n / first:,.0f} lines/s); "
        f"again (all duplicates) {again:.2f} s; bare INSERT of {n:,} rows {bulk:.3f} s "
        f"-> {first / bulk:.1f}x the reference",
        f"{name}: audit appends {appends / appended:,.0f}/s ({appends:,} transactions, "
        f"{appended:.2f} s); bare one-row INSERT per transaction {appends / single:,.0f}/s "
        f"-> {appended / single:.1f}x the reference; verify {appends:,} entries {verified:.2f} s",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=5_000)
    parser.add_argument("--appends", type=int, default=1_000)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    print(f"machine: {describe()}")
    lines = history(args.lines)
    with tempfile.TemporaryDirectory() as work:
        url = f"sqlite:///{Path(work) / 'ops.sqlite'}"
        for row in measure("SQLite (WAL, synchronous FULL)", url, lines, args.appends):
            print(row, flush=True)
    if args.no_postgres:
        return
    from servers import Postgres

    server = Postgres(pgaudit=False)
    server.start()
    try:
        server.psql("CREATE DATABASE bench_ops")
        url = f"postgresql+psycopg://postgres@127.0.0.1:{server.port}/bench_ops"
        version = server.psql("SHOW server_version").strip()
        for row in measure(f"PostgreSQL {version} (loopback, fsync off)", url, lines, args.appends):
            print(row, flush=True)
    finally:
        server.remove()


if __name__ == "__main__":
    main()
