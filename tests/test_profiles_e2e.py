"""`insiderwatch analyze` end to end on companies unlike the classic one: other role, app
and destination names, another clock, other case-linking habits."""

from __future__ import annotations

import json

import msgspec
import pytest

from insiderwatch.contract import Alert
from insiderwatch_sim import SimulationConfig, simulate, write_dataset, write_truth

# Scenarios that leave unmistakable traces (a harvest then an export, a decoy touched).
BLATANT = {"bulk_exfiltration", "canary_harvester", "departing_exporter"}


@pytest.mark.parametrize("profile", ["eu-telco", "india-bpo"])
def test_analyze_completes_and_flags_the_blatant_insiders(profile, cli, tmp_path):
    company = simulate(SimulationConfig(employees=240, days=12, seed=4, insider_rate=0.04,
                                        profile=profile))  # fmt: skip
    write_dataset(company, tmp_path / "dataset")
    write_truth(company, tmp_path / "truth.json")
    truth = json.loads((tmp_path / "truth.json").read_text())
    result = cli("analyze", tmp_path / "dataset", "--out", tmp_path / "out", "--top", "3")
    assert result.exit_code == 0, result.stderr
    lines = (tmp_path / "out" / "alerts.jsonl").read_text().splitlines()
    flagged = {msgspec.json.decode(line, type=Alert).employee_id for line in lines}
    blatant = {i["employee_id"] for i in truth["insiders"] if i["scenario"] in BLATANT}
    assert blatant, "the seed should include a blatant insider"
    assert blatant <= flagged, blatant - flagged
