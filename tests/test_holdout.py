"""The hold-out company generator (benchmarks/holdout): its datasets load cleanly and its
ground truth is consistent. Not a detection-quality test: the benchmark measures that."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))  # only while importing: its modules stay out of the way
try:
    from holdout import SCENARIOS, STYLES, HoldoutConfig, generate, write_dataset
finally:
    sys.path.remove(str(BENCHMARKS))


@pytest.fixture(params=sorted(STYLES))
def company(request, tmp_path):
    """A tiny company of each style, written as a dataset; (truth, dataset folder)."""
    cfg = HoldoutConfig(employees=90, days=10, seed=404, style=request.param, insiders=4)
    truth = write_dataset(generate(cfg), tmp_path / "dataset")
    return truth, tmp_path / "dataset"


def test_a_holdout_company_ingests_without_a_single_dead_letter(company, ingest, store):
    truth, root = company
    report = ingest(root)
    totals = report.totals
    assert not report.errors
    assert totals.rejected == 0 and totals.fields_dropped == 0
    assert totals.loaded == totals.rows_read
    assert store.con.execute("SELECT count(*) FROM dead_letters").fetchone()[0] == 0
    assert store.con.execute("SELECT count(*) FROM access").fetchone()[0] == truth["events"]
    # Staff, cases and customers all arrived: every table the contract requires has rows.
    for table in ("employees", "customers", "cases"):
        assert store.con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] > 0


def test_the_ground_truth_names_events_that_exist_and_a_first_moment_inside_the_data(
    company, ingest, store
):
    truth, root = company
    ingest(root)
    con = store.con
    span = con.execute("SELECT min(time), max(time) FROM access").fetchone()
    assert len(truth["insiders"]) == 4
    for insider in truth["insiders"]:
        assert insider["scenario"] in SCENARIOS
        con.execute("CREATE OR REPLACE TEMP TABLE bad AS SELECT unnest(?::VARCHAR[]) AS event_id",
                    [insider["event_ids"]])  # fmt: skip
        found, whose, first = con.execute(
            "SELECT count(*), list(DISTINCT employee_id), min(time) FROM access JOIN bad USING (event_id)"
        ).fetchone()
        assert found == len(insider["event_ids"]) > 0  # every malicious event is in the data
        assert whose == [insider["employee_id"]]  # and was done by that insider
        first_at = dt.datetime.fromisoformat(insider["first_malicious_at"])
        assert first == first_at
        assert span[0] <= first_at <= span[1]
        assert first_at.tzinfo is not None  # the scorer compares it with alert times
    json.dumps(truth)  # the truth is plain data, as the benchmark writes it


@pytest.mark.parametrize("style", sorted(STYLES))
def test_every_scenario_is_played_in_a_company_with_enough_insiders(style):
    cfg = HoldoutConfig(employees=400, days=12, seed=5, style=style, insiders=len(SCENARIOS) + 1)
    company = generate(cfg)
    played = {i.scenario for i in company.insiders}
    assert played == set(SCENARIOS)
    pair = [i.employee for i in company.insiders if i.scenario == "accomplices"]
    assert len(set(pair)) == 2  # two different people split the list


def test_a_company_is_a_function_of_its_configuration():
    cfg = HoldoutConfig(employees=60, days=7, seed=9, style="bank", insiders=2)
    a, b = generate(cfg), generate(cfg)
    assert np.array_equal(a.events.t, b.events.t) and np.array_equal(a.events.cust, b.events.cust)
    other = generate(HoldoutConfig(employees=60, days=7, seed=10, style="bank", insiders=2))
    assert len(other.events) != len(a.events) or not np.array_equal(other.events.t, a.events.t)


def test_an_unknown_style_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match="marketplace"):
        generate(HoldoutConfig(style="casino"))
