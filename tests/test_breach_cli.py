"""The breach commands end to end: on the hand-built insider and on a simulated one."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from breach_store import detected_world_copy
from breach_world import email, write_contacts
from insiderwatch.contract.breach import TAKEN_OUT_ACTIONS
from insiderwatch.detect import DetectionConfig, run_detection
from insiderwatch.ingest import ingest_dataset
from insiderwatch.report.scope import ScopeQuery, compute_scope
from insiderwatch.store import Store
from insiderwatch_sim import SimulationConfig, simulate, write_dataset
from sample_data import KEY_HEX, flat

pytestmark = pytest.mark.filterwarnings("ignore:HarfBuzz-Subset")

# The insiders of the simulated company whose scope is checked against the truth.
SCENARIOS = {"bulk_exfiltration", "canary_harvester", "departing_exporter",
             "relationship_snooping", "slow_drip", "vip_snooping"}  # fmt: skip

NOTICE_YAML = """\
company: Example Shop
sender: "Example Shop Privacy <privacy@shop.example>"
contact: {email: privacy@shop.example, phone: "+44 20 7946 0000"}
measures: [access_revoked, investigation, police]
"""


@pytest.fixture
def world_db(tmp_path: Path, built_once) -> Path:
    """The breach world detected (once per run), copied: the commands may write to it."""
    return detected_world_copy(built_once, tmp_path / "store" / "iw.duckdb")


def test_scope_notices_and_report_from_the_command_line(cli, world_db, tmp_path: Path) -> None:
    crm = write_contacts(tmp_path / "crm.csv")
    scope_dir = tmp_path / "scope"
    result = cli("breach", "scope", "--employee", "spy", "--to", "2026-09-10", "--customers",
                 crm, "--out", scope_dir, "--db", world_db)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert flat("4 customers exposed (2 with data taken out, 2 viewed only)") in flat(result.stdout)
    rows = pq.read_table(scope_dir / "scope.parquet").to_pylist()
    assert {r["customer_id"]: r["jurisdiction"] for r in rows} == {
        "c2": "DE", "c3": "US-CO", "c4": "FR", "c5": "ES"}  # fmt: skip
    summary = json.loads((scope_dir / "summary.json").read_text())
    assert summary["by_jurisdiction"]["US-CO"] == {"viewed": 0, "taken_out": 1}

    config = tmp_path / "notice.yaml"
    config.write_text(NOTICE_YAML)
    dry = cli("breach", "notices", scope_dir, "--customers", crm, "--breach-config", config,
              "--dry-run")  # fmt: skip
    assert dry.exit_code == 0, dry.stderr
    assert flat("4 notices (de 1, en 1, fr 1, es 1)") in flat(dry.stdout)
    assert "Bernd Vogel" in dry.stdout and "Elena Ruiz" not in dry.stdout  # three samples
    assert not (tmp_path / "notices").exists()
    done = cli("breach", "notices", scope_dir, "--customers", crm, "--breach-config", config,
               "--out", tmp_path / "notices")  # fmt: skip
    assert done.exit_code == 0, done.stderr
    assert len(list((tmp_path / "notices" / "eml").glob("*.eml"))) == 4

    report = cli("breach", "report", scope_dir, "--breach-config", config, "--aware-at",
                 "2026-09-07T09:00Z", "--out", tmp_path / "report")  # fmt: skip
    assert report.exit_code == 0, report.stderr
    assert "2026-09-10 09:00" in report.stdout  # GDPR: 72 hours
    assert (tmp_path / "report" / "report.pdf").read_bytes().startswith(b"%PDF")


def test_a_leak_file_proves_taken_out(cli, world_db, tmp_path: Path) -> None:
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY_HEX)
    found = tmp_path / "found.csv"
    found.write_text(f"E-Mail\n {email('c2').upper()}\n{email('c6')}\nnot an email\n")
    result = cli("breach", "scope", "--employee", "spy", "--to", "2026-09-10", "--leak", found,
                 "--out", tmp_path / "scope", "--db", world_db,
                 env={"INSIDERWATCH_SECRET_FILE": str(key_file)})  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = {
        r["customer_id"]: r for r in pq.read_table(tmp_path / "scope" / "scope.parquet").to_pylist()
    }
    assert rows["c2"]["fields_taken_out"] == ["email"] and rows["c2"]["leaked"]
    assert "c6" not in rows  # spy saw c6 only after --to
    leak = json.loads((tmp_path / "scope" / "summary.json").read_text())["leak"]
    assert (leak["customers_matched"], leak["customers_in_scope"]) == (2, 1)
    assert "c2@" not in (tmp_path / "scope" / "scope.csv").read_text().lower()


def test_errors_are_messages_not_tracebacks(cli, world_db, tmp_path: Path) -> None:
    nobody = cli("breach", "scope", "--employee", "ghost", "--db", world_db)
    assert nobody.exit_code == 1 and "not on the roster: ghost" in nobody.stderr
    alert = cli("breach", "scope", "--alert", "nope", "--db", world_db)
    assert alert.exit_code == 1 and flat("no alert 'nope'") in flat(alert.stderr)
    config = tmp_path / "notice.yaml"
    unread = cli("breach", "report", tmp_path, "--breach-config", config, "--out", tmp_path / "r")
    assert unread.exit_code == 1 and flat("notice.yaml: cannot read") in flat(unread.stderr)
    config.write_text(NOTICE_YAML)
    no_scope = cli("breach", "report", tmp_path / "none", "--breach-config", config,
                   "--out", tmp_path / "r")  # fmt: skip
    assert no_scope.exit_code == 1 and flat("no scope here") in flat(no_scope.stderr)
    bad_crm = tmp_path / "crm.csv"
    bad_crm.write_text("id,name\nc2,Bob\n")
    no_id = cli("breach", "scope", "--employee", "spy", "--customers", bad_crm, "--db", world_db)
    assert no_id.exit_code == 1
    assert flat("crm.csv:customer_id: the customer system has no customer_id column") in flat(
        no_id.stderr
    )


def test_scope_of_a_simulated_insider_matches_the_events_and_the_truth(tmp_path: Path, hash_key):
    # Small (40,000 events), but with an insider of each of these six scenarios.
    company = simulate(SimulationConfig(employees=80, days=10, seed=12, insider_rate=0.08))
    assert {i["scenario"] for i in company.truth["insiders"]} >= SCENARIOS
    data = tmp_path / "dataset"
    write_dataset(company, data, "parquet")
    with Store(tmp_path / "iw.duckdb", threads=1) as store:
        ingest_dataset(store, data, hash_key)
        run_detection(store, DetectionConfig(), hash_key)
        explained = dict(store.con.execute(
            "SELECT event_id, explanation IS NOT NULL FROM access_explained").fetchall())  # fmt: skip
        for insider in company.truth["insiders"]:
            start = dt.datetime.fromisoformat(insider["first_malicious_at"])
            end = dt.datetime.fromisoformat(insider["last_malicious_at"])
            scope = compute_scope(
                store, ScopeQuery(employees=[insider["employee_id"]], start=start, end=end)
            )
            want_all, want_out = _oracle(data, insider["employee_id"], start, end, explained)
            got = {r["customer_id"]: r for r in scope.rows.to_pylist()}
            assert {c: sorted(r["fields"]) for c, r in got.items()} == want_all
            assert {c: r["fields_taken_out"] for c, r in got.items() if r["fields_taken_out"]} == (
                want_out
            )
            # Every customer of a malicious event detection left unexplained is in scope.
            malicious = set(insider["event_ids"])
            unexplained_truth = _customers(data, malicious - {e for e, x in explained.items() if x})
            assert unexplained_truth <= set(got), insider["scenario"]


def _oracle(data: Path, employee: str, start, end, explained: dict[str, bool]):
    """The scope worked out row by row from the dataset files, without the store's SQL."""
    events = pq.read_table(data / "access.parquet")
    mask = pc.and_(pc.equal(events["employee_id"], employee),
                   pc.and_(pc.greater_equal(events["time"], start),
                           pc.less_equal(events["time"], end)))  # fmt: skip
    fields: dict[str, set] = {}
    taken: dict[str, set] = {}
    for ev in events.filter(mask).to_pylist():
        if explained.get(ev["event_id"]) or not ev["fields"]:
            continue
        out = ev["action"] in TAKEN_OUT_ACTIONS or ev["destination"] is not None
        for c in ev["customer_ids"]:
            fields.setdefault(c, set()).update(ev["fields"])
            if out:
                taken.setdefault(c, set()).update(ev["fields"])
    return ({c: sorted(f) for c, f in fields.items()}, {c: sorted(f) for c, f in taken.items()})


def _customers(data: Path, event_ids: set[str]) -> set[str]:
    events = pq.read_table(data / "access.parquet", columns=["event_id", "customer_ids", "fields"])
    keep = events.filter(pc.is_in(events["event_id"], value_set=pa_array(event_ids)))
    return {c for r in keep.to_pylist() if r["fields"] for c in r["customer_ids"]}


def pa_array(values):
    import pyarrow as pa

    return pa.array(sorted(values), pa.string())
