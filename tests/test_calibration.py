"""The shipped calibration: a monotone map fitted on companies the benchmark does not use."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from insiderwatch.investigate.calibration import Calibration, shipped

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize("kind", ["employee", "outside"])
@pytest.mark.parametrize("named", [False, True])
def test_the_shipped_map_is_a_probability_that_never_falls_as_the_margin_grows(kind, named):
    cal = shipped()
    key = f"{kind}-named" if named else kind
    margins, probabilities = cal.margins[key], cal.probabilities[key]
    assert len(margins) >= 2 and np.all(np.diff(margins) >= 0)
    assert np.all(np.diff(probabilities) >= 0)
    assert 0 <= probabilities[0] <= probabilities[-1] <= 1
    sweep = [cal.probability(kind, m, named) for m in np.linspace(-50, 50, 101)]
    assert sweep == sorted(sweep)
    # Unnamed hypotheses are mostly not sources, named ones mostly are.
    assert (probabilities[-1] > 0.5) if named else (probabilities[0] < 0.5)


def test_the_map_says_how_it_was_made_on_companies_the_benchmark_does_not_evaluate():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from bench_attribution import EVAL
    finally:
        sys.path.remove(str(BENCHMARKS))
    made = shipped().made
    assert "isotonic" in made["method"]
    fitted = {(c["employees"], c["days"], c["seed"]) for c in made["companies"]}
    assert fitted and not fitted & set(EVAL)
    assert not {seed for *_, seed in fitted} & {seed for *_, seed in EVAL}
    assert made["positives"]["employee"] > 0 and made["positives"]["outside"] > 0


def test_probabilities_interpolate_between_fitted_points_and_stay_flat_beyond():
    cal = Calibration.from_json(
        {"made": {}, "maps": {"employee": {"margin": [0, 10], "probability": [0.2, 0.8]}}}
    )
    assert cal.probability("employee", 5) == pytest.approx(0.5)
    assert cal.probability("employee", -100) == pytest.approx(0.2)
    assert cal.probability("employee", 100) == pytest.approx(0.8)
    # Without a map of its own, a named hypothesis uses its kind's.
    assert cal.probability("employee", 5, named=True) == pytest.approx(0.5)


def test_a_named_hypothesis_is_read_from_the_named_map():
    """At the same margin a named employee (who just cleared the rule) and an unnamed one
    (a leaker of too small a share, often) are different evidence."""
    maps = {
        "employee": {"margin": [0, 10], "probability": [0.2, 0.9]},
        "employee-named": {"margin": [3, 30], "probability": [0.3, 1.0]},
    }
    cal = Calibration.from_json({"made": {}, "maps": maps})
    assert cal.probability("employee", 3) == pytest.approx(0.41)
    assert cal.probability("employee", 3, named=True) == pytest.approx(0.3)
    shipped_maps = shipped().margins
    assert {"employee-named", "outside-named"} <= set(shipped_maps)


# --- how the map is fitted and judged (benchmarks/calibrate_attribution.py, reliability.py) --


@pytest.fixture(scope="module")
def bench_modules():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import calibrate_attribution
        import reliability

        yield calibrate_attribution, reliability
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_pooled_isotonic_steps_rise_hold_enough_hypotheses_and_state_their_frequency(
    bench_modules,
):
    calibrate, _ = bench_modules
    rng = np.random.default_rng(5)
    x = rng.normal(0, 4, 3000)
    y = (rng.random(3000) < 1 / (1 + np.exp(-x))).astype(float)
    steps = calibrate.pooled_isotonic(x, y, min_block=150)
    values = [hits / n for _, _, hits, n in steps]
    assert values == sorted(values) and len(steps) >= 5
    assert min(n for *_, n in steps) >= 150
    assert sum(n for *_, n in steps) == 3000 and sum(h for *_, h, _ in steps) == y.sum()
    for low, high, hits, n in steps:  # each step's value is the frequency of its own points
        inside = (x >= low) & (x <= high)
        assert inside.sum() == n and y[inside].sum() == hits
    # Without pooling, isotonic regression keeps tiny steps that state luck.
    assert min(n for *_, n in calibrate.pooled_isotonic(x, y, min_block=1)) < 150


def test_wilson_interval_and_the_verdict_of_a_decile(bench_modules):
    _, rel = bench_modules
    low, high = rel.wilson(0, 100)
    assert low == 0 and 0.03 < high < 0.04
    assert rel.wilson(50, 100)[0] == pytest.approx(1 - rel.wilson(50, 100)[1])
    few = rel.deciles([0.55] * 20, [True] * 11 + [False] * 9)
    assert [r.verdict for r in few] == ["undecided"]
    many = rel.deciles([0.55] * 2000, [True] * 1100 + [False] * 900)
    assert [r.verdict for r in many] == ["within 5 pts"]
    off = rel.deciles([0.55] * 2000, [True] * 1500 + [False] * 500)
    assert [(r.low, r.verdict) for r in off] == [(50, "off")]
    assert "1 off" in rel.tally(off)


def test_the_shipped_map_passed_its_held_out_check():
    """Each fitting company, judged by a map fitted on the others, had no decile off by
    more than 5 points that its interval could tell (a refit that fails must not ship)."""
    made = shipped().made
    assert len(made["held_out"]) == len(made["companies"])
    assert all(" 0 off" in verdict for verdict in made["held_out"].values())
