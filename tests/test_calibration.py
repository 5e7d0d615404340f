"""The shipped calibration: a monotone map fitted on companies the benchmark does not use."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from insiderwatch.investigate.calibration import Calibration, shipped

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize("kind", ["employee", "outside"])
def test_the_shipped_map_is_a_probability_that_never_falls_as_the_margin_grows(kind):
    cal = shipped()
    margins, probabilities = cal.margins[kind], cal.probabilities[kind]
    assert len(margins) >= 2 and np.all(np.diff(margins) >= 0)
    assert np.all(np.diff(probabilities) >= 0)
    assert 0 <= probabilities[0] < 0.5 < probabilities[-1] <= 1
    sweep = [cal.probability(kind, m) for m in np.linspace(-50, 50, 101)]
    assert sweep == sorted(sweep)


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
