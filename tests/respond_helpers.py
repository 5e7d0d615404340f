"""Alert history lines and response setups shared by the response tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from insiderwatch.contract.records import Alert
from insiderwatch.detect.risk import alert_id as detection_alert_id
from insiderwatch.privacy import HashKey
from insiderwatch.respond.config import ResponseConfig, load_config
from insiderwatch.respond.store import ResponseStore
from insiderwatch.store.ops import open_ops
from sample_data import KEY_HEX

T0 = dt.datetime(2026, 9, 28, 10, 2, tzinfo=dt.UTC)
KEY = HashKey(bytes.fromhex(KEY_HEX))


def alert_id_of(employee: str) -> str:
    """Detection's id of the employee's alert opened at T0 (keyed: never the employee
    id itself, nor a hash anyone with the roster could compute)."""
    return detection_alert_id(KEY, employee, T0)


def alert(
    employee: str = "E00042",
    *,
    revision: int = 0,
    severity: str = "critical",
    score: float = 91.0,
    detectors: tuple[str, ...] = ("exfiltration",),
    minutes: float = 0,
    alert_id: str | None = None,
    summary: str | None = None,
) -> Alert:
    at = T0 + dt.timedelta(minutes=minutes)
    return Alert(
        alert_id=alert_id or alert_id_of(employee),
        revision=revision,
        employee_id=employee,
        score=score,
        severity=severity,  # type: ignore[arg-type]
        detected_at=at,
        opened_at=T0,
        first_seen=T0 - dt.timedelta(minutes=30),
        last_seen=at,
        summary=summary
        or f"{employee} exported 2,000 customer records to personal_email 09:32-10:02",
        detectors=list(detectors),
        reasons=[f"{employee}: 2,000 records exported (own usual 12, peers' ceiling 40)"],
        event_ids=["ev1", "ev2"],
        customer_ids=["C1", "C2", "C3"],
        finding_ids=["f1"],
    )


def response_store(tmp_path: Path) -> ResponseStore:
    """The response tables in a fresh operational store (SQLite, migrated to head)."""
    return ResponseStore(open_ops(f"sqlite:///{tmp_path / 'ops.sqlite'}").engine)


def config_from(tmp_path: Path, text: str) -> ResponseConfig:
    path = tmp_path / "respond.yaml"
    path.write_text(text)
    return load_config(path)
