"""Attribution benchmark: how often the leaker comes first, whether anyone is accused of a
list no employee made, whether the stated probabilities hold, and how fast, at scale.

Run with `make bench-attribution`. Prints the machine and the figures; asserts nothing.

Companies: EVAL below, four simulated companies of different profiles (vocabulary, role
mix, case-linking habits, time zone: insiderwatch_sim.PROFILES), sizes and seeds, none of
them a profile or a seed the calibration was fitted on; each with sellers (from its
orders), an earlier breach list, a list of customers public by choice, a partner and a
processor (benchmarks/leak_sim.py). The summary reports the worst company for each
target.

Insider leaks: a leak
of N records with noise share p holds N*(1-p) customers drawn at random from those whose
email or phone the leaker saw (for a pair: half from each), plus N*p customers none of
the leakers saw, written messily (case, spaces, country codes, spreadsheet damage) from
the raw dataset files, with a junk row and a duplicate. "With canaries": a canary plan
is planted before the simulated month and each of a leaker's decoys turns up in the leak
with probability 0.3 (decoys sit in the search results and queues that get harvested).
In the same run the naive peer ranks staff by how many leaked customers they saw.

Top-1: the leaker first (pair: one of them first). Top-3: the leaker in the first three
(pair: both). "canary top-1" counts only the leaks that hold at least one canary.

Outside leaks (no employee made them): a seller's whole base (sellers of at most 2,000
customers), half of it, a partner's or processor's share, a sample of the earlier breach
or of the public list, random customers with strangers (five times as many random lists as
of each other kind: they are the plainest test of naming nobody). "employee named" must
stay under 1%; "staff-only named" is the same model without the outside hypotheses, in the same
run. Mixed leaks: half an insider's harvest, half a seller's, breach's or partner's rows.

Middle mix (leak_sim.py): faint traces of an insider or of an outside source among
other rows, an insider's faint share blended into an outside source's rows, a pair with
one faint partner, and outside lists leaning towards what one innocent saw; the last two
kinds no employee made count towards "employee named".

Calibration: every hypothesis each report shows (suspects and outside sources), its
stated probability against whether it really was a source, per decile of stated, with
each decile's Wilson 95% interval and verdict (benchmarks/reliability.py), per company
and for all companies together.

Speed: a 1,000-record leak against a store of synthetic events (10 M by default).

    python benchmarks/bench_attribution.py [--trials 1] [--middle 100] [--companies 4]
        [--events 10000000] [--jobs 1] [--quick] [--work DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from insiderwatch.ingest import ingest_dataset
from insiderwatch.investigate.calibration import shipped
from insiderwatch.store import Store

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from leak_sim import (  # noqa: E402
    KEY,
    MIDDLE_SCENARIOS,
    NOISE,
    OUTSIDE_SCENARIOS,
    SIZES,
    Company,
    Leak,
    Point,
    Spec,
    attribute_leak,
    attribute_once,
    build_company,
    hypotheses,
    insider_leak,
    make_leak,
    middle_leak,
    mixed_leak,
    naive_ranking,
    outside_leak,
    write,
)
from machine import describe  # noqa: E402
from reliability import deciles, table, tally  # noqa: E402
from synthetic import write_parquet_dataset  # noqa: E402

FOUND_SYNTHETIC = datetime(2026, 12, 1, tzinfo=UTC)  # after every synthetic event
# The companies evaluated: no profile and no seed is one the calibration was fitted on
# (benchmarks/calibrate_attribution.py, FIT).
EVAL = (
    Spec("us-marketplace", 500, 7, 31),
    Spec("fintech-apac", 300, 7, 32),
    Spec("eu-telco", 400, 10, 33),
    Spec("india-bpo", 300, 7, 34),
)
RANDOM_TRIALS = 5  # random lists per size, per outside-leak trial
OUTSIDE_SIZES = (20, 100, 1000)


def hit(ranking: list[str], leakers: list[str], top: int) -> bool:
    head = ranking[:top]
    if top == 1:
        return bool(head) and head[0] in leakers
    return all(w in head for w in leakers)


# --- insider leaks: the accuracy table ------------------------------------------------------


@dataclass
class Tally:
    """What one company's run found; the summary reports the worst company."""

    label: str
    insider_top1: list[bool] = field(default_factory=list)
    naive_top1: list[bool] = field(default_factory=list)
    flagged_outside: list[bool] = field(default_factory=list)  # an employee named, no one did
    flagged_staff_only: list[bool] = field(default_factory=list)  # same, without outside
    points: list[Point] = field(default_factory=list)  # every hypothesis every report showed
    cells: dict[tuple, dict] = field(default_factory=dict)


