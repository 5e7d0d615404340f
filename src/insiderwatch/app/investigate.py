"""Investigation use cases: an employee's timeline, who could have leaked a list (from a
file, or uploaded to the console and never written anywhere)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from insiderwatch.app.deployment import Deployment
from insiderwatch.app.keys import existing_key
from insiderwatch.contract import SuspectReport
from insiderwatch.contract.investigate import EmployeeTimeline
from insiderwatch.contract.workflow import AuditEntry
from insiderwatch.investigate.attribution import attribute as attribute_leak
from insiderwatch.investigate.attribution import attribute_reading
from insiderwatch.investigate.leak import read_leak_upload
from insiderwatch.investigate.outside_map import MappedSource, load_mapping
from insiderwatch.investigate.timeline import other_names
from insiderwatch.investigate.timeline import timeline as read_timeline
from insiderwatch.store import Store
from insiderwatch.store.ops import OpsStore, audit


def timeline(
    deployment: Deployment,
    employee_id: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = 200,
    store: Store | None = None,
) -> EmployeeTimeline:
    """``employee_id``'s accesses in time order with the cases open for them; with none,
    the ids a log identity without a mapping may be kept under."""
    with deployment.using(store, create=False, read_only=True) as s:
        entries = read_timeline(s, employee_id, since, until, limit)
        others = [] if entries else other_names(s, employee_id)
    return EmployeeTimeline(employee_id=employee_id, entries=entries, other_names=others)


def attribute(
    deployment: Deployment,
    leak_file: Path,
    *,
    found_at: datetime | None = None,
    top: int = 10,
    store: Store | None = None,
) -> SuspectReport:
    """Rank who could have leaked the list in ``leak_file``, beside the outside sources
    of the setting ``outside_sources``; only access before ``found_at`` counts."""
    with deployment.using(store, create=False, read_only=True) as s:
        return attribute_leak(
            s,
            existing_key(deployment.settings, s),
            leak_file,
            found_at=found_at,
            top=top,
            phone_region=deployment.phone_region,
            outside_sources=_outside_sources(deployment),
        )


def attribute_upload(
    deployment: Deployment,
    name: str,
    data: bytes,
    *,
    found_at: datetime | None = None,
    top: int = 10,
    store: Store | None = None,
) -> SuspectReport:
    """:func:`attribute` for a list held in memory (an upload or pasted text named
    ``name``): it is hashed with the deployment key as it is read, and its raw values
    are never stored, logged or returned."""
    with deployment.using(store, create=False, read_only=True) as s:
        reading = read_leak_upload(
            name, data, existing_key(deployment.settings, s), deployment.phone_region
        )
        return attribute_reading(
            s, reading, found_at=found_at, top=top, outside_sources=_outside_sources(deployment)
        )


def _outside_sources(deployment: Deployment) -> list[MappedSource]:
    """The partners and processors of the setting ``outside_sources``."""
    mapping = deployment.settings["outside_sources"]
    return load_mapping(Path(mapping)) if mapping else []


def audit_attribution(
    ops: OpsStore,
    *,
    actor: str,
    run_id: str,
    report: SuspectReport,
    pseudonym_of: Callable[[str], str],
) -> AuditEntry:
    """Record that ``actor`` attributed a list found outside: its counts, the verdict and
    the suspects shown (as pseudonyms: the audit log is read by auditors, who see staff
    masked like everyone), never a value of the list."""
    with ops.session() as s:
        return audit.append(
            s,
            actor=actor,
            action="leak.attribute",
            subject_kind="leak",
            subject_id=run_id,
            why="who could have leaked a list found outside",
            detail={
                "rows_read": report.rows.read,
                "customers_matched": report.customers_matched,
                "found_at": report.found_at.isoformat() if report.found_at else None,
                "verdict": report.verdict.kind if report.verdict else None,
                "suspects": [pseudonym_of(s.employee_id) for s in report.suspects],
            },
        )
