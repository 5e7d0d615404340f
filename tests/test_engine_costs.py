"""What a detection run no longer redoes each time, and that skipping it stays correct:
rule files are converted once per content, the engine's tables are checked in one query,
the event span comes from the segment catalogue."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from detect_scenarios import ACT_DAY, at, scenario
from insiderwatch.detect import DetectionConfig, engine, handover, run_detection
from insiderwatch.detect.base import Detector
from insiderwatch.detect.public import PUBLIC_FIGURES
from insiderwatch.detect.rules import load_rules
from insiderwatch.detect.state import ensure_tables, reset_if_outdated
from insiderwatch.errors import InsiderwatchError
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from sample_data import KEY_HEX

KEY = HashKey(bytes.fromhex(KEY_HEX))

RULE = """id: {id}
title: {title}
level: low
where:
  action: export
"""


def test_a_rule_file_is_converted_once_and_again_when_its_content_changes(tmp_path: Path):
    path = tmp_path / "mine.yml"
    path.write_text(RULE.format(id="mine", title="first"))
    first = load_rules([path])
    assert load_rules([path])[-1] is first[-1]  # the same content: the same class
    path.write_text(RULE.format(id="mine", title="other"))  # same size, new content
    changed = load_rules([path])[-1]
    assert changed is not first[-1] and changed.title == "other"
    path.unlink()
    assert "rule:mine" not in {r.id for r in load_rules([tmp_path])}


def test_a_missing_detection_table_is_created_before_a_run(tmp_path: Path):
    dataset = scenario("volume").write(tmp_path / "dataset")
    store = Store(tmp_path / "iw.duckdb", threads=1)
    ingest_dataset(store, dataset, KEY)
    reset_if_outdated(store)
    store.con.execute("DROP TABLE employee_footprint")
    run = run_detection(store, DetectionConfig(), KEY)
    assert run.findings > 0
    assert store.scalar("SELECT count(*) FROM employee_footprint") > 0
    store.close()


def test_a_run_ends_at_the_latest_event_and_keeps_its_time(tmp_path: Path):
    """The event span comes from the segment catalogue: a run covers the first to the
    latest event loaded, and a run stopped mid-day keeps that time for the next step."""
    c = scenario("volume")
    dataset = c.write(tmp_path / "dataset")
    store = Store(tmp_path / "iw.duckdb", threads=1)
    ingest_dataset(store, dataset, KEY)
    run = run_detection(store, DetectionConfig(), KEY)
    latest = max(r["time"] for r in c.access)
    assert (run.first_day, run.last_day) == (at(1, 0).date(), at(ACT_DAY, 0).date())
    assert store.meta("detect_partial") == latest.isoformat()
    assert store.meta("detect_watermark") == at(ACT_DAY, 0).date().isoformat()
    store.close()


_STATE = ("findings", "alerts", "access_explained", "employee_days", "routine_flows",
          "allowance_days", "casework_days", "revisit_days", "employee_footprint")  # fmt: skip


def _state(store: Store) -> dict[str, list]:
    return {t: store.con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in _STATE}


def test_a_run_with_nothing_new_steps_no_day_and_leaves_the_state(tmp_path: Path):
    """A live step with nothing loaded since the last one redid the partial day for
    nobody new (about a hundred statements): it is skipped, and the state stays exactly
    what the redo wrote. A new context row, or a changed configuration, still steps, and
    the context row is new once only."""
    c = scenario("volume")
    store = Store(tmp_path / "iw.duckdb", threads=1)
    ingest_dataset(store, c.write(tmp_path / "dataset"), KEY)
    assert run_detection(store, DetectionConfig(), KEY).steps > 0
    left = _state(store)
    again = run_detection(store, DetectionConfig(), KEY)
    assert (again.steps, again.rewound, again.last_day) == (0, None, at(ACT_DAY, 0).date())
    assert _state(store) == left
    # A context table changed since: the day's step runs again.
    c.employees[0] = {**c.employees[0], "surname": "Renamed"}
    ingest_dataset(store, _only(c.write(tmp_path / "context"), "employees.jsonl"), KEY)
    assert run_detection(store, DetectionConfig(), KEY).steps == 1
    # Once a run has seen it, that context batch is nothing new (batch ids are shared by
    # every table, and no event batch came after it).
    assert run_detection(store, DetectionConfig(), KEY).steps == 0
    # A changed configuration replays from the first day.
    changed = DetectionConfig(targeted_max_customers=DetectionConfig().targeted_max_customers + 1)
    replay = run_detection(store, changed, KEY)
    assert replay.rewound is not None and replay.steps > 1
    store.close()


def _only(folder: Path, name: str) -> Path:
    """``folder`` with every file but ``name`` removed."""
    for path in folder.iterdir():
        if path.name != name:
            path.unlink()
    return folder


class _NamelessReasons(Detector):
    """A plug-in detector whose rows cannot be stored: every finding lacks its reason."""

    id, version, title = "nameless_reasons", "1", "Rows without a reason"
    description = why = false_positives = investigate = "A test's broken plug-in."

    def sql(self, ctx, config) -> str:
        return """SELECT employee_id, max(time) AS time, min(time) AS first_time,
                         1.0 AS points, 'low' AS severity, FALSE AS critical, 'k' AS key,
                         NULL::VARCHAR AS reason, list(event_id) AS event_ids,
                         NULL::VARCHAR[] AS customer_ids
                  FROM step_events WHERE in_step GROUP BY ALL"""


def _temp_tables(store: Store) -> set[str]:
    return {
        r[0]
        for r in store.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE temporary"
        ).fetchall()
    }


def test_a_run_leaves_no_step_findings_on_the_connection_failed_or_not(tmp_path: Path, monkeypatch):
    store = Store(tmp_path / "iw.duckdb", threads=1)
    ingest_dataset(store, scenario("volume").write(tmp_path / "dataset"), KEY)
    assert run_detection(store, DetectionConfig(), KEY).findings > 0
    assert "step_findings" not in _temp_tables(store)
    broken = [*engine.active_detectors(DetectionConfig()), _NamelessReasons()]
    monkeypatch.setattr(engine, "active_detectors", lambda cfg: broken)
    with pytest.raises(Exception, match="NOT NULL constraint failed"):
        run_detection(store, DetectionConfig(), KEY)
    assert "step_findings" not in _temp_tables(store)
    store.close()


def test_a_detector_whose_rows_cannot_be_stored_is_named(tmp_path: Path, monkeypatch):
    store = Store(tmp_path / "iw.duckdb", threads=1)
    ingest_dataset(store, scenario("volume").write(tmp_path / "dataset"), KEY)
    broken = [*engine.active_detectors(DetectionConfig()), _NamelessReasons()]
    monkeypatch.setattr(engine, "active_detectors", lambda cfg: broken)
    with pytest.raises(InsiderwatchError, match=r"detector nameless_reasons .*NOT NULL.*reason"):
        run_detection(store, DetectionConfig(), KEY)
    assert store.scalar("SELECT count(*) FROM findings") == 0  # the run left nothing
    store.close()


def test_a_step_with_no_outbound_action_skips_what_judges_sends(tmp_path: Path, monkeypatch):
    """The own_copies company sends data out once, on the act's day: only that step runs
    the queries that judge sends (exfiltration, own_copies, the step's own copies), and
    they still find the copy; every other detector runs on every day it judges."""
    ran: list[tuple[str, object]] = []
    detect, build = engine._Steps._detect, engine.build_own_copies

    def recorded(self, det, ctx):
        ran.append((det.id, ctx.day))
        return detect(self, det, ctx)

    def built(con, params, *args):
        ran.append(("step_own_copies", params["day"]))
        build(con, params, *args)

    monkeypatch.setattr(engine._Steps, "_detect", recorded)
    monkeypatch.setattr(engine, "build_own_copies", built)
    store = Store(tmp_path / "iw.duckdb", threads=1)
    ingest_dataset(store, scenario("own_copies").write(tmp_path / "dataset"), KEY)
    run = run_detection(store, DetectionConfig(), KEY)
    act_day = at(ACT_DAY, 0).date()
    for skipped in ("exfiltration", "own_copies", "step_own_copies"):
        assert {day for det, day in ran if det == skipped} == {act_day}
    assert len({day for det, day in ran if det == "canary"}) == run.steps  # all: during learning
    assert run.per_detector.get("own_copies") == 1
    assert store.scalar("SELECT count(*) FROM own_copy_days") > 0
    store.close()


@pytest.mark.parametrize(
    ("rows", "sends"),
    [
        ([], False),
        ([(True, "export", 0), (True, "message", 0)], False),  # sent nothing
        ([(True, "view", 40), (True, "search", 500)], False),  # records, but not sent
        ([(False, "export", 40)], False),  # the lookback's send is an earlier step's
        ([(True, "export", 0), (True, "print", 1)], True),
        ([(True, "download", 3)], True),
    ],
)
def test_a_step_sends_when_an_outbound_action_of_its_own_carries_records(rows, sends):
    # Read from what the step's employee_days insert returns, one row per employee.
    con = duckdb.connect()
    ensure_tables(con)
    con.execute(f"CREATE TEMP TABLE {PUBLIC_FIGURES} (customer_id VARCHAR)")
    con.execute(
        """CREATE TEMP TABLE step_events (event_id VARCHAR, employee_id VARCHAR, time TIMESTAMPTZ,
             role VARCHAR, team VARCHAR, peer_group VARCHAR, explained BOOLEAN,
             customer_ids VARCHAR[], in_step BOOLEAN, action VARCHAR, record_count BIGINT)"""
    )
    con.execute(
        """CREATE TEMP TABLE step_touch (employee_id VARCHAR, customer_id VARCHAR,
             weight DOUBLE, breadth BIGINT, action VARCHAR, fields VARCHAR[],
             in_step BOOLEAN, explained BOOLEAN)"""
    )
    for k, row in enumerate(rows):  # each row its own employee's
        con.execute(
            "INSERT INTO step_events VALUES (?, ?, TIMESTAMPTZ '2026-03-02 10:00:00+00', "
            "'agent', 'care', 'agent:care', FALSE, ['c1'], ?, ?, ?)",
            [f"e{k}", f"emp{k}", *row],
        )
    counted = con.execute(
        engine._EMPLOYEE_DAY_SQL, {"day": dt.date(2026, 3, 2), "targeted": 2}
    ).fetchall()
    assert len(counted) == sum(in_step for in_step, _, _ in rows)
    assert engine.step_sends(counted) is sends


@pytest.mark.parametrize(("name", "explains_on"), [("volume", 0), ("departing", "every")])
def test_the_handover_runs_only_on_a_day_with_a_leaver(
    tmp_path: Path, monkeypatch, name, explains_on
):
    """No one in the volume company has a departure date: no step plans the handover's
    query. The departing insider leaves within handover_days of every day: every step
    does."""
    updates = []
    execute = handover.execute

    def recorded(con, sql, params=None):
        updates.extend(["handover"] if "SET explanation = 'handover'" in sql else [])
        return execute(con, sql, params)

    monkeypatch.setattr(handover, "execute", recorded)
    store = Store(tmp_path / "iw.duckdb", threads=1)
    ingest_dataset(store, scenario(name).write(tmp_path / "dataset"), KEY)
    run = run_detection(store, DetectionConfig(), KEY)
    assert len(updates) == (run.steps if explains_on == "every" else 0)
    store.close()