def accuracy(c: Company, work: Path, trials: int, tally: Tally) -> None:
    print(
        f"{'records':>7} {'noise':>5} {'leakers':>7} {'canaries':>8} {'trials':>6} "
        f"{'top-1':>6} {'top-3':>6} {'naive-1':>7} {'naive-3':>7} {'w/canary':>8} "
        f"{'canary top-1':>12} {'median s':>8}"
    )
    for size in SIZES:
        for noise in NOISE:
            for n_leakers in (1, 2):
                for with_canaries in (False, True):
                    rng = np.random.default_rng([size, int(noise * 100), n_leakers])
                    row = _cell(c, work, rng, (size, noise, n_leakers, with_canaries), trials,
                                tally)  # fmt: skip
                    if row is None:
                        print(f"{size:>7} {noise:>5.0%} {n_leakers:>7}  (no staff saw enough)")
                        break
                    tally.cells[size, noise, n_leakers, with_canaries] = row
                    _print_cell(size, noise, n_leakers, with_canaries, row)


def _cell(c: Company, work: Path, rng, key: tuple, trials: int, tally: Tally) -> dict | None:
    size, noise, n_leakers, with_canaries = key
    row = dict.fromkeys(("top1", "top3", "naive1", "naive3", "with_canary", "canary_top1"), 0)
    row["trials"] = trials
    seconds = []
    for t in range(trials):
        leak = insider_leak(rng, c, n_leakers, size, noise, with_canaries)
        if leak is None:
            return None
        report, exposed, spent = attribute_leak(c, rng, leak, work / f"leak-{t}.csv")
        seconds.append(spent)
        ranking = [s.employee_id for s in report.suspects]
        naive = naive_ranking(exposed, rng)
        tally.insider_top1.append(hit(ranking, leak.leakers, 1))
        tally.naive_top1.append(hit(naive, leak.leakers, 1))
        tally.points += hypotheses(report, leak)
        row["top1"] += hit(ranking, leak.leakers, 1)
        row["top3"] += hit(ranking, leak.leakers, 3)
        row["naive1"] += hit(naive, leak.leakers, 1)
        row["naive3"] += hit(naive, leak.leakers, 3)
        if leak.extra_rows:
            row["with_canary"] += 1
            row["canary_top1"] += hit(ranking, leak.leakers, 1)
    row["median"] = statistics.median(seconds)
    return row


def _print_cell(size: int, noise: float, n_leakers: int, with_canaries: bool, row: dict) -> None:
    n = row["trials"]
    canary = f"{row['canary_top1'] / row['with_canary']:.1%}" if row["with_canary"] else "-"
    print(
        f"{size:>7} {noise:>5.0%} {n_leakers:>7} {'yes' if with_canaries else 'no':>8} {n:>6} "
        f"{row['top1'] / n:>6.1%} {row['top3'] / n:>6.1%} {row['naive1'] / n:>7.1%} "
        f"{row['naive3'] / n:>7.1%} {row['with_canary']:>8} {canary:>12} {row['median']:>8.3f}"
    )


def harvests(c: Company, work: Path, trials: int, tally: Tally) -> None:
    """Leaks drawn from what the simulated insiders harvested in their malicious events
    (not uniformly from all they saw): 20 and 100 records, 20% noise, no canaries."""
    rng = np.random.default_rng(99)
    for size in (20, 100):
        need = round(size * 0.8)
        who = sorted(e for e, h in c.harvests.items() if len(h) >= need)
        top1 = naive1 = runs = 0
        for e in who:
            for t in range(trials):
                customers = make_leak(rng, c, [e], size, 0.2, c.harvests)
                leak = Leak("harvest", customers, [e], [])
                report, exposed, _ = attribute_leak(c, rng, leak, work / f"insider-{t}.csv")
                ranking = [s.employee_id for s in report.suspects]
                top1 += hit(ranking, [e], 1)
                naive1 += hit(naive_ranking(exposed, rng), [e], 1)
                tally.insider_top1.append(hit(ranking, [e], 1))
                tally.points += hypotheses(report, leak)
                runs += 1
        if runs:
            print(
                f"simulated insiders ({len(who)} who harvested >= {need}), {size} records, "
                f"20% noise: top-1 {top1 / runs:.1%} model, {naive1 / runs:.1%} naive "
                f"over {runs} leaks"
            )


# --- outside and mixed leaks ------------------------------------------------------------


