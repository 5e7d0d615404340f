"""Fit the map from attribution margins to probabilities, and ship it as data.

Run with `make calibrate-attribution`. Simulates companies whose seeds and sizes are NOT
those `make bench-attribution` evaluates on (benchmarks/bench_attribution.py, EVAL),
builds leaks with known sources on each (benchmarks/leak_sim.py: insiders, insiders'
harvests, every outside scenario, mixed lists, and the middle mix of leaks whose sources
are hard to tell), and fits, for employees and for outside sources apart, an isotonic
regression of "this hypothesis really was a source of the list" on its margin, over
every hypothesis the report shows.

Isotonic regression alone follows every run of luck in the data: a step of six
hypotheses states "5 of 6" to three digits. Adjacent steps are therefore pooled until
each holds at least ``--min-block`` hypotheses, so every stated probability is a
frequency measured on that many (pooling neighbours of a non-decreasing sequence keeps
it non-decreasing). Before fitting on all companies, each is held out in turn (fitted on
the others, judged on it, benchmarks/reliability.py); calibration.json records that
held-out check beside how the map was made.

The hypotheses of each company are kept in the work folder (``--work``), so a refit with
another ``--min-block`` reruns no attribution.

    python benchmarks/calibrate_attribution.py [--per-kind 25] [--middle 150]
        [--min-block 400] [--jobs 1] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from datetime import UTC, datetime
from itertools import chain
from pathlib import Path

import numpy as np

from insiderwatch.investigate.calibration import Calibration

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from leak_sim import (  # noqa: E402
    Point,
    attribute_leak,
    build_company,
    hypotheses,
    leak_mix,
    middle_mix,
)
from machine import describe  # noqa: E402
from reliability import deciles, tally  # noqa: E402

# (employees, days, seed): disjoint from the benchmark's companies. Two, so that each is
# judged by a map fitted on the other (about 1,360 leaks each; a third company of 800
# staff would take over an hour on a shared 2-core machine).
FIT = ((300, 7, 101), (500, 7, 102))
KINDS = ("employee", "outside")
# One map per kind and per named or not (calibration.py says why).
MAPS = {
    f"{kind}{'-named' if named else ''}": (kind, named) for kind in KINDS for named in (False, True)
}
TARGET = HERE.parent / "src" / "insiderwatch" / "investigate" / "calibration.json"


def company_points(work: Path, spec: tuple[int, int, int], per_kind: int, middle: int):
    """Every hypothesis of every leak on one company; kept in ``work`` for refits."""
    employees, days, seed = spec
    kept = _kept(work, spec, per_kind, middle)
    if kept.exists():
        return [Point(**p) for p in json.loads(kept.read_text())]
    company = build_company(work, employees, days, seed)
    rng = np.random.default_rng(seed)
    points: list[Point] = []
    leaks = chain(leak_mix(rng, company, per_kind), middle_mix(rng, company, middle))
    for n, leak in enumerate(leaks):
        report, _, _ = attribute_leak(company, rng, leak, work / f"fit-{seed}-{n}.csv")
        points += hypotheses(report, leak)
    company.store.close()
    kept.write_text(json.dumps([asdict(p) for p in points]))
    print(f"company {employees} staff seed {seed}: {len(points)} hypotheses", flush=True)
    return points


def _kept(work: Path, spec: tuple[int, int, int], per_kind: int, middle: int) -> Path:
    employees, days, seed = spec
    return work / f"points-{employees}-{days}-{seed}-{per_kind}-{middle}.json"


def pooled_isotonic(x: np.ndarray, y: np.ndarray, min_block: int) -> list[list[float]]:
    """Pool-adjacent-violators, then pool each step smaller than ``min_block`` into the
    neighbour closer in value. Returns steps as [lowest margin, highest margin, sum, n]."""
    order = np.argsort(x, kind="stable")
    steps: list[list[float]] = []
    for xi, yi in zip(x[order].tolist(), y[order].tolist(), strict=True):
        if steps and steps[-1][1] == xi:  # equal margins share a step
            steps[-1][2] += yi
            steps[-1][3] += 1
        else:
            steps.append([xi, xi, yi, 1])
        while len(steps) > 1 and _mean(steps[-2]) >= _mean(steps[-1]):
            _merge(steps, len(steps) - 2)
    while len(steps) > 1 and min(s[3] for s in steps) < min_block:
        k = min(range(len(steps)), key=lambda i: steps[i][3])
        if k == 0 or (k < len(steps) - 1 and _closer_right(steps, k)):
            _merge(steps, k)
        else:
            _merge(steps, k - 1)
    return steps


def _mean(step: list[float]) -> float:
    return step[2] / step[3]


def _closer_right(steps: list[list[float]], k: int) -> bool:
    here = _mean(steps[k])
    return abs(_mean(steps[k + 1]) - here) <= abs(here - _mean(steps[k - 1]))


def _merge(steps: list[list[float]], k: int) -> None:
    a, b = steps[k], steps.pop(k + 1)
    steps[k] = [a[0], b[1], a[2] + b[2], a[3] + b[3]]


def fit(points: list[Point], key: str, min_block: int) -> dict[str, list[float]]:
    """The map ``key`` (MAPS): each step's frequency at both its ends, so that
    Calibration.probability interpolates only across the gap between two steps."""
    kind, named = MAPS[key]
    mine = [p for p in points if p.kind == kind and p.named == named]
    x = np.array([p.margin for p in mine], dtype=float)
    y = np.array([p.truth for p in mine], dtype=float)
    margins, probabilities = [], []
    for low, high, hits, n in pooled_isotonic(x, y, min_block):
        for m in (low, high) if high > low else (low,):
            margins.append(round(m, 4))
            probabilities.append(round(hits / n, 5))
    return {"margin": margins, "probability": probabilities}


def stated(maps: dict[str, dict[str, list[float]]], points: list[Point]) -> np.ndarray:
    cal = Calibration.from_json({"made": {}, "maps": maps})
    return np.array([cal.probability(p.kind, p.margin, p.named) for p in points])


def held_out(by_company: dict[str, list[Point]], min_block: int) -> dict[str, str]:
    """Each company judged by a map fitted on the others."""
    out = {}
    for label, points in by_company.items():
        rest = [p for other, ps in by_company.items() if other != label for p in ps]
        maps = {key: fit(rest, key, min_block) for key in MAPS}
        rows = deciles(stated(maps, points), [p.truth for p in points])
        out[label] = tally(rows)
        print(f"held out {label}: {out[label]}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--per-kind", type=int, default=25, help="leaks of each kind per company")
    parser.add_argument("--middle", type=int, default=150,
                        help="leaks of each middle-mix scenario per company")  # fmt: skip
    parser.add_argument("--min-block", type=int, default=400,
                        help="fewest hypotheses behind one stated probability")  # fmt: skip
    parser.add_argument("--jobs", type=int, default=1, help="companies simulated in parallel")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (kept if given)")
    parser.add_argument("--out", type=Path, default=TARGET)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="insiderwatch-calibrate-"))
    work.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    reused = [spec for spec in FIT if _kept(work, spec, args.per_kind, args.middle).exists()]
    with ProcessPoolExecutor(args.jobs) as pool:
        runs = [pool.submit(company_points, work, spec, args.per_kind, args.middle) for spec in FIT]
        by_company = {
            f"{e} staff, seed {s}": r.result() for (e, _, s), r in zip(FIT, runs, strict=True)
        }
    points = [p for ps in by_company.values() for p in ps]
    checked = held_out(by_company, args.min_block)
    maps = {key: fit(points, key, args.min_block) for key in MAPS}
    made = {
        "method": "isotonic regression of 'really a source of the list' on the margin, per "
        f"kind and named or not, adjacent steps pooled to at least {args.min_block} hypotheses each",
        "command": f"python benchmarks/calibrate_attribution.py --per-kind {args.per_kind} "
        f"--middle {args.middle} --min-block {args.min_block}",
        "companies": [{"employees": e, "days": d, "seed": s} for e, d, s in FIT],
        "hypotheses_by_scenario": _count(p.scenario for p in points),
        "points": {kind: sum(p.kind == kind for p in points) for kind in KINDS},
        "positives": {kind: sum(p.kind == kind and p.truth for p in points) for kind in KINDS},
        "held_out": checked,
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": describe(),
        "seconds": round(time.perf_counter() - began),
        "companies_reused_from_work": len(reused),  # their hypotheses came from an earlier run
    }
    args.out.write_text(json.dumps({"made": made, "maps": maps}, indent=1) + "\n")
    print(f"wrote {args.out}: {made['points']} points, {made['positives']} true sources")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


def _count(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


if __name__ == "__main__":
    main()
