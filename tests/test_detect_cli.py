"""The detection commands end to end, on a small simulated company."""

from __future__ import annotations

import json

import msgspec
import pytest

from insiderwatch.contract import Alert
from insiderwatch_sim import SimulationConfig, simulate, write_dataset, write_truth

# Scenarios that leave unmistakable traces within a day (a harvest then an export, a decoy).
FAST = {"bulk_exfiltration", "canary_harvester", "departing_exporter"}


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
    assert [a.score for a in alerts] == sorted((a.score for a in alerts), reverse=True)
    flagged = {a.employee_id for a in alerts}
    obvious = {i["employee_id"] for i in truth["insiders"] if i["scenario"] in FAST}
    assert obvious, "the seed should include an obvious insider"
    assert obvious <= flagged
    for a in alerts:
        assert a.first_seen <= a.detected_at and a.reasons and a.event_ids


def test_detect_again_processes_only_the_unfinished_day(analyzed, cli):
    root, _ = analyzed
    db = root / "out" / "insiderwatch.duckdb"
    result = cli("detect", "--db", db, "--top", "1")
    assert result.exit_code == 0, result.stderr
    assert "Detection: 0 step(s)" in result.stdout or "Detection: 1 step(s)" in result.stdout
    listed = cli("alerts", "--db", db, "--json", "--limit", "2")
    assert listed.exit_code == 0
    assert len(json.loads(listed.stdout)) == 2


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
