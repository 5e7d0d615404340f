"""Detection quality and speed on a simulated company, against an Isolation Forest.

Simulates a company (default 2,000 employees x 30 days, seed 7), ingests it, runs
detection, and scores the alerts against the simulator's ground truth at alert budgets
of 0.5 / 1 / 2 / 5 alerts per 1,000 employee-days (alerts ranked by score). An alert
counts for an insider only if it was raised at or after their first malicious event;
time-to-detect is measured from that event. In the same run the reference baseline of
insider-threat papers, an Isolation Forest on employee-day features, is scored on the
same data with the same rules (its alerts are employee-days ranked by anomaly score,
raised at the day's last event).

    .venv/bin/python benchmarks/bench_detect.py [--employees N] [--days D] [--seed S]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from insiderwatch.detect import DetectionConfig, run_detection  # noqa: E402
from insiderwatch.ingest import ingest_dataset  # noqa: E402
from insiderwatch.privacy import HashKey  # noqa: E402
from insiderwatch.store import Store  # noqa: E402
from insiderwatch_sim import SimulationConfig, simulate, write_dataset, write_truth  # noqa: E402
from machine import describe  # noqa: E402

BUDGETS = (0.5, 1.0, 2.0, 5.0)
FEATURES = """
SELECT employee_id, time::DATE AS day, max(time) AS last_time,
       count(*) AS events,
       count(*) FILTER (WHERE action = 'view') AS views,
       count(*) FILTER (WHERE action = 'search') AS searches,
       count(*) FILTER (WHERE action IN ('export', 'download', 'print', 'copy', 'message')) AS outbound,
       coalesce(sum(record_count) FILTER (WHERE action IN ('export', 'download', 'print', 'copy', 'message')), 0) AS outbound_records,
       count(DISTINCT c) AS customers,
       count(*) FILTER (WHERE hour(time) < 7 OR hour(time) >= 20) AS off_hours,
       count(*) FILTER (WHERE case_id IS NULL) AS without_case,
       count(DISTINCT app) AS apps,
       count(DISTINCT device_id) AS devices
