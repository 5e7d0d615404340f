"""Detection quality and speed on varied simulated companies, against two baselines.

Every company profile (insiderwatch_sim.profiles) x seed is simulated, ingested and
replayed through detection exactly as `insiderwatch analyze` does, then scored against the
simulator's ground truth at 0.5 / 1 / 2 / 5 alerts per 1,000 employee-days (alerts ranked
by score; see detect_scoring.py). In the same run, on the same store, an Isolation Forest
and a set of fixed rules are scored the same way (detect_baselines.py). Printed per
company and as mean and worst case: recall, precision, time to detect, recall per insider
scenario, the share of benign access explained per role after the learning window, alert
lines citing evidence later than their detected_at, and speed (detect and analyze
events/s, peak RSS) with the machine.

Hold-out companies (benchmarks/holdout, `--holdout N`, one of each style by default) come
from a generator written independently of the simulator and of detection (its `telco`
style excepted: docs/holdout.md), with its own vocabulary, role mix and insiders; they are
scored and printed exactly like the simulator's companies, included in the mean and worst
case, and summarised (mean, worst case, recall per scenario) on their own beside the
simulator's. Never tune detection on them.

The default seeds were never used while developing detection; say which you used when
quoting figures. Size defaults to 600 employees x 30 days per company, which the
8 profiles x 1 seed finish in about a quarter of an hour on a 2-core machine.

    .venv/bin/python benchmarks/bench_detect.py [--employees N] [--days D]
        [--profiles a,b,...] [--seeds 1,2] [--holdout N] [--holdout-employees N]
        [--jobs J] [--json FILE] [--disable ID,ID] [--config detection.toml]

`--disable` switches detectors off (an ablation: run once with and once without the same
detector, same companies, to see what it adds); the header names those switched off.
`--config` runs detection with a detection configuration file instead of the defaults
(an explanation switched off, for a before/after on the same companies).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import msgspec  # noqa: E402

import holdout  # noqa: E402
from detect_baselines import FixedRules, isolation_forest  # noqa: E402
from detect_scoring import (  # noqa: E402
    BUDGETS,
    rank_alert_lines,
    score,
)
from insiderwatch.alerts import evidence_after_detection, read_alert_history  # noqa: E402
from insiderwatch.detect import DetectionConfig, run_detection  # noqa: E402
from insiderwatch.detect.config import load_detection_config  # noqa: E402
from insiderwatch.detect.engine import active_detectors  # noqa: E402
from insiderwatch.ingest import ingest_dataset  # noqa: E402
from insiderwatch.privacy import HashKey  # noqa: E402
from insiderwatch.store import Store  # noqa: E402
from insiderwatch_sim import PROFILES, SimulationConfig, simulate, write_dataset  # noqa: E402
from machine import describe  # noqa: E402
from trace_insiders import TRUTH  # noqa: E402

KEY = HashKey(bytes(range(32)))  # any key: alert ids are keyed, results are not
DEFAULT_SEEDS = (48611,)  # never used while developing detection (nor by the tests)
HOLDOUT = "holdout:"  # profile names of hold-out companies: holdout:<style>
HOLDOUT_SEED = 7309  # first hold-out seed; the generator's own tests use others
SYSTEMS = ("ours", "isolation_forest", "fixed_rules")


def peak_rss() -> int:
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) * 1024 for line in fh if line.startswith("VmHWM"))


def explained_per_role(con, learning_days: int) -> dict[str, list[int]]:
    """role -> [explained, benign data accesses] after the learning window."""
    rows = con.execute(
        f"""SELECT role, count(*) FILTER (WHERE explanation IS NOT NULL), count(*)
            FROM access_explained x ANTI JOIN malicious USING (event_id)
            WHERE explanation IS DISTINCT FROM 'login'
              AND day >= (SELECT min(time)::DATE FROM access) + {int(learning_days)}
            GROUP BY ALL ORDER BY role"""
    ).fetchall()
    return {role or "": [done, total] for role, done, total in rows}


def simulated(profile: str, seed: int, args: argparse.Namespace, folder: Path) -> tuple[dict, dict]:
    """Write one company's dataset; (ground truth, role name -> role kind)."""
    if profile.startswith(HOLDOUT):
        cfg = holdout.HoldoutConfig(
            employees=args.holdout_employees or args.employees, days=args.days, seed=seed,
            style=profile.removeprefix(HOLDOUT),
        )  # fmt: skip
        return holdout.write_dataset(holdout.generate(cfg), folder), {}
    cfg = SimulationConfig(
        employees=args.employees, days=args.days, seed=seed, profile=profile,
        insider_rate=args.insider_rate,
    )  # fmt: skip
    company = simulate(cfg)
    write_dataset(company, folder)
    return company.truth, {name: kind for kind, name in PROFILES.get(profile).roles.items()}


