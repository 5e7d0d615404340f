"""Who an alert is about, read from a real analytics store: the role from the roster, a
service account from learned routine's machines, routine from the evidence's flows."""

from __future__ import annotations

import msgspec

from insiderwatch.app.contain import StoreSubjects
from insiderwatch.detect.state import ensure_tables
from respond_helpers import alert
from sample_data import EVENTS_ONLY, write_sample

ROUTINE = """
INSERT INTO routine_flows (day, grp, machine, app, action, destination, max_records, hours,
                           fields, evidence)
VALUES ($day, $grp, $machine, $app, $action, $destination, 100, [9, 10], [], 'test')
"""


def _flow(store, grp: str, machine: bool, action: str, destination: str = "", day="2026-03-02"):
    store.con.execute(
        ROUTINE,
        {
            "day": day,
            "grp": grp,
            "machine": machine,
            "app": "",
            "action": action,
            "destination": destination,
        },
    )


def test_subjects_from_the_store(tmp_path, store, ingest) -> None:
    ingest(write_sample(tmp_path / "ds", only=EVENTS_ONLY))
    subjects = StoreSubjects(store)
    before = subjects(msgspec.structs.replace(alert("e1"), event_ids=["a3"]))
    assert (before.role, before.service_account, before.routine) == ("cs_agent", False, False)
    ensure_tables(store.con)
    _flow(store, "cs_agent:blue", False, "export", "external:partner.example")
    _flow(store, "self:e2", True, "view")
    _flow(store, "self:e3", True, "view", day="2026-02-01")  # an older step: not in force
    e1 = subjects(msgspec.structs.replace(alert("e1"), event_ids=["a3"]))
    assert (e1.role, e1.service_account, e1.routine) == ("cs_agent", False, True)
    other_evidence = subjects(msgspec.structs.replace(alert("e1"), event_ids=["a2"]))
    assert other_evidence.routine is False  # a search in crm is no routine flow here
    e2 = subjects(msgspec.structs.replace(alert("e2"), event_ids=["a5"]))
    assert (e2.role, e2.service_account) == ("seller_support", True)
    e3 = subjects(alert("e3"))
    assert (e3.role, e3.service_account, e3.routine) == ("fraud_investigator", False, False)
    assert subjects(alert("nobody")).role == ""