def outside(c: Company, work: Path, trials: int, tally: Tally) -> None:
    """Lists no employee made: is anyone named, and is the right source named?"""
    print(
        f"{'outside leak':>13} {'records':>7} {'trials':>6} {'employee named':>14} "
        f"{'staff-only named':>16} {'verdict outside':>15} {'right source':>12} {'median s':>8}"
    )
    for scenario in OUTSIDE_SCENARIOS:
        sizes = (0,) if scenario == "seller-base" else OUTSIDE_SIZES
        runs = trials * (RANDOM_TRIALS if scenario == "random" else 1)
        for size in sizes:
            rng = np.random.default_rng([size, len(scenario), 7])
            named = staff_only = outside_verdict = right = 0
            seconds = []
            for t in range(runs):
                leak = outside_leak(rng, c, scenario, size)
                path = write(rng, c, leak, work / f"outside-{t}.csv")
                report, _, spent, alone = attribute_once(c.store, c.found_at, path, c.mapped)
                seconds.append(spent)
                named += any(s.leaker for s in report.suspects)
                staff_only += any(s.leaker for s in alone.suspects)
                verdict = report.verdict
                outside_verdict += verdict is not None and verdict.kind == "outside"
                truth = {name for _, name in leak.sources}
                right += verdict is not None and bool(truth & set(verdict.sources))
                tally.flagged_outside.append(any(s.leaker for s in report.suspects))
                tally.flagged_staff_only.append(any(s.leaker for s in alone.suspects))
                tally.points += hypotheses(report, leak)
            shown = "whole" if size == 0 else str(size)
            print(
                f"{scenario:>13} {shown:>7} {runs:>6} {named / runs:>14.1%} "
                f"{staff_only / runs:>16.1%} {outside_verdict / runs:>15.1%} "
                f"{right / runs:>12.1%} {statistics.median(seconds):>8.3f}"
            )


def mixed(c: Company, work: Path, trials: int, tally: Tally) -> None:
    """Half an insider's harvest, half an outside source's customers."""
    insiders = sorted(e for e, h in c.harvests.items() if len(h) >= 20)
    if not insiders:
        print("mixed leaks: no simulated insider harvested 20 customers")
        return
    rng = np.random.default_rng(17)
    for kind in ("seller", "breach", "partner"):
        top1 = named = source = 0
        for t in range(trials):
            leak = mixed_leak(rng, c, str(rng.choice(insiders)), kind, 100)
            report, _, _ = attribute_leak(c, rng, leak, work / f"mixed-{t}.csv")
            ranking = [s.employee_id for s in report.suspects]
            top1 += hit(ranking, leak.leakers, 1)
            named += any(s.leaker and s.employee_id in leak.leakers for s in report.suspects)
            truth = {name for _, name in leak.sources}
            source += any(o.named and o.source in truth for o in report.outside_sources)
            tally.insider_top1.append(hit(ranking, leak.leakers, 1))
            tally.points += hypotheses(report, leak)
        print(
            f"mixed: insider's harvest + {kind} rows (100 records, half each), {trials} leaks: "
            f"insider first {top1 / trials:.1%}, named leaker {named / trials:.1%}, "
            f"{kind} named beside them {source / trials:.1%}"
        )


def middle(c: Company, work: Path, per_kind: int, tally: Tally) -> None:
    """The middle mix (leak_sim.py): leaks whose sources are hard to tell. They fill the
    reliability table between "surely" and "surely not", and the two kinds no employee
    made (a faint trace of an outside source, an outside list leaning towards what one
    innocent saw) count towards "employee named"."""
    print(f"{'middle mix':>13} {'leaks':>6} {'innocent named':>14} {'leaker named':>12} "
          f"{'source named':>12}")  # fmt: skip
    rng = np.random.default_rng(31)
    for scenario in MIDDLE_SCENARIOS:
        runs = innocent = leaker = source = 0
        for t in range(per_kind):
            leak = middle_leak(rng, c, scenario)
            if leak is None:
                continue
            report, _, _ = attribute_leak(c, rng, leak, work / f"middle-{t}.csv")
            runs += 1
            wrong = any(s.leaker and s.employee_id not in leak.leakers for s in report.suspects)
            innocent += wrong
            leaker += any(s.leaker and s.employee_id in leak.leakers for s in report.suspects)
            truth = {name for _, name in leak.sources}
            source += any(o.named and o.source in truth for o in report.outside_sources)
            if not leak.leakers:
                tally.flagged_outside.append(any(s.leaker for s in report.suspects))
            tally.points += hypotheses(report, leak)
        if runs:
            print(f"{scenario:>13} {runs:>6} {innocent / runs:>14.1%} {leaker / runs:>12.1%} "
                  f"{source / runs:>12.1%}")  # fmt: skip


