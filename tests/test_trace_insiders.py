"""benchmarks/trace_insiders.py: a kept benchmark company's insiders read back from its
store, their malicious accesses per explanation and their findings per detector."""

from __future__ import annotations

import json

import duckdb
import pytest

from bench_modules import bench_module


@pytest.fixture(scope="module")
def trace_insiders():
    return bench_module("trace_insiders")


@pytest.fixture
def kept(tmp_path, trace_insiders):
    """A kept company: two insiders, one whose accesses a book and nothing explained and
    who has no finding, one with two findings of one detector; a benign event beside."""
    con = duckdb.connect(str(tmp_path / trace_insiders.STORE))
    con.execute("""CREATE TABLE access (event_id VARCHAR, employee_id VARCHAR,
                   time TIMESTAMPTZ, action VARCHAR, app VARCHAR, fields VARCHAR[],
                   customer_ids VARCHAR[], case_id VARCHAR)""")
    con.execute("CREATE TABLE access_explained (event_id VARCHAR, explanation VARCHAR)")
    con.execute("""CREATE TABLE findings (employee_id VARCHAR, detector VARCHAR,
                   points DOUBLE, time TIMESTAMPTZ, reason VARCHAR)""")
    for n, emp in enumerate(["E1", "E1", "E1", "E2", "E3"]):
        con.execute(
            "INSERT INTO access VALUES (?, ?, TIMESTAMPTZ '2026-01-05 10:00:00+00' "
            "+ ? * INTERVAL 1 MINUTE, 'view', 'crm', ['name'], ['C9'], NULL)",
            [f"ev{n}", emp, n],
        )
    con.execute("INSERT INTO access_explained VALUES ('ev0', 'book:relationship'), "
                "('ev1', NULL), ('ev3', 'allowance'), ('ev4', 'book:relationship')")  # fmt: skip
    con.execute("INSERT INTO findings VALUES "
                "('E2', 'fixation', 12.5, TIMESTAMPTZ '2026-01-05 10:03:00+00', 'came back'), "
                "('E2', 'fixation', 7.5, TIMESTAMPTZ '2026-01-06 10:03:00+00', 'again'), "
                "('E3', 'vip', 15, TIMESTAMPTZ '2026-01-05 10:04:00+00', 'benign')")  # fmt: skip
    con.close()
    truth = {"insiders": [
        {"employee_id": "E1", "scenario": "ex_partner", "event_ids": ["ev0", "ev1", "ev2"]},
        {"employee_id": "E2", "scenario": "drip", "event_ids": ["ev3"]},
    ]}  # fmt: skip
    (tmp_path / trace_insiders.TRUTH).write_text(json.dumps(truth))
    return tmp_path


def test_each_insider_counts_their_accesses_by_explanation_and_sums_findings(trace_insiders, kept):
    one, two = trace_insiders.trace(kept, set(), events=False)
    assert one["employee_id"] == "E1"
    # an access with no explanation, stored as NULL or not stored at all, is '-'
    assert one["explained"] == {"-": 2, "book:relationship": 1}
    assert one["findings"] == {}
    assert two["explained"] == {"allowance": 1}
    assert two["findings"] == {"fixation": (2, 20.0)}  # the benign E3's finding is not theirs


def test_a_scenario_filter_keeps_only_those_insiders_and_events_lists_each_access(
    trace_insiders, kept
):
    (only,) = trace_insiders.trace(kept, {"drip"}, events=True)
    assert only["employee_id"] == "E2"
    assert [row[-1] for row in only["events"]] == ["allowance"]
    assert [row[1] for row in only["reasons"]] == ["fixation", "fixation"]
