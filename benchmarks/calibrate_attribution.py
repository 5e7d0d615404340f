"""Fit the map from attribution margins to probabilities, and ship it as data.

Run with `make calibrate-attribution`. Simulates companies whose seeds and sizes are NOT
those `make bench-attribution` evaluates on (benchmarks/bench_attribution.py, EVAL),
builds a mix of leaks with known sources on each (benchmarks/leak_sim.py: insiders,
insiders' harvests, every outside scenario, mixed lists), and fits, for employees and
for outside sources apart, an isotonic regression (scikit-learn) of "this hypothesis
really was a source of the list" on its margin, over every hypothesis the report shows.
Writes src/insiderwatch/investigate/calibration.json with how it was made.

    python benchmarks/calibrate_attribution.py [--per-kind 30] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import sklearn
from sklearn.isotonic import IsotonicRegression

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from leak_sim import attribute_leak, build_company, hypotheses, leak_mix  # noqa: E402
from machine import describe  # noqa: E402

# (employees, days, seed): disjoint from the benchmark's companies.
FIT = ((300, 7, 101), (500, 7, 102), (800, 7, 103))
TARGET = HERE.parent / "src" / "insiderwatch" / "investigate" / "calibration.json"


def collect(work: Path, per_kind: int) -> tuple[dict[str, list], dict[str, int]]:
    points: dict[str, list] = {"employee": [], "outside": []}
    leaks: dict[str, int] = {}
    for employees, days, seed in FIT:
        company = build_company(work, employees, days, seed)
        rng = np.random.default_rng(seed)
        for n, leak in enumerate(leak_mix(rng, company, per_kind)):
            report, _, _ = attribute_leak(company, rng, leak, work / f"fit-{n}.csv")
            for kind, margin, _, truth in hypotheses(report, leak):
                points[kind].append((margin, truth))
            leaks[leak.scenario] = leaks.get(leak.scenario, 0) + 1
        company.store.close()
        print(f"company {employees} staff seed {seed}: {sum(leaks.values())} leaks so far")
    return points, leaks


def fit(points: list[tuple[float, bool]]) -> dict[str, list[float]]:
    x = np.array([p[0] for p in points])
    y = np.array([p[1] for p in points], dtype=float)
    model = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y)
    return {
        "margin": [round(float(v), 4) for v in model.X_thresholds_],
        "probability": [round(float(v), 5) for v in model.y_thresholds_],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--per-kind", type=int, default=30, help="leaks of each kind per company")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (kept if given)")
    parser.add_argument("--out", type=Path, default=TARGET)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="insiderwatch-calibrate-"))
    work.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    points, leaks = collect(work, args.per_kind)
    maps = {kind: fit(p) for kind, p in points.items()}
    made = {
        "method": "isotonic regression (scikit-learn "
        f"{sklearn.__version__}) of 'really a source of the list' on the margin, per kind",
        "command": f"python benchmarks/calibrate_attribution.py --per-kind {args.per_kind}",
        "companies": [{"employees": e, "days": d, "seed": s} for e, d, s in FIT],
        "leaks": leaks,
        "points": {kind: len(p) for kind, p in points.items()},
        "positives": {kind: int(sum(t for _, t in p)) for kind, p in points.items()},
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": describe(),
        "seconds": round(time.perf_counter() - began),
    }
    args.out.write_text(json.dumps({"made": made, "maps": maps}, indent=1) + "\n")
    print(f"wrote {args.out}: {made['points']} points, {made['positives']} true sources")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
