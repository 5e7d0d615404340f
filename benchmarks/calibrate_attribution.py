"""Fit the map from attribution margins to probabilities, and ship it as data.

Run with `make calibrate-attribution`. Simulates companies whose profiles and seeds are
NOT those `make bench-attribution` evaluates on (benchmarks/bench_attribution.py, EVAL),
builds leaks with known sources on each (benchmarks/leak_sim.py: insiders, insiders'
harvests, every outside scenario, mixed lists, and the middle mix of leaks whose sources
are hard to tell), and fits, for employees and for outside sources apart, an isotonic
regression of "this hypothesis really was a source of the list" on its margin, over
every hypothesis the report shows.

Isotonic regression alone follows every run of luck in the data: a step of six
hypotheses states "5 of 6" to three digits. Adjacent steps are therefore pooled until
each holds at least ``--min-block`` hypotheses, so every stated probability is a
frequency measured on that many (pooling neighbours of a non-decreasing sequence keeps
it non-decreasing). The map is the step function itself (calibration.py says why).

``--min-block`` is chosen by the fitting companies alone: each is held out in turn
(fitted on the others, judged on it, benchmarks/reliability.py), for every candidate; the
candidate with no decile off in any held-out company and the fewest undecided wins (ties:
the smaller block, which follows the data more closely). calibration.json records the
chosen check beside how the map was made.

The hypotheses of each company are kept in the work folder (``--work``), so a refit with
other candidates reruns no attribution.

    python benchmarks/calibrate_attribution.py [--per-kind 15] [--middle 100]
        [--min-block 100 200 400 800] [--jobs 1] [--work DIR]
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
    Spec,
    attribute_leak,
    build_company,
    hypotheses,
    leak_mix,
    middle_mix,
)
from machine import describe  # noqa: E402
from reliability import Decile, deciles, tally  # noqa: E402

# Four companies of four profiles, none of them a profile or a seed the benchmark
# evaluates on (bench_attribution.EVAL), so that the map is judged on kinds of company it
# never saw; each is held out once while the others fit.
FIT = (
    Spec("classic", 300, 7, 101),
    Spec("data-heavy-saas", 300, 7, 102),
    Spec("anz-insurer", 300, 7, 103),
    Spec("latam-retail", 300, 7, 104),
)
KINDS = ("employee", "outside")
# One map per kind and per named or not (calibration.py says why).
MAPS = {
    f"{kind}{'-named' if named else ''}": (kind, named) for kind in KINDS for named in (False, True)
}
TARGET = HERE.parent / "src" / "insiderwatch" / "investigate" / "calibration.json"


def company_points(work: Path, spec: Spec, per_kind: int, middle: int) -> list[Point]:
    """Every hypothesis of every leak on one company; kept in ``work`` for refits."""
    kept = _kept(work, spec, per_kind, middle)
    if kept.exists():
        return [Point(**p) for p in json.loads(kept.read_text())]
    company = build_company(work, spec)
    rng = np.random.default_rng(spec.seed)
    points: list[Point] = []
    leaks = chain(leak_mix(rng, company, per_kind), middle_mix(rng, company, middle))
    for n, leak in enumerate(leaks):
        report, _, _ = attribute_leak(company, rng, leak, work / f"fit-{spec.slug}-{n}.csv")
        points += hypotheses(report, leak)
    company.store.close()
    kept.write_text(json.dumps([asdict(p) for p in points]))
    print(f"company {spec.label}: {len(points)} hypotheses", flush=True)
    return points


def _kept(work: Path, spec: Spec, per_kind: int, middle: int) -> Path:
    return work / f"points-{spec.slug}-{per_kind}-{middle}.json"


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
    """The map ``key`` (MAPS) as steps: each step's frequency, and between two steps the
    bound (halfway between their fitted margins) where the higher one begins."""
    kind, named = MAPS[key]
    mine = [p for p in points if p.kind == kind and p.named == named]
    x = np.array([p.margin for p in mine], dtype=float)
    y = np.array([p.truth for p in mine], dtype=float)
    steps = pooled_isotonic(x, y, min_block) if len(mine) else [[0.0, 0.0, 0.0, 1.0]]
    bounds = [round((a[1] + b[0]) / 2, 4) for a, b in zip(steps, steps[1:], strict=False)]
    return {"bounds": bounds, "probability": [round(hits / n, 5) for *_, hits, n in steps]}


def stated(maps: dict[str, dict[str, list[float]]], points: list[Point]) -> np.ndarray:
    cal = Calibration.from_json({"made": {}, "maps": maps})
    return np.array([cal.probability(p.kind, p.margin, p.named) for p in points])


def held_out(by_company: dict[str, list[Point]], min_block: int) -> dict[str, list[Decile]]:
    """Each company's deciles, judged by a map fitted on the others."""
    out = {}
    for label, points in by_company.items():
        rest = [p for other, ps in by_company.items() if other != label for p in ps]
        maps = {key: fit(rest, key, min_block) for key in MAPS}
        out[label] = deciles(stated(maps, points), [p.truth for p in points])
    return out


def choose_block(by_company: dict[str, list[Point]], candidates: list[int]):
    """The candidate whose held-out check has no decile off anywhere and the fewest
    undecided (ties: the smaller block); with none clean, the fewest off. Returns the
    block and its check, per company."""
    scored = []
    for block in sorted(candidates):
        check = held_out(by_company, block)
        rows = [r for company in check.values() for r in company]
        off = sum(r.verdict == "off" for r in rows)
        undecided = sum(r.verdict == "undecided" for r in rows)
        print(f"--min-block {block}: {off} off, {undecided} undecided over the held-out companies")
        for label, company in check.items():
            print(f"  held out {label}: {tally(company)}")
        scored.append(((off, undecided), block, check))
    _, block, check = min(scored, key=lambda s: s[0])
    return block, {label: tally(rows) for label, rows in check.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--per-kind", type=int, default=15, help="leaks of each kind per company")
    parser.add_argument("--middle", type=int, default=100,
                        help="leaks of each middle-mix scenario per company")  # fmt: skip
    parser.add_argument("--min-block", type=int, nargs="+", default=[100, 200, 400, 800],
                        help="candidates for the fewest hypotheses behind one stated "
                        "probability; the held-out check chooses")  # fmt: skip
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
        by_company = {spec.label: r.result() for spec, r in zip(FIT, runs, strict=True)}
    points = [p for ps in by_company.values() for p in ps]
    block, checked = choose_block(by_company, args.min_block)
    maps = {key: fit(points, key, block) for key in MAPS}
    candidates = " ".join(map(str, args.min_block))
    made = {
        "method": "isotonic regression of 'really a source of the list' on the margin, per "
        f"kind and named or not, adjacent steps pooled to at least {block} hypotheses each "
        f"(chosen among {candidates} by the held-out check); a step function",
        "command": f"python benchmarks/calibrate_attribution.py --per-kind {args.per_kind} "
        f"--middle {args.middle} --min-block {candidates}",
        "companies": [asdict(spec) for spec in FIT],
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
