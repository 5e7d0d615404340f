"""`insiderwatch analyze` end to end on companies unlike the classic one: other role, app
and destination names, another clock, other case-linking habits."""

from __future__ import annotations

import json

import msgspec
import pytest

from insiderwatch.contract import Alert
from insiderwatch.store import Store
from insiderwatch_sim import PROFILES, SimulationConfig, simulate, write_dataset, write_truth

# Scenarios that leave unmistakable traces (a harvest then an export, a decoy touched).
BLATANT = {"bulk_exfiltration", "canary_harvester", "departing_exporter"}


@pytest.mark.parametrize("profile", ["eu-telco", "india-bpo"])
def test_analyze_completes_and_flags_the_blatant_insiders(profile, cli, tmp_path):
    company = simulate(SimulationConfig(employees=160, days=12, seed=4, insider_rate=0.04,
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
    # Investigators and analysts are called something else here: investigators' case work
    # is learned, not named, and so are analysts' routine and usual case-less look-ups.
    roles = PROFILES.get(profile).roles
    malicious = [e for i in truth["insiders"] for e in i["event_ids"]]
    with Store(tmp_path / "out" / "insiderwatch.duckdb") as store:
        learned = {
            r
            for (r,) in store.con.execute(
                "SELECT DISTINCT explanation FROM access_explained"
            ).fetchall()
        }
        shares = {
            kind: store.con.execute(
                """SELECT count(explanation), count(*), list(DISTINCT explanation)
                   FROM access_explained
                   WHERE role = ? AND explanation IS DISTINCT FROM 'login'
                     AND NOT list_contains(?, event_id)
                     AND day >= (SELECT min(day) FROM access_explained) + 7""",
                [roles[kind], malicious],
            ).fetchone()
            for kind in ("fraud_investigator", "data_analyst")
        }
    done, total, reasons = shares["fraud_investigator"]
    assert total and done / total >= 0.8, (done, total)
    assert "case_linked" in reasons
    # A handful of analysts here: their share is measured by the benchmark; what this
    # checks is that their routine is learned under a name nothing like "analyst", and
    # that some group's usual case-less look-ups are.
    assert "routine" in shares["data_analyst"][2]
    assert "allowance" in learned
