"""benchmarks/bench_step.py: ``--plans`` times each query's planning apart, by the same
label as the query, and leaves what the query returns and its own timing as they were;
the planning timed is the one the statement ran with, part of its own time."""

from __future__ import annotations

import duckdb

from bench_modules import bench_module


def _step_timer():
    return bench_module("bench_step").StepTimer


def _use(timed) -> list:
    timed.execute("CREATE TEMP TABLE t AS SELECT range AS x FROM range(10)")
    rows = timed.execute("SELECT sum(x) FROM t WHERE x > $low", {"low": 4}).fetchall()
    timed.execute("BEGIN")  # no plan to time: not a query
    timed.execute("COMMIT")
    timed.read_plan()
    return rows


def test_plans_times_each_query_planning_under_its_label():
    timed = _step_timer()(duckdb.connect(), plans=True)
    assert _use(timed) == [(35,)]
    assert set(timed.plan_seconds) == {
        k for k in timed.calls if "begin" not in k and "commit" not in k
    }
    assert len(timed.plan_seconds) == 2 and sum(timed.calls.values()) == 4


def test_plans_time_the_plan_a_statement_runs_with_whatever_its_form():
    # DuckDB's FROM-first form after a comment: planned like any query, and its planning
    # is part of its own time, not of a second plan made apart
    timed = _step_timer()(duckdb.connect(), plans=True)
    timed.execute("CREATE TEMP TABLE t AS SELECT range AS x FROM range(10)")
    assert timed.execute("-- the total\nFROM t SELECT sum(x)").fetchall() == [(45,)]
    timed.read_plan()
    assert set(timed.plan_seconds) == set(timed.calls) and len(timed.calls) == 2
    for label, planning in timed.plan_seconds.items():
        assert 0 < planning <= timed.seconds[label]


def test_without_plans_nothing_is_planned_apart():
    timed = _step_timer()(duckdb.connect())
    assert _use(timed) == [(35,)]
    assert not timed.plan_seconds and sum(timed.calls.values()) == 4
