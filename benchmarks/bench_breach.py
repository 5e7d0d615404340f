"""Breach benchmark: how much of an insider's harm the scope finds, and how fast.

Run with `make bench-breach`. Prints the machine and the figures; asserts nothing.

Completeness: several simulated companies (size, length and seed vary). Each is ingested
and detected; for every insider the simulator planted, the scope is taken the way an
investigator would (`breach scope --alert ID`: the insider's first alert, window open to
the end) or, for an insider no alert named, from the first malicious event. Against the
truth it reports the share of the insider's malicious customers in scope (recall), the
share of customers of their exfiltrating events (export, print, copy, message, download
or a destination) marked taken out, and how many customers in scope were not in the
truth (the insider's own unexplained but benign access), and how many customers were
shown only in explained access ("hidden": what --include-explained would add). In the
same run the baseline is what alerts carry: the union of the customer ids of the
insider's alerts (capped evidence).
The worst case over companies and insiders is printed last.

Speed: the scope of one employee in a store of synthetic events (10 M by default) with a
stored explanation for every event (a stand-in: events with a case id count as
explained), the worst of several employees, three runs each.

    python benchmarks/bench_breach.py [--profiles 200x14x1,400x10x2,150x21x3]
                                      [--events 10000000] [--work DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from insiderwatch.contract.breach import TAKEN_OUT_ACTIONS
from insiderwatch.detect import DetectionConfig, run_detection
from insiderwatch.detect.state import ensure_tables
from insiderwatch.ingest import ingest_dataset
from insiderwatch.report.scope import ScopeQuery, compute_scope, query_for_alert
from insiderwatch.store import Store
from insiderwatch_sim import SimulationConfig, simulate, write_dataset

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_attribution import KEY, synthetic_store  # noqa: E402
from machine import describe  # noqa: E402

TARGET_S = 5.0


@dataclass
class InsiderResult:
    profile: str
    employee: str
    scenario: str
    alerted: bool
    truth: int
    recall: float
    taken_truth: int
    taken_recall: float
    extra: int
    hidden: int
    alert_recall: float
    seconds: float


def run_profile(work: Path, employees: int, days: int, seed: int) -> list[InsiderResult]:
    name = f"{employees}x{days}x{seed}"
    company = simulate(SimulationConfig(employees=employees, days=days, seed=seed))
    data = work / name / "dataset"
    write_dataset(company, data, "parquet")
    events = pq.read_table(data / "access.parquet",
                           columns=["event_id", "action", "destination", "customer_ids", "fields"])  # fmt: skip
    results = []
    with Store(work / name / "iw.duckdb") as store:
        ingest_dataset(store, data, KEY)
        run_detection(store, DetectionConfig(), KEY)
        n = store.scalar("SELECT count(*) FROM access")
        print(f"  company {name}: {employees:,} staff, {days} days, seed {seed}, {n:,} events, "
              f"{len(company.truth['insiders'])} insiders")  # fmt: skip
        for insider in company.truth["insiders"]:
            results.append(_measure(store, name, insider, events))
    return results


def _measure(store: Store, profile: str, insider: dict, events) -> InsiderResult:
    emp = insider["employee_id"]
    first_alert = store.con.execute(
        "SELECT alert_id, customer_ids FROM alerts WHERE employee_id = ? ORDER BY detected_at",
        [emp],
    ).fetchall()
    if first_alert:
        query = query_for_alert(store, first_alert[0][0])
    else:
        query = ScopeQuery(employees=[emp],
                           start=datetime.fromisoformat(insider["first_malicious_at"]))  # fmt: skip
    began = time.perf_counter()
    scope = compute_scope(store, query)
    seconds = time.perf_counter() - began
    rows = scope.rows
    in_scope = set(rows["customer_id"].to_pylist())
    taken = set(rows.filter(pc.equal(rows["exposure"], "taken_out"))["customer_id"].to_pylist())
    truth, truth_taken = _truth(insider, events)
    alerted = {c for _, ids in first_alert for c in ids}
    return InsiderResult(
        profile=profile, employee=emp, scenario=insider["scenario"], alerted=bool(first_alert),
        truth=len(truth), recall=_share(truth, in_scope), taken_truth=len(truth_taken),
        taken_recall=_share(truth_taken, taken), extra=len(in_scope - truth),
        hidden=scope.explained_only_customers,
        alert_recall=_share(truth, alerted), seconds=seconds,
    )  # fmt: skip


def _truth(insider: dict, events) -> tuple[set[str], set[str]]:
    mine = events.filter(pc.is_in(events["event_id"], value_set=_strings(insider["event_ids"])))
    truth, taken = set(), set()
    for ev in mine.to_pylist():
        if not ev["fields"]:
            continue
        truth.update(ev["customer_ids"])
        if ev["action"] in TAKEN_OUT_ACTIONS or ev["destination"] is not None:
            taken.update(ev["customer_ids"])
    return truth, taken


def _strings(values):
    import pyarrow as pa

    return pa.array(values, pa.string())


def _share(want: set[str], got: set[str]) -> float:
    return len(want & got) / len(want) if want else 1.0


def report_completeness(results: list[InsiderResult]) -> None:
    print(f"{'company':>12} {'insider':>9} {'scenario':>20} {'alert':>5} {'truth':>6} "
          f"{'scope':>6} {'out':>5} {'out%':>6} {'extra':>6} {'hidden':>6} {'alerts%':>8} {'ms':>6}")  # fmt: skip
    for r in results:
        print(f"{r.profile:>12} {r.employee:>9} {r.scenario:>20} {'yes' if r.alerted else 'no':>5} "
              f"{r.truth:>6} {r.recall:>6.0%} {r.taken_truth:>5} {r.taken_recall:>6.0%} "
              f"{r.extra:>6} {r.hidden:>6} {r.alert_recall:>8.0%} {r.seconds * 1000:>6.0f}")  # fmt: skip
    alerted = [r for r in results if r.alerted]
    worst = min(results, key=lambda r: r.recall)
    worst_out = min(results, key=lambda r: r.taken_recall)
    print(
        f"worst case over {len(results)} insiders: scope recall {worst.recall:.0%} "
        f"({worst.profile} {worst.employee}, {worst.scenario}); taken-out recall "
        f"{worst_out.taken_recall:.0%} ({worst_out.profile} {worst_out.employee}); "
        f"slowest scope {max(r.seconds for r in results) * 1000:.0f} ms"
    )
    if alerted:
        print(
            f"baseline (customer ids the alerts carry), alerted insiders: worst recall "
            f"{min(r.alert_recall for r in alerted):.0%}, scope from the same alerts: worst "
            f"{min(r.recall for r in alerted):.0%}"
        )


def speed(work: Path, events: int) -> None:
    db = synthetic_store(work, events)
    with Store(db) as store:
        ensure_tables(store.con)
        if not store.scalar("SELECT count(*) FROM access_explained"):
            # Stand-in explanations so that the scope joins a full table, as after detect.
            store.con.execute(
                """INSERT INTO access_explained
                   SELECT event_id, time::DATE, employee_id, 'cs_agent',
                          CASE WHEN case_id IS NOT NULL THEN 'own_case' END FROM access"""
            )
        counted = store.scalar("SELECT count(*) FROM access")
        worst, worst_emp, customers = 0.0, "", 0
        for emp in ("E00042", "E00777", "E01500", "E01999"):
            for _ in range(3):
                began = time.perf_counter()
                scope = compute_scope(store, ScopeQuery(employees=[emp]))
                spent = time.perf_counter() - began
                if spent > worst:
                    worst, worst_emp, customers = spent, emp, scope.rows.num_rows
        # The floor: one decode of every event's customer list (the employee's events are
        # spread over every row group, so none can be skipped).
        began = time.perf_counter()
        store.con.execute("SELECT sum(len(customer_ids)) FROM access").fetchall()
        full_pass = time.perf_counter() - began
    print(
        f"scope of one employee in {counted:,} events: worst {worst:.2f} s ({worst_emp}, "
        f"{customers:,} customers in scope) over 4 employees x 3 runs (target <= {TARGET_S:.0f} s); "
        f"one pass over all customer lists {full_pass:.2f} s; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profiles", default="200x14x1,400x10x2,150x21x3",
                        help="companies as STAFFxDAYSxSEED, comma-separated ('' skips)")  # fmt: skip
    parser.add_argument("--events", type=int, default=10_000_000, help="0 skips the speed run")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (kept if given)")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="insiderwatch-bench-breach-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {describe()}")
    print(f"target: scope of an insider in a 10 M-event store <= {TARGET_S:.0f} s")
    results = []
    for profile in filter(None, args.profiles.split(",")):
        employees, days, seed = (int(x) for x in profile.split("x"))
        results += run_profile(work, employees, days, seed)
    if results:
        report_completeness(results)
    if args.events:
        speed(work, args.events)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
