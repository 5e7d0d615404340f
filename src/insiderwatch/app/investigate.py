"""Investigation use cases: an employee's timeline, who could have leaked a list."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from insiderwatch.app.deployment import Deployment
from insiderwatch.app.keys import existing_key
from insiderwatch.contract import SuspectReport
from insiderwatch.contract.investigate import EmployeeTimeline
from insiderwatch.investigate.attribution import attribute as attribute_leak
from insiderwatch.investigate.outside_map import load_mapping
from insiderwatch.investigate.timeline import other_names
from insiderwatch.investigate.timeline import timeline as read_timeline
from insiderwatch.store import Store


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
    mapping = deployment.settings["outside_sources"]
    mapped = load_mapping(Path(mapping)) if mapping else []
    with deployment.using(store, create=False, read_only=True) as s:
        return attribute_leak(
            s,
            existing_key(deployment.settings, s),
            leak_file,
            found_at=found_at,
            top=top,
            phone_region=deployment.phone_region,
            outside_sources=mapped,
        )
