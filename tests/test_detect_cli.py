"""The detection commands end to end, on a small simulated company."""

from __future__ import annotations

import json

import msgspec
import pytest

from insiderwatch.contract import Alert
from insiderwatch.detect.calibrate import Calibration
from insiderwatch_sim import SimulationConfig, simulate, write_dataset, write_truth
from sample_data import KEY_HEX

# Scenarios that leave unmistakable traces within a day (a harvest then an export, a decoy).
FAST = {"bulk_exfiltration", "canary_harvester", "departing_exporter"}


@pytest.fixture(autouse=True)
def one_key(monkeypatch):
    """The tests share one store, so they share its deployment's hashing key (alert ids
    are keyed with it): the same key for every test, as a deployment has."""
    monkeypatch.setenv("INSIDERWATCH_HASH_KEY", KEY_HEX)


@pytest.fixture(scope="module")
def analyzed(tmp_path_factory):
    root = tmp_path_factory.mktemp("company")
    company = simulate(SimulationConfig(employees=240, days=12, seed=4, insider_rate=0.03))
    write_dataset(company, root / "dataset")
    write_truth(company, root / "truth.json")
    return root, json.loads((root / "truth.json").read_text())


def test_analyze_writes_contract_alerts_and_catches_the_obvious_insiders(analyzed, cli):
    root, truth = analyzed
    result = cli("analyze", root / "dataset", "--out", root / "out", "--top", "3")
    assert result.exit_code == 0, result.stderr
    assert "Accesses explained by a business reason" in result.stdout
    lines = (root / "out" / "alerts.jsonl").read_text().splitlines()
    alerts = [msgspec.json.decode(line, type=Alert) for line in lines]
    assert alerts, "no alerts at all"
    # The history, in the order it happened; each alert's revisions count up from 0.
    assert [a.detected_at for a in alerts] == sorted(a.detected_at for a in alerts)
    revisions: dict[str, list[int]] = {}
    for a in alerts:
        revisions.setdefault(a.alert_id, []).append(a.revision)
    assert all(r == list(range(len(r))) for r in revisions.values())
    flagged = {a.employee_id for a in alerts}
    obvious = {i["employee_id"] for i in truth["insiders"] if i["scenario"] in FAST}
    assert obvious, "the seed should include an obvious insider"
    assert obvious <= flagged
    for a in alerts:
        assert a.first_seen <= a.last_seen <= a.detected_at and a.reasons and a.event_ids
        assert a.summary


def test_detect_again_processes_only_the_unfinished_day(analyzed, cli):
    root, _ = analyzed
    db = root / "out" / "insiderwatch.duckdb"
    result = cli("detect", "--db", db, "--top", "1")
    assert result.exit_code == 0, result.stderr
    assert "Detection: 0 step(s)" in result.stdout or "Detection: 1 step(s)" in result.stdout
    listed = cli("alerts", "--db", db, "--json", "--limit", "2")
    assert listed.exit_code == 0
    current = json.loads(listed.stdout)
    assert len(current) == 2 and current[0]["score"] >= current[1]["score"]
    # The current state of an alert is the last line of its history.
    history = [
        json.loads(line) for line in (root / "out" / "alerts.jsonl").read_text().splitlines()
    ]
    last = {a["alert_id"]: a for a in history}
    assert all(last[a["alert_id"]]["revision"] == a["revision"] for a in current)


def test_detection_records_its_history_for_triage_and_keeps_triage(analyzed, cli):
    root, _ = analyzed
    db = root / "out" / "insiderwatch.duckdb"
    queue = json.loads(cli("alerts", "queue", "--db", db, "--json", "--limit", "1").stdout)
    assert queue and queue[0]["state"] == "new"
    alert_id = queue[0]["alert_id"]
    moved = cli("alerts", "triage", alert_id, "triaging", "--db", db, "--by", "ana")
    assert moved.exit_code == 0, moved.stderr
    rerun = cli("detect", "--db", db, "--top", "1")
    assert "Alert history recorded for triage: 0 new line(s)" in rerun.stdout
    # The file detection wrote and the store agree line for line: nothing new.
    synced = cli("alerts", "sync", "--from", root / "out" / "alerts.jsonl", "--db", db, "--json")
    report = json.loads(synced.stdout)
    assert report["recorded"] == 0 and report["duplicates"] == report["read"] > 0
    shown = json.loads(cli("alerts", "show", alert_id, "--db", db, "--json").stdout)
    assert shown["alert"]["state"] == "triaging"


def test_calibrate_shows_the_routine_and_writes_a_policy_file(analyzed, cli):
    import yaml

    root, _ = analyzed
    db = root / "out" / "insiderwatch.duckdb"
    policy = root / "routine-policy.yaml"
    result = cli("calibrate", "--db", db, "--out", policy)
    assert result.exit_code == 0, result.stderr
    assert "Routine learned as of" in result.stdout
    assert "Alerts a deployment would have opened per day" in result.stdout
    flows = yaml.safe_load(policy.read_text())["flows"]
    assert flows and all(f["max_records"] >= 1 and f["group"] for f in flows)
    for title in ("Case scope learned as of", "Kinds of look-up the allowances cover",
                  "Customer books as of", "Working hours per peer group",
                  "Returns to a customer with no case", "Where leavers may hand"):  # fmt: skip
        assert title in result.stdout
    raw = cli("calibrate", "--db", db, "--json").stdout
    shown = json.loads(raw)
    assert len(shown["flows"]) == len(flows)
    assert sum(d["alerts"] for d in shown["alerts_per_day"]) > 0
    # The JSON is the record types, learned sections included.
    typed = msgspec.json.decode(raw, type=Calibration)
    assert typed.learned.books and typed.learned.case_scope


def test_detectors_list_shows_every_detector_and_rule(cli):
    result = cli("detectors", "list", "--json")
    assert result.exit_code == 0
    ids = {d["id"] for d in json.loads(result.stdout)}
    assert {"volume", "exfiltration", "canary", "rule:night-contact-lookups"} <= ids


def test_detect_on_a_missing_store_is_a_clear_error(cli, tmp_path):
    result = cli("detect", "--db", tmp_path / "nope.duckdb")
    assert result.exit_code == 1
    assert "no store" in result.stderr


def test_a_bad_rules_config_names_the_file(cli, tmp_path):
    bad = tmp_path / "detect.toml"
    bad.write_text("[risk]\nhalf_life_days = 'soon'\n")
    result = cli("detectors", "list", "--rules-config", bad)
    assert result.exit_code == 1
    assert "detect.toml" in result.stderr