FROM (SELECT *, unnest(CASE WHEN len(customer_ids) = 0 THEN [NULL] ELSE customer_ids END) AS c FROM access)
GROUP BY ALL
ORDER BY employee_id, day  -- a fixed row order keeps the forest's fit repeatable
"""


def peak_rss() -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM"))


def score(ranked: list[tuple[str, list]], insiders: dict, employee_days: int) -> list[dict]:
    """Recall, precision and time-to-detect per budget for alerts ranked best first; each
    alert is (employee, the times of its findings)."""
    out = []
    for budget in BUDGETS:
        k = max(1, round(budget * employee_days / 1000))
        top = ranked[:k]
        caught: dict[str, float] = {}
        true_alerts = 0
        for emp, times in top:
            ins = insiders.get(emp)
            when = next((t for t in times if ins and t >= ins["first"]), None)
            if when is None:
                continue
            true_alerts += 1
            hours = (when - ins["first"]).total_seconds() / 3600
            caught[emp] = min(hours, caught.get(emp, hours))
        per_scenario: dict[str, list[int]] = {}
        for emp, ins in insiders.items():
            per_scenario.setdefault(ins["scenario"], []).append(emp in caught)
        ttd = sorted(caught.values())
        out.append({
            "budget": budget, "alerts": len(top), "recall": len(caught) / len(insiders),
            "precision": true_alerts / len(top) if top else 0.0,
            "ttd_median_h": statistics.median(ttd) if ttd else None,
            "ttd_p90_h": float(np.percentile(ttd, 90)) if ttd else None,
            "per_scenario": {s: sum(v) / len(v) for s, v in sorted(per_scenario.items())},
            "ttd_by_scenario_h": {
                s: statistics.median([caught[e] for e, i in insiders.items() if i["scenario"] == s and e in caught])
                for s in per_scenario
                if any(e in caught for e, i in insiders.items() if i["scenario"] == s)
            },
        })  # fmt: skip
    return out


def isolation_forest(store: Store) -> list[tuple[str, list[dt.datetime]]]:
    from sklearn.ensemble import IsolationForest

    table = store.con.sql(FEATURES).to_arrow_table()
    names = [c for c in table.column_names if c not in ("employee_id", "day", "last_time")]
    x = np.column_stack([table.column(c).to_numpy().astype(float) for c in names])
    model = IsolationForest(n_estimators=200, random_state=0).fit(np.log1p(x))
    anomaly = -model.score_samples(np.log1p(x))
    order = np.argsort(-anomaly, kind="stable")
    emps = table.column("employee_id").to_pylist()
    last = table.column("last_time").to_pylist()
    return [(emps[i], [last[i]]) for i in order]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--employees", type=int, default=2000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    print(f"machine: {describe()}")
    with tempfile.TemporaryDirectory(prefix="bench-detect-") as tmp:
        root = Path(tmp)
        began = time.perf_counter()
        company = simulate(
            SimulationConfig(employees=args.employees, days=args.days, seed=args.seed)
        )
        write_dataset(company, root / "dataset")
        write_truth(company, root / "truth.json")
        print(
            f"simulated {args.employees} employees x {args.days} days in {time.perf_counter() - began:.1f} s"
        )
        truth = json.loads((root / "truth.json").read_text())
        del company
        key = HashKey(bytes(range(32)))
        with Store(root / "iw.duckdb", memory_limit="1GB") as store:
            began = time.perf_counter()
            ingest_dataset(store, root / "dataset", key)
            ingest_s = time.perf_counter() - began
            began = time.perf_counter()
            run = run_detection(store, DetectionConfig())
            detect_s = time.perf_counter() - began
            events = run.events
            # An alert may open on earlier findings and absorb the malicious ones later:
            # it detects the insider at its first finding from their first malicious
            # event on, so every alert carries all its finding times.
            alerts = store.con.execute(
                """SELECT a.employee_id, list_sort(list(f.time)) AS times
                   FROM alerts a, unnest(a.finding_ids) AS u(finding_id)
                   JOIN findings f ON f.finding_id = u.finding_id
                   GROUP BY a.alert_id, a.employee_id, a.score, a.detected_at
                   ORDER BY a.score DESC, a.detected_at, a.alert_id"""
            ).fetchall()
            malicious = [e for i in truth["insiders"] for e in i["event_ids"]]
            store.con.execute("CREATE TEMP TABLE malicious (event_id VARCHAR)")
            store.con.executemany("INSERT INTO malicious VALUES (?)", [(e,) for e in malicious])
            explained = store.con.execute(
                """SELECT count(*) FILTER (WHERE explanation IS NOT NULL), count(*)
                   FROM access_explained x ANTI JOIN malicious USING (event_id)
                   WHERE explanation IS DISTINCT FROM 'login'"""
            ).fetchall()[0]
            people = store.con.execute(
                """SELECT count(*) FILTER (WHERE explanation IS NOT NULL), count(*)
                   FROM access_explained x ANTI JOIN malicious USING (event_id)
                   WHERE explanation IS DISTINCT FROM 'login' AND role <> 'service_account'"""
            ).fetchall()[0]
            employee_days = store.scalar("SELECT count(*) FROM employee_days")
            baseline = isolation_forest(store)
        insiders = {
            i["employee_id"]: {"scenario": i["scenario"],
                               "first": dt.datetime.fromisoformat(i["first_malicious_at"])}
            for i in truth["insiders"]
        }  # fmt: skip
        ours = score(alerts, insiders, employee_days)
        theirs = score(baseline, insiders, employee_days)

    print(f"{len(insiders)} insiders; {employee_days:,} employee-days; {len(alerts)} alerts raised")
    print(f"benign accesses explained: {explained[0] / explained[1]:.1%} of {explained[1]:,} "
          f"(staff only, service accounts excluded: {people[0] / people[1]:.1%} of {people[1]:,})")  # fmt: skip
    print(f"ingest  {events:,} events in {ingest_s:.1f} s = {events / ingest_s:,.0f} events/s")
    print(f"detect  {events:,} events in {detect_s:.1f} s = {events / detect_s:,.0f} events/s "
          f"({run.steps} daily steps)")  # fmt: skip
    print(
        f"analyze end to end {events / (ingest_s + detect_s):,.0f} events/s; peak RSS {peak_rss() / 2**30:.2f} GiB"
    )
    header = f"{'budget/1k emp-days':>18} {'alerts':>6} {'recall':>7} {'IF recall':>9} {'ratio':>6} {'precision':>9} {'IF prec':>7} {'TTD med h':>9} {'TTD p90 h':>9}"
    print(header)
    for a, b in zip(ours, theirs, strict=True):
        ratio = a["recall"] / b["recall"] if b["recall"] else float("inf")
        med = f"{a['ttd_median_h']:.1f}" if a["ttd_median_h"] is not None else "-"
        p90 = f"{a['ttd_p90_h']:.1f}" if a["ttd_p90_h"] is not None else "-"
        print(f"{a['budget']:>18} {a['alerts']:>6} {a['recall']:>7.0%} {b['recall']:>9.0%} {ratio:>6.1f} "
              f"{a['precision']:>9.0%} {b['precision']:>7.0%} {med:>9} {p90:>9}")  # fmt: skip
    print("recall per scenario (ours / Isolation Forest) and our median hours to detect:")
    for a, b in zip(ours, theirs, strict=True):
        parts = [
            f"{s} {a['per_scenario'][s]:.0%}/{b['per_scenario'][s]:.0%}"
            + (f" ({a['ttd_by_scenario_h'][s]:.1f} h)" if s in a["ttd_by_scenario_h"] else "")
            for s in a["per_scenario"]
        ]
        print(f"  budget {a['budget']}: " + ", ".join(parts))
    if args.json:
        args.json.write_text(json.dumps({"ours": ours, "isolation_forest": theirs}, indent=2))


if __name__ == "__main__":
    main()