def top_alerts(lines: list, insiders: dict, employee_days: int) -> list[dict]:
    """The alerts inside the largest budget but one (2/1k), best first, each with what made
    it: for reading the false alerts one by one (``--top-alerts``)."""
    last = {line.alert_id: line for line in lines}  # an alert's current state: its last line
    k = max(1, round(BUDGETS[-2] * employee_days / 1000))
    best = sorted(last.values(), key=lambda a: (-a.score, a.opened_at, a.alert_id))[:k]
    return [
        {"rank": n + 1, "employee_id": a.employee_id, "score": round(a.score, 1),
         "insider": insiders.get(a.employee_id, {}).get("scenario"),
         "opened_at": a.opened_at.isoformat(), "detectors": a.detectors, "reasons": a.reasons}
        for n, a in enumerate(best)
    ]  # fmt: skip


def run_company(profile: str, seed: int, args: argparse.Namespace) -> dict:
    """Simulate, ingest, detect and score one company; plain data back (it may run in a
    worker process). With ``--keep`` the dataset, the ground truth (``truth.json``) and the
    store stay under that folder."""
    kept = args.keep / f"{profile.replace(':', '-')}-{seed}" if args.keep else None
    if kept:
        kept.mkdir(parents=True)  # a fresh folder: a store left from another run would be continued
    folder = nullcontext(str(kept)) if kept else tempfile.TemporaryDirectory(prefix="bench-detect-")
    with folder as tmp:
        root = Path(tmp)
        began = time.perf_counter()
        truth, kinds = simulated(profile, seed, args, root / "dataset")
        sim_s = time.perf_counter() - began
        if kept:  # outside the dataset, which detection reads: for trace_insiders.py
            (kept / TRUTH).write_text(json.dumps(truth, indent=1))
        with Store(root / "iw.duckdb", memory_limit=args.memory, threads=args.threads) as store:
            began = time.perf_counter()
            ingest_dataset(store, root / "dataset", KEY)
            ingest_s = time.perf_counter() - began
            began = time.perf_counter()
            run = run_detection(store, detection_config(args), KEY)
            detect_s = time.perf_counter() - began
            lines = read_alert_history(store)  # what analyze writes to alerts.jsonl
            con = store.con
            malicious = [(e,) for i in truth["insiders"] for e in i["event_ids"]]
            con.execute("CREATE TEMP TABLE malicious (event_id VARCHAR)")
            con.executemany("INSERT INTO malicious VALUES (?)", malicious)
            employee_days = con.execute(
                "SELECT count(*) FROM (SELECT DISTINCT employee_id, time::DATE FROM access)"
            ).fetchall()[0][0]
            ranked = {
                "ours": rank_alert_lines(lines),
                "isolation_forest": isolation_forest(con),
                "fixed_rules": FixedRules(args.rule_customers, args.rule_records).rank(con),
            }
            roles = explained_per_role(con, args.learning_days)
            violations = evidence_after_detection(store)
    insiders = {
        i["employee_id"]: {"scenario": i["scenario"],
                           "first": dt.datetime.fromisoformat(i["first_malicious_at"])}
        for i in truth["insiders"]
    }  # fmt: skip
    return {
        "profile": profile, "seed": seed, "events": run.events, "insiders": len(insiders),
        "employee_days": employee_days, "alert_lines": len(lines),
        "evidence_after_detected_at": violations,
        "scores": {s: score(r, insiders, employee_days) for s, r in ranked.items()},
        "explained_by_role": {kinds.get(r, r): v for r, v in roles.items()},
        "role_names": {kinds.get(r, r): r for r in roles},
        "simulate_s": sim_s, "ingest_s": ingest_s, "detect_s": detect_s,
        "peak_rss": peak_rss(),
        "top_alerts": top_alerts(lines, insiders, employee_days) if args.top_alerts else [],
    }  # fmt: skip


