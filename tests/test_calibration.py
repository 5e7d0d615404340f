"""The shipped calibration: a monotone map fitted on companies the benchmark does not use."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from bench_modules import bench_module
from insiderwatch.investigate.calibration import Calibration, shipped

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize("kind", ["employee", "outside"])
@pytest.mark.parametrize("named", [False, True])
def test_the_shipped_map_is_a_probability_that_never_falls_as_the_margin_grows(kind, named):
    cal = shipped()
    key = f"{kind}-named" if named else kind
    bounds, probabilities = cal.bounds[key], cal.probabilities[key]
    assert len(probabilities) == len(bounds) + 1 and np.all(np.diff(bounds) > 0)
    assert np.all(np.diff(probabilities) >= 0)
    assert 0 <= probabilities[0] <= probabilities[-1] <= 1
    sweep = [cal.probability(kind, m, named) for m in np.linspace(-50, 50, 101)]
    assert sweep == sorted(sweep)
    # Unnamed hypotheses are mostly not sources, named ones mostly are.
    assert (probabilities[-1] > 0.5) if named else (probabilities[0] < 0.5)


def test_the_map_says_how_it_was_made_on_companies_the_benchmark_does_not_evaluate():
    """Fitted on other profiles and other seeds than the benchmark judges it on, and on
    more than one profile (a map fitted on one kind of company learns its habits)."""
    EVAL = bench_module("bench_attribution").EVAL
    made = shipped().made
    assert "isotonic" in made["method"]
    fitted = made["companies"]
    assert len({c["profile"] for c in fitted}) >= 2
    assert not {c["profile"] for c in fitted} & {spec.profile for spec in EVAL}
    assert not {c["seed"] for c in fitted} & {spec.seed for spec in EVAL}
    assert made["positives"]["employee"] > 0 and made["positives"]["outside"] > 0


def test_probabilities_are_steps_and_a_margin_on_a_bound_takes_the_higher_step():
    cal = Calibration.from_json(
        {"made": {}, "maps": {"employee": {"bounds": [0, 10], "probability": [0.1, 0.4, 0.9]}}}
    )
    assert cal.probability("employee", -100) == pytest.approx(0.1)
    assert cal.probability("employee", -0.01) == pytest.approx(0.1)
    assert cal.probability("employee", 0) == pytest.approx(0.4)
    assert cal.probability("employee", 5) == pytest.approx(0.4)  # no ramp between steps
    assert cal.probability("employee", 10) == pytest.approx(0.9)
    assert cal.probability("employee", 100) == pytest.approx(0.9)
    # Without a map of its own, a named hypothesis uses its kind's.
    assert cal.probability("employee", 5, named=True) == pytest.approx(0.4)


def test_a_map_needs_one_probability_per_step():
    with pytest.raises(ValueError, match="one probability per step"):
        Calibration.from_json(
            {"made": {}, "maps": {"employee": {"bounds": [0, 10], "probability": [0.1, 0.9]}}}
        )


def test_a_named_hypothesis_is_read_from_the_named_map():
    """At the same margin a named employee (who just cleared the rule) and an unnamed one
    (a leaker of too small a share, often) are different evidence."""
    maps = {
        "employee": {"bounds": [0], "probability": [0.2, 0.9]},
        "employee-named": {"bounds": [10], "probability": [0.3, 1.0]},
    }
    cal = Calibration.from_json({"made": {}, "maps": maps})
    assert cal.probability("employee", 3) == pytest.approx(0.9)
    assert cal.probability("employee", 3, named=True) == pytest.approx(0.3)
    shipped_maps = shipped().bounds
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


def test_the_fitted_map_states_each_steps_frequency_from_halfway_between_steps(bench_modules):
    calibrate, _ = bench_modules
    from leak_sim import Point

    points = [Point("employee", m, False, 0.0, t, "x") for m, t in
              [(-5, False)] * 3 + [(-4, False)] + [(2, True), (2, False)] + [(6, True)] * 2]  # fmt: skip
    step_map = calibrate.fit(points, "employee", min_block=2)
    assert step_map == {"bounds": [-1.0, 4.0], "probability": [0.0, 0.5, 1.0]}
    cal = Calibration.from_json({"made": {}, "maps": {"employee": step_map}})
    assert [cal.probability("employee", m) for m in (-4, -1, 2, 4, 6)] == [0, 0.5, 0.5, 1, 1]


def test_the_block_is_chosen_by_the_held_out_companies_alone(bench_modules):
    """A block that leaves a held-out decile off loses to one that does not, whatever
    the sizes; among clean ones the fewest undecided wins."""
    calibrate, _ = bench_modules
    from leak_sim import Point

    rng = np.random.default_rng(2)

    def company(n: int) -> list:
        margins = rng.normal(0, 4, n)
        truth = rng.random(n) < 1 / (1 + np.exp(-margins))
        return [Point("employee", float(m), False, 0.0, bool(t), "x")
                for m, t in zip(margins, truth, strict=True)]  # fmt: skip

    by_company = {"a": company(3000), "b": company(3000), "c": company(3000)}
    block, check = calibrate.choose_block(by_company, [50, 400, 2000])
    assert set(check) == {"a", "b", "c"} and all(" 0 off" in v for v in check.values())
    verdicts = {
        b: sum(r.verdict == "undecided" for rows in calibrate.held_out(by_company, b).values()
               for r in rows)
        for b in (50, 400, 2000)
    }  # fmt: skip
    assert verdicts[block] == min(verdicts.values())


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


def test_rows_a_simulated_leak_draws_at_random_are_never_canaries(bench_modules, tmp_path):
    """A decoy reaches a list only through someone who saw it: a "random" list holding one
    is its holder's leak, and the benchmark must not count naming them as a false
    accusation (docs/attribution.md, section 5)."""
    from leak_sim import MIDDLE_SCENARIOS, Spec, build_company, middle_leak, outside_leak, unseen

    c = build_company(tmp_path, Spec("classic", 30, 2, 5))
    try:
        decoys = {c.index[r[0]] for r in c.store.con.execute("SELECT customer_id FROM canaries")
                  .fetchall()}  # fmt: skip
        assert decoys and len(c.random_pool) > 1000 and not decoys & set(c.random_pool.tolist())
        rng = np.random.default_rng(1)
        drawn = outside_leak(rng, c, "random", 1000).customers
        drawn += unseen(rng, c, sorted(c.seen)[:2], 1000)
        for scenario in ("faint-insider", "faint-source"):
            assert scenario in MIDDLE_SCENARIOS
            leak = middle_leak(rng, c, scenario)
            drawn += [] if leak is None else leak.customers
        leaked_by_staff = {i for e in c.seen for i in c.seen[e].tolist()}
        assert not (decoys - leaked_by_staff) & set(drawn)
    finally:
        c.store.close()
