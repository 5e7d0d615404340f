"""Alerts as OCSF Detection Findings (class 2004), validated against the official schema.

The schema comes compiled from the ``ocsf-json-schema`` package (which ships the OCSF
releases) and is checked with ``jsonschema``; a finding that does not validate is an
error here rather than a surprise in the customer's data lake. Customer ids go out as
affected resources of type ``customer`` (pseudonymous ids, no personal data); the
evidence event ids as related events.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

import msgspec

from insiderwatch.contract.records import Alert
from insiderwatch.errors import InsiderwatchError, Location

OCSF_VERSION = "1.8.0"
SEVERITY_IDS = {"low": 2, "medium": 3, "high": 4, "critical": 5}
_LISTED = 1000  # related events / resources listed per finding; the counts say how many


def _ms(when: dt.datetime) -> int:
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp() * 1000)


def detection_finding(alert: Alert) -> dict[str, Any]:
    """One line of the alert history as an OCSF Detection Finding: activity Create when the
    alert opened (revision 0), Update for each later change of the same finding uid."""
    reasons = "; ".join(alert.reasons)
    activity_id, activity = (1, "Create") if alert.revision == 0 else (2, "Update")
    return {
        "class_uid": 2004,
        "class_name": "Detection Finding",
        "category_uid": 2,
        "category_name": "Findings",
        "activity_id": activity_id,
        "activity_name": activity,
        "type_uid": 200400 + activity_id,
        "type_name": f"Detection Finding: {activity}",
        "severity_id": SEVERITY_IDS[alert.severity],
        "severity": alert.severity.capitalize(),
        "status_id": 1,
        "status": "New",
        "time": _ms(alert.detected_at),
        "message": alert.summary
        or reasons
        or f"Suspicious use of customer data by {alert.employee_id}",
        "risk_score": round(alert.score),
        "metadata": {
            "version": OCSF_VERSION,
            "uid": alert.alert_id,
            "product": {
                "name": "insiderwatch",
                "vendor_name": "insiderwatch",
                "version": version("insiderwatch"),
            },
        },
        "finding_info": {
            "uid": alert.alert_id,
            "title": f"Customer data misuse suspected: {alert.employee_id}",
            "desc": reasons,
            "types": list(alert.detectors),
            "analytic": {"type_id": 1, "type": "Rule", "name": ", ".join(alert.detectors)},
            "created_time": _ms(alert.opened_at),
            "modified_time": _ms(alert.detected_at),
            "first_seen_time": _ms(alert.first_seen),
            "last_seen_time": _ms(alert.last_seen),
            "related_events": [{"uid": e} for e in alert.event_ids[:_LISTED]],
            "related_events_count": len(alert.event_ids),
            "data_sources": ["insiderwatch access events"],
        },
        "evidences": [{"actor": {"user": {"uid": alert.employee_id}}}],
        "resources": [{"uid": c, "type": "customer"} for c in alert.customer_ids[:_LISTED]],
    }


@cache
def _validator():
    from jsonschema import Draft202012Validator
    from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

    schema = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=OCSF_VERSION))
    return Draft202012Validator(
        schema.get_class_schema(class_name="detection_finding", profiles=[])
    )


def schema_errors(finding: dict[str, Any]) -> list[str]:
    """Where ``finding`` breaks the OCSF schema ([] when it is valid)."""
    return [
        f"{'/'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message}"
        for e in _validator().iter_errors(finding)
    ]


def read_alerts(path: Path) -> Iterator[Alert]:
    """Alerts from an alerts.jsonl file; a bad line is an error naming its line."""
    decoder = msgspec.json.Decoder(Alert)
    with path.open("rb") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                yield decoder.decode(line)
            except msgspec.ValidationError as exc:
                raise InsiderwatchError(
                    f"not an alert: {exc}", Location(str(path), number)
                ) from None
            except msgspec.DecodeError as exc:
                raise InsiderwatchError(f"not JSON: {exc}", Location(str(path), number)) from None


def write_findings(alerts: Iterable[Alert], out: Path) -> int:
    """Write one validated finding per alert as JSON Lines; returns how many."""
    count = 0
    partial = out.with_name(out.name + ".partial")
    with partial.open("w", encoding="utf-8") as fh:
        for alert in alerts:
            finding = detection_finding(alert)
            errors = schema_errors(finding)
            if errors:
                raise InsiderwatchError(
                    f"alert {alert.alert_id} does not make a valid OCSF {OCSF_VERSION} "
                    f"Detection Finding: {'; '.join(errors[:5])}"
                )
            fh.write(json.dumps(finding, separators=(",", ":")) + "\n")
            count += 1
    partial.replace(out)
    return count