# --- printing ---------------------------------------------------------------------------------


# A role's share of fewer benign accesses than this is printed with their number: 0% of
# 3 accesses is no finding about the role.
FEW_ACCESSES = 100


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def _hours(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def _explained(r: dict) -> tuple[float, str, float, int]:
    """(overall share, worst role kind, its share, its benign accesses) after the learning
    window."""
    roles = r["explained_by_role"]
    if not roles:  # a window no longer than the learning window
        return (0.0, "-", 0.0, 0)
    done = sum(v[0] for v in roles.values())
    total = sum(v[1] for v in roles.values())
    worst = min(roles, key=lambda k: roles[k][0] / roles[k][1] if roles[k][1] else 1.0)
    w = roles[worst]
    return (done / total if total else 0.0, worst, w[0] / w[1] if w[1] else 0.0, w[1])


def print_companies(results: list[dict]) -> None:
    print("\nPer company: our recall and precision at 0.5/1/2/5 alerts per 1,000 employee-days; "
          "baselines' recall at 1/1k")  # fmt: skip
    head = (f"{'profile':<20}{'seed':>6}{'events':>10}{'ins':>4}  {'recall':^23}  "
            f"{'precision':^23} {'TTD@1':>6} {'IF@1':>5} {'rules@1':>7} {'explnd':>6} "
            f"{'worst role (of accesses)':>32} {'late ev':>7} {'det ev/s':>9} {'ana ev/s':>9}")  # fmt: skip
    print(head)
    for r in results:
        ours = r["scores"]["ours"]
        share, worst, wshare, wtotal = _explained(r)
        events = r["events"]
        print(
            f"{r['profile']:<20}{r['seed']:>6}{events:>10,}{r['insiders']:>4}  "
            + " ".join(f"{s['recall']:>5.0%}" for s in ours) + "  "
            + " ".join(f"{s['precision']:>5.0%}" for s in ours)
            + f" {_hours(ours[1]['ttd_median_h']):>6} {r['scores']['isolation_forest'][1]['recall']:>5.0%}"
            f" {r['scores']['fixed_rules'][1]['recall']:>7.0%} {share:>6.1%}"
            f" {f'{worst} {wshare:.0%} of {wtotal:,}':>32} {r['evidence_after_detected_at']:>7}"
            f" {events / r['detect_s']:>9,.0f} {events / (r['ingest_s'] + r['detect_s']):>9,.0f}"
        )  # fmt: skip


def print_summary(results: list[dict], which: str = "companies") -> None:
    print(f"\nMean and worst case over {which} (recall / precision per budget):")
    print(f"{'system':<18}{'budget':>7}{'mean R':>8}{'worst R':>8}{'mean P':>8}{'worst P':>8}"
          f"{'TTD med h':>10}")  # fmt: skip
    for system in SYSTEMS:
        for b, budget in enumerate(BUDGETS):
            rows = [r["scores"][system][b] for r in results]
            recall = [x["recall"] for x in rows]
            precision = [x["precision"] for x in rows]
            ttd = [x["ttd_median_h"] for x in rows if x["ttd_median_h"] is not None]
            print(f"{system:<18}{budget:>7}{statistics.mean(recall):>8.0%}{min(recall):>8.0%}"
                  f"{statistics.mean(precision):>8.0%}{min(precision):>8.0%}"
                  f"{_hours(statistics.median(ttd) if ttd else None):>10}")  # fmt: skip


def print_scenarios(results: list[dict], which: str = "companies") -> None:
    print(f"\nRecall per scenario, pooled over {which} (ours / Isolation Forest / fixed rules):")
    for b, budget in enumerate(BUDGETS):
        pooled: dict[str, dict[str, list[int]]] = {}
        for r in results:
            for system in SYSTEMS:
                for name, (got, n) in r["scores"][system][b]["per_scenario"].items():
                    cell = pooled.setdefault(name, {}).setdefault(system, [0, 0])
                    cell[0] += got
                    cell[1] += n
        parts = [
            f"{name} " + "/".join(f"{v[system][0]}" for system in SYSTEMS) + f" of {v['ours'][1]}"
            for name, v in sorted(pooled.items())
        ]
        print(f"  {budget}/1k: " + ", ".join(parts))


def print_roles(results: list[dict], learning_days: int) -> None:
    print(f"\nBenign access explained per role (after the first {learning_days} days; "
          "role kinds as the simulator knows them, each company names them its own way; "
          f"a share of fewer than {FEW_ACCESSES} accesses shows their number after '/'):")  # fmt: skip
    kinds = sorted({k for r in results for k in r["explained_by_role"]})
    print(
        f"{'role kind':<20}"
        + "".join(f"{r['profile'][:14]:>15}" for r in results)
        + f"{'worst':>8}"
    )
    for kind in kinds:
        cells, shares = [], []
        for r in results:
            v = r["explained_by_role"].get(kind)
            share = v[0] / v[1] if v and v[1] else None
            shares += [share] if share is not None else []
            few = (
                f"/{v[1]}" if v and 0 < v[1] < FEW_ACCESSES else ""
            )  # a share of a handful is noise
            cells.append(f"{_pct(share) + few:>15}")
        print(f"{kind:<20}" + "".join(cells) + f"{_pct(min(shares) if shares else None):>8}")
    overall = [_explained(r)[0] for r in results]
    print(f"{'all benign access':<20}" + "".join(f"{x:>15.1%}" for x in overall)
          + f"{min(overall):>8.1%}")  # fmt: skip


def print_top_alerts(results: list[dict]) -> None:
    print(f"\nAlerts inside {BUDGETS[-2]}/1k per company (benign ones marked '-'):")
    for r in results:
        print(f"  {r['profile']}/{r['seed']}")
        for a in r["top_alerts"]:
            print(f"    {a['rank']:>3} {a['score']:>5.1f} {a['insider'] or '-':<22}"
                  f"{a['employee_id']:<14}{','.join(a['detectors'])}")  # fmt: skip


def print_speed(results: list[dict]) -> None:
    det = [r["events"] / r["detect_s"] for r in results]
    ana = [r["events"] / (r["ingest_s"] + r["detect_s"]) for r in results]
    late = sum(r["evidence_after_detected_at"] for r in results)
    lines = sum(r["alert_lines"] for r in results)
    print(f"\nAlert lines with evidence after their detected_at: {late} of {lines}")
    print(f"Detection replay: mean {statistics.mean(det):,.0f} events/s, worst {min(det):,.0f}; "
          f"analyze (ingest + detect): mean {statistics.mean(ana):,.0f}, worst {min(ana):,.0f}; "
          f"peak RSS {max(r['peak_rss'] for r in results) / 2**30:.2f} GiB")  # fmt: skip


def detection_config(args: argparse.Namespace) -> DetectionConfig:
    """The ``--config`` file's configuration (the defaults without one), with the
    ``--disable`` ids switched off as well."""
    cfg = load_detection_config(args.config)
    return msgspec.structs.replace(cfg, disabled=[*cfg.disabled, *args.disabled])


def disabled_ids(text: str) -> list[str]:
    """The ``--disable`` ids, each one a detector or rule the engine knows (a typo would
    otherwise switch nothing off and the ablation would measure nothing)."""
    ids = [i.strip() for i in text.split(",") if i.strip()]
    known = {d.id for d in active_detectors(DetectionConfig())}
    unknown = sorted(set(ids) - known)
    if unknown:
        raise SystemExit(f"--disable: unknown detector(s) {', '.join(unknown)}; "
                         f"known: {', '.join(sorted(known))}")  # fmt: skip
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--employees", type=int, default=600)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--profiles", default=",".join(PROFILES.names()))
    parser.add_argument("--seeds", default=",".join(map(str, DEFAULT_SEEDS)))
    parser.add_argument("--insider-rate", type=float, default=0.01)
    parser.add_argument(
        "--holdout",
        type=int,
        default=len(holdout.STYLES),
        help="hold-out companies added (styles in turn, seeds from --holdout-seed; "
        "default one of each style)",
    )
    parser.add_argument("--holdout-seed", type=int, default=HOLDOUT_SEED)
    parser.add_argument(
        "--holdout-employees", type=int, help="size of the hold-out companies (default --employees)"
    )
    parser.add_argument(
        "--learning-days",
        type=int,
        default=7,
        help="explained shares count accesses after this many days",
    )
    parser.add_argument("--rule-customers", type=int, default=FixedRules.customers_without_case)
    parser.add_argument("--rule-records", type=int, default=FixedRules.outbound_records)
    parser.add_argument("--jobs", type=int, default=1, help="companies run in parallel")
    parser.add_argument("--memory", default="1GB", help="DuckDB memory limit per company")
    parser.add_argument("--json", type=Path, help="also write every figure here")
    parser.add_argument(
        "--top-alerts",
        action="store_true",
        help="print the alerts inside 2/1k per company (employee, score, insider or not, "
        "detectors), and keep them in --json: the false alerts to read",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep each company's dataset, ground truth and store in a folder here "
        "(benchmarks/trace_insiders.py reads them)",
    )
    parser.add_argument(
        "--disable",
        default="",
        help="detector ids switched off, comma-separated (an ablation: what one detector adds)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        help="detection configuration file (TOML) instead of the defaults: an explanation "
        "or detector switched off for a before/after on the same companies",
    )
    args = parser.parse_args()  # fmt: skip
    args.disabled = disabled_ids(args.disable)
    args.threads = max(1, (os.cpu_count() or 1) // args.jobs)
    profiles = [p for p in args.profiles.split(",") if p]
    seeds = [int(s) for s in args.seeds.split(",") if s]
    for name in profiles:
        PROFILES.get(name)  # an unknown name fails here, naming the known ones
    styles = sorted(holdout.STYLES)
    extra = [
        (HOLDOUT + styles[i % len(styles)], args.holdout_seed + i) for i in range(args.holdout)
    ]
    print(f"machine: {describe()}")
    print(f"companies: {len(profiles)} profiles x seeds {', '.join(map(str, seeds))}, "
          f"{args.employees} employees x {args.days} days each, insider rate {args.insider_rate}; "
          f"{args.jobs} job(s)")  # fmt: skip
    if extra:
        print(f"hold-out companies: {', '.join(f'{p}/{s}' for p, s in extra)}, "
              f"{args.holdout_employees or args.employees} employees x {args.days} days each")  # fmt: skip
    print(f"fixed rules: {FixedRules(args.rule_customers, args.rule_records).describe()}")
    print(f"detectors disabled: {', '.join(args.disabled) or 'none'}")
    began = time.perf_counter()
    work = [(p, s) for s in seeds for p in profiles] + extra
    results = []
    with ProcessPoolExecutor(args.jobs) if args.jobs > 1 else nullcontext() as pool:
        columns = ([p for p, _ in work], [s for _, s in work], [args] * len(work))
        for r in pool.map(run_company, *columns) if pool else map(run_company, *columns):
            results.append(r)  # a line as each company finishes: long runs show progress
            print(f"  done {r['profile']}/{r['seed']}: {r['events']:,} events, our recall at "
                  f"1/1k {r['scores']['ours'][1]['recall']:.0%} "
                  f"({time.perf_counter() - began:.0f} s)", file=sys.stderr, flush=True)  # fmt: skip
    print_companies(results)
    print_summary(results)
    # Hold-out companies also on their own: their scenario names are their own, even
    # where one happens to match a simulator scenario's.
    sim = [r for r in results if not r["profile"].startswith(HOLDOUT)]
    held = [r for r in results if r["profile"].startswith(HOLDOUT)]
    groups = [(sim, "the simulator's companies"), (held, "hold-out companies")]
    groups = [g for g in groups if g[0]]
    if len(groups) > 1:
        for group, which in groups:
            print_summary(group, f"{which} only")
    for group, which in groups:
        print_scenarios(group, which)
    print_roles(results, args.learning_days)
    if args.top_alerts:
        print_top_alerts(results)
    print_speed(results)
    print(f"\n{len(results)} companies in {time.perf_counter() - began:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()
