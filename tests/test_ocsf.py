"""OCSF output: every alert becomes a Detection Finding that validates against the
official OCSF schema (shipped compiled by ocsf-json-schema)."""

from __future__ import annotations

import datetime as dt
import json
import re

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insiderwatch.contract.records import SEVERITIES, Alert
from insiderwatch.errors import InsiderwatchError
from insiderwatch.export.ocsf import (
    SEVERITY_IDS,
    detection_finding,
    read_alerts,
    schema_errors,
    write_findings,
)
from insiderwatch.privacy import HashKey
from insiderwatch.privacy.pseudonyms import pseudonym
from sample_data import KEY_HEX

T0 = dt.datetime(2026, 9, 1, 9, 0, tzinfo=dt.UTC)


def _alert(**changes) -> Alert:
    values = dict(
        alert_id="a-1",
        revision=0,
        employee_id="E1",
        score=87.5,
        severity="high",
        detected_at=T0 + dt.timedelta(hours=2),
        opened_at=T0 + dt.timedelta(hours=1),
        first_seen=T0,
        last_seen=T0 + dt.timedelta(hours=1),
        detectors=["bulk_export", "no_case"],
        reasons=["Exported 5,000 customers to a personal email", "No open case"],
        event_ids=["ev-1", "ev-2"],
        customer_ids=["c-1", "c-2", "c-3"],
        summary="",
        finding_ids=["f-1"],
    )
    values.update(changes)
    return Alert(**values)


def test_finding_carries_the_alert_and_validates():
    finding = detection_finding(_alert())
    assert schema_errors(finding) == []
    assert (finding["class_uid"], finding["type_uid"]) == (2004, 200401)
    assert finding["severity_id"] == SEVERITY_IDS["high"]
    assert finding["time"] == int((T0 + dt.timedelta(hours=2)).timestamp() * 1000)
    assert finding["finding_info"]["related_events_count"] == 2
    assert [r["uid"] for r in finding["resources"]] == ["c-1", "c-2", "c-3"]
    assert finding["evidences"][0]["actor"]["user"]["uid"] == "E1"


def test_a_later_line_of_the_history_is_an_update_of_the_same_finding():
    opened, changed = _alert(), _alert(revision=3, summary="looked up 40 customers ...")
    first, later = detection_finding(opened), detection_finding(changed)
    assert (first["activity_id"], later["activity_id"]) == (1, 2)
    assert (first["type_uid"], later["type_uid"]) == (200401, 200402)
    assert later["finding_info"]["uid"] == first["finding_info"]["uid"]
    assert later["finding_info"]["created_time"] == int(
        (T0 + dt.timedelta(hours=1)).timestamp() * 1000
    )
    assert later["message"] == "looked up 40 customers ..."
    assert schema_errors(later) == []


@pytest.mark.parametrize(
    ("breakage", "where"),
    [
        (lambda f: f.pop("finding_info"), "finding_info"),
        (lambda f: f.update(severity_id=42), "severity_id"),
        (lambda f: f["metadata"].pop("product"), "product"),
        (lambda f: f.update(unknown_field=1), "unknown_field"),
    ],
)
def test_the_validator_catches_broken_findings(breakage, where):
    finding = detection_finding(_alert())
    breakage(finding)
    errors = schema_errors(finding)
    assert errors and any(where in e for e in errors)


@settings(max_examples=40, deadline=None)
@given(
    severity=st.sampled_from(SEVERITIES),
    score=st.floats(min_value=0, max_value=100),
    ids=st.lists(st.text(min_size=1, max_size=20), max_size=5),
    reasons=st.lists(st.text(max_size=50), max_size=3),
)
def test_any_alert_makes_a_valid_finding(severity, score, ids, reasons):
    alert = _alert(severity=severity, score=score, customer_ids=ids, event_ids=ids, reasons=reasons)
    assert schema_errors(detection_finding(alert)) == []


def test_alerts_file_round_trip_and_cli(tmp_path, cli):
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_bytes(b"\n".join(msgspec.json.encode(_alert(alert_id=f"a-{i}")) for i in range(3)))
    out = tmp_path / "findings.jsonl"
    key = {"INSIDERWATCH_HASH_KEY": KEY_HEX}
    result = cli("export", "ocsf", alerts, "--out", out, env=key)
    assert result.exit_code == 0, result.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [f["finding_info"]["uid"] for f in lines] == ["a-0", "a-1", "a-2"]
    assert all(schema_errors(f) == [] for f in lines)
    assert write_findings(read_alerts(alerts), tmp_path / "again.jsonl") == 3
    # Staff leave as their pseudonym, named only when asked.
    shown = pseudonym(HashKey(bytes.fromhex(KEY_HEX)), "E1")
    assert not re.search(r"\bE1\b", out.read_text()) and shown in out.read_text()
    named = cli("export", "ocsf", alerts, "--out", out, "--reveal-staff", env=key)
    assert named.exit_code == 0 and shown not in out.read_text()
    assert re.search(r"\bE1\b", out.read_text())


def test_the_export_needs_the_deployment_key_to_pseudonymise(tmp_path, cli):
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_bytes(msgspec.json.encode(_alert()))
    result = cli("export", "ocsf", alerts, "--out", tmp_path / "f.jsonl")
    assert result.exit_code == 1 and "no hashing key" in result.stderr
    assert not (tmp_path / "f.jsonl").exists()


def test_a_bad_alert_line_is_named(tmp_path):
    alerts = tmp_path / "alerts.jsonl"
    alerts.write_text(msgspec.json.encode(_alert()).decode() + '\n{"alert_id": "x"}\n')
    with pytest.raises(InsiderwatchError, match=r"alerts.jsonl:2"):
        list(read_alerts(alerts))