# --- calibration --------------------------------------------------------------------------


def reliability(points: list[Point], title: str) -> float:
    """Stated against observed per decile of stated probability (benchmarks/reliability.py);
    prints the table and returns the worst gap over deciles with data."""
    rows = deciles([p.stated for p in points], [p.truth for p in points])
    print(table(rows, title))
    print(f"  {tally(rows)}")
    return max((r.gap for r in rows), default=0.0)


def summary(tallies: list[Tally]) -> None:
    def rate(values: list[bool]) -> str:
        return f"{np.mean(values):.1%} ({sum(values)}/{len(values)})" if values else "no leaks"

    def worst(pick, low: bool = True) -> Tally:
        scored = [t for t in tallies if pick(t)]
        key = (lambda t: np.mean(pick(t))) if scored else None
        return (min if low else max)(scored, key=key) if scored else tallies[0]

    print("\nworst company, per target:")
    t = worst(lambda t: t.insider_top1)
    print(f"target top-1 >= 95% on insider leaks: {rate(t.insider_top1)} ({t.label}); naive "
          f"peer {rate(t.naive_top1)}")  # fmt: skip
    t = worst(lambda t: t.flagged_outside, low=False)
    clean = [not f for f in t.flagged_outside]
    print(f"target no employee named in >= 99% of leaks no employee made: {rate(clean)} "
          f"({t.label}); staff-only model (no outside sources) on the outside leaks "
          f"{rate([not f for f in t.flagged_staff_only])}")  # fmt: skip
    everyone = [not f for t in tallies for f in t.flagged_outside]
    print(f"  all companies together: {rate(everyone)}")
    gaps = {t.label: reliability(t.points, t.label) for t in tallies}
    label = max(gaps, key=gaps.get)
    pooled = reliability([p for t in tallies for p in t.points], "all companies together")
    print(f"target stated within 5 points of observed in every decile: worst gap "
          f"{gaps[label]:.1%} ({label}); {pooled:.1%} with all companies together")  # fmt: skip


# --- speed at scale -----------------------------------------------------------------------


def synthetic_store(work: Path, events: int) -> Path:
    """Synthetic events (benchmarks/synthetic.py) plus customers with emails, ingested once
    and kept in the work folder for later runs."""
    folder = work / f"synthetic-{events}"
    db, done = folder / "iw.duckdb", folder / "complete"
    if done.exists():
        return db
    shutil.rmtree(folder, ignore_errors=True)  # an interrupted earlier run
    data = folder / "dataset"
    write_parquet_dataset(data, events)
    n = 500_000  # synthetic events name customers C0 .. C499999
    customers = pa.table(
        {
            "customer_id": [f"C{i}" for i in range(n)],
            "email": [f"customer{i}@example.com" for i in range(n)],
        }
    )
    pq.write_table(customers, data / "customers.parquet")
    with Store(db) as store:
        ingest_dataset(store, data, KEY)
    done.touch()
    return db


def speed(work: Path, events: int) -> None:
    db = synthetic_store(work, events)
    with Store(db) as store:
        rng = np.random.default_rng(3)
        seen = store.con.execute(
            "SELECT list(DISTINCT cid) FROM (SELECT unnest(customer_ids) AS cid FROM access "
            "WHERE employee_id = 'E00042' AND list_has_any(fields, ['email']))"
        ).fetchall()[0][0]
        real = rng.choice(sorted(seen), 800, replace=False).tolist()
        noise = [f"C{i}" for i in rng.choice(500_000, 200, replace=False)]
        path = work / "leak-1000.csv"
        with path.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["email"])
            writer.writerows([[f" Customer{c[1:]}@Example.com"] for c in real + noise])
        model_s, naive_s = [], []
        first = ""
        for _ in range(3):
            report, exposed, spent, _ = attribute_once(store, FOUND_SYNTHETIC, path)
            model_s.append(spent)
            first = report.suspects[0].employee_id
            began = time.perf_counter()
            naive_ranking(exposed, rng)
            naive_s.append(time.perf_counter() - began)
        counted = store.scalar("SELECT count(*) FROM access")
    print(
        f"1,000-record leak against {counted:,} events: {min(model_s):.2f} s best, "
        f"{statistics.median(model_s):.2f} s median of 3 (target < 5 s); first suspect "
        f"{first} (the planted leaker is E00042); naive ranking on the same exposures "
        f"adds {statistics.median(naive_s) * 1000:.0f} ms"
    )


