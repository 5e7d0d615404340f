"""What a live step's alert-history update costs as the findings pile up.

A store holds a history of synthetic findings (several per employee and day, some
employees far above the alert score); a live step then adds one finding for one employee
on the last day. Timed: the incremental update (detect/history.py: the findings of the
step's day compared, that one employee rescored and their lines replaced) against the
full recompute in the same run (every finding scored in Python, every line deleted and
inserted, which every step did before and a change of risk settings still does).
Median of ``--repeats`` updates each. Asserts nothing.

    python benchmarks/bench_alert_history.py [--employees 200,2000] [--days 30,90]
        [--per-day 0.2] [--repeats 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from insiderwatch.detect.config import DetectionConfig  # noqa: E402
from insiderwatch.detect.history import FindingsBefore, update_history  # noqa: E402
from insiderwatch.detect.state import ensure_tables  # noqa: E402
from insiderwatch.privacy import HashKey  # noqa: E402
from insiderwatch.store import Store  # noqa: E402
from machine import describe  # noqa: E402

KEY = HashKey(bytes.fromhex("62656e63682d6b65792d30313233343536373839616263646566"))
START = dt.date(2026, 1, 1)

# Each employee has a finding on a share of days (hash-spread); points vary so that some
# employees cross the alert score and open episodes that later findings change.
_FINDINGS_SQL = """
INSERT INTO findings
SELECT md5(e || '|' || d), 'volume', 'v1', 'E' || lpad(e::VARCHAR, 5, '0'),
       $start + d::INTEGER, ts, ts - INTERVAL 10 MINUTE,
       4 + (hash(e, d) % 30), 'medium', false, 'looked up customers with no case',
       ['ev-' || e || '-' || d], ['c-' || (hash(e) % 1000)], 'unexplained_customers',
       12.0, 8.0, 1.0, 6.0, NULL
FROM (SELECT e, d, $start::TIMESTAMPTZ + to_days(d::INTEGER) + to_minutes((hash(d, e) % 600)::INTEGER)
             + INTERVAL 8 HOUR AS ts
      FROM range($employees) t(e), range($days) u(d)
      WHERE hash(e * 7919 + d) % 1000 < $per_mille)
"""


def prepared(folder: Path, employees: int, days: int, per_day: float) -> Store:
    store = Store(folder / "bench.duckdb")
    ensure_tables(store.con)
    store.con.execute(
        _FINDINGS_SQL,
        {"start": START, "employees": employees, "days": days,
         "per_mille": int(per_day * 1000)},
    )  # fmt: skip
    update_history(store, DetectionConfig(), KEY, FindingsBefore(None))  # the history so far
    return store


def one_step(store: Store, days: int, k: int, full: bool) -> float:
    """A step adding one finding on the last day; the seconds the history update took."""
    con = store.con
    last = START + dt.timedelta(days=days - 1)
    before = FindingsBefore(None) if full else FindingsBefore.keep(con, last)
    at = dt.datetime.combine(last, dt.time(18, k % 60), tzinfo=dt.UTC)
    con.execute(
        "INSERT INTO findings VALUES (?, 'volume', 'v1', 'E00001', ?, ?, ?, 30, 'high', false, "
        "'step', [?], [], NULL, NULL, NULL, NULL, NULL, NULL)",
        [f"step-{full}-{k}", last, at, at, f"ev-step-{k}"],
    )
    con.execute("BEGIN")
    began = time.perf_counter()
    update_history(store, DetectionConfig(), KEY, before)
    took = time.perf_counter() - began
    con.execute("COMMIT")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", default="200,2000")
    parser.add_argument("--days", default="30,90")
    parser.add_argument("--per-day", type=float, default=0.2, help="findings per employee-day")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(describe(), f"; load average {os.getloadavg()[0]:.1f}")
    print(f"{'employees':>9} {'days':>4} {'findings':>9} {'lines':>6} "
          f"{'full s':>7} {'step s':>7} {'full/step':>9}")  # fmt: skip
    for employees in (int(x) for x in args.employees.split(",")):
        for days in (int(x) for x in args.days.split(",")):
            folder = Path(tempfile.mkdtemp(prefix="bench-history-"))
            try:
                store = prepared(folder, employees, days, args.per_day)
                found = store.scalar("SELECT count(*) FROM findings")
                lines = store.scalar("SELECT count(*) FROM alerts")
                step = statistics.median(
                    one_step(store, days, k, full=False) for k in range(args.repeats)
                )
                full = statistics.median(
                    one_step(store, days, k, full=True) for k in range(args.repeats)
                )
                print(f"{employees:>9,} {days:>4} {found:>9,} {lines:>6,} "
                      f"{full:>7.3f} {step:>7.3f} {full / step:>9.1f}")  # fmt: skip
                store.close()
            finally:
                shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