def _saved(t: Tally) -> dict:
    return {k: v for k, v in asdict(t).items() if k != "cells"}


def rescore(path: Path) -> None:
    """The summary of an earlier run, each hypothesis's probability stated anew by the
    shipped map from its margin: margins do not depend on the map, so a refitted map is
    judged on the same leaks without rerunning them (margins were saved to 3 decimals)."""
    cal = shipped()
    print(f"machine: {describe()}\nrescoring {path} with the calibration fitted "
          f"{cal.made.get('fitted_at')}: {cal.made.get('method')}")  # fmt: skip
    tallies = []
    for saved in json.loads(path.read_text()):
        points = [Point(**p) for p in saved.pop("points")]
        stated = [
            replace(p, stated=cal.probability(p.kind, p.margin, p.named))  # type: ignore[arg-type]
            for p in points
        ]
        tallies.append(Tally(**saved, points=stated))
    summary(tallies)


def run_company(spec: Spec, args: argparse.Namespace, work: Path):
    """One company's tables, printed into a string (companies may run in parallel)."""
    work.mkdir(parents=True, exist_ok=True)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        began = time.perf_counter()
        company = build_company(work, spec)
        events = company.store.scalar("SELECT count(*) FROM access")
        print(
            f"\n== company: profile {spec.profile}, {spec.employees:,} staff, {spec.days} days, "
            f"seed {spec.seed}, {events:,} events, "
            f"{len(company.plan.decoys)} canaries, {len(company.outside)} outside sources; "
            f"built in {time.perf_counter() - began:.0f} s on {date.today()}"
        )
        tally = Tally(company.label)
        accuracy(company, work, args.trials, tally)
        harvests(company, work, max(1, args.trials // 2), tally)
        outside(company, work, 4 * args.trials, tally)
        mixed(company, work, 2 * args.trials, tally)
        middle(company, work, args.middle, tally)
        company.store.close()
        print(f"company done in {time.perf_counter() - began:.0f} s")
    return out.getvalue(), tally


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--trials", type=int, default=1, help="leaks per insider table row (0 skips accuracy)"
    )
    parser.add_argument("--middle", type=int, default=100,
                        help="leaks of each middle-mix scenario per company")  # fmt: skip
    parser.add_argument("--companies", type=int, default=len(EVAL), help="how many of EVAL")
    parser.add_argument("--events", type=int, default=10_000_000, help="0 skips the speed run")
    parser.add_argument("--jobs", type=int, default=1, help="companies run in parallel")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: --trials 1 --middle 20 --events 0 (figures too "
                        "thin to judge the calibration)")  # fmt: skip
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (kept if given)")
    parser.add_argument(
        "--points",
        type=Path,
        default=None,
        help="write every company's outcomes and hypotheses to this JSON file",
    )
    parser.add_argument(
        "--rescore",
        type=Path,
        default=None,
        help="only the summary, of a --points file, with the shipped map",
    )
    args = parser.parse_args()  # fmt: skip
    if args.rescore:
        rescore(args.rescore)
        return
    if args.quick:
        args.trials, args.middle, args.events = 1, 20, 0
    work = args.work or Path(tempfile.mkdtemp(prefix="insiderwatch-bench-attr-"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {describe()}; {args.jobs} job(s)")
    made = shipped().made
    print(f"calibration: {made.get('method')}; fitted on companies {made.get('companies')}")
    print(
        "targets: top-1 >= 95% on insider leaks; no employee named in >= 99% of leaks no "
        "employee made; stated probabilities within 5 points of observed in every decile; "
        "1,000-record leak against 10 M events < 5 s"
    )
    tallies = []
    # Largest first: with two jobs the smaller ones then share the other worker.
    specs = EVAL[: args.companies] if args.trials else ()
    specs = sorted(specs, key=lambda s: -s.employees * s.days)
    began = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        runs = [pool.submit(run_company, spec, args, work / spec.slug) for spec in specs]
        for done in as_completed(runs):
            text, tally = done.result()
            print(text, end="", flush=True)
            tallies.append(tally)
            summary(tallies)  # so far: a long run that is stopped still reports
            if args.points:
                args.points.write_text(json.dumps([_saved(t) for t in tallies]))
    print(f"\n{len(tallies)} companies in {time.perf_counter() - began:.0f} s with "
          f"{args.jobs} job(s)")  # fmt: skip
    if args.events:
        speed(work, args.events)
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
