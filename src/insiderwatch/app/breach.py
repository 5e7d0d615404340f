"""The breach scope of a case, for the console: what the case's employees exposed, read
again from the events (``report/scope.py``, the same scan as ``insiderwatch breach
scope``), with staff as pseudonyms. Every view and every download is audited before the
scope is read. Contact details never pass here: notices are drafted from the downloaded
scope folder by ``insiderwatch breach notices``, which joins the customer system in
memory at that moment."""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import msgspec

from insiderwatch.contract.breach import ScopeSummary
from insiderwatch.contract.cases import CaseDossier
from insiderwatch.errors import InsiderwatchError
from insiderwatch.report.scope import Scope, ScopeQuery, compute_scope, query_for_alert
from insiderwatch.report.scope_files import summarise, write_scope
from insiderwatch.store.duckdb_store import Store
from insiderwatch.store.ops import OpsStore, audit
from insiderwatch.store.ops import cases as repo


def case_breach_scope(
    ops: OpsStore, store: Store, case_id: int, *, actor: str, pseudonym_of: Callable[[str], str]
) -> ScopeSummary:
    """The scope summary of the case's alerts, employees as pseudonyms (audited
    ``breach.scope``)."""
    _, summary = _scope(ops, store, case_id, actor, "breach.scope", pseudonym_of)
    return summary


def case_breach_files(
    ops: OpsStore, store: Store, case_id: int, *, actor: str, pseudonym_of: Callable[[str], str]
) -> bytes:
    """A zip of the scope folder (scope.parquet, scope.csv, summary.json) that
    ``insiderwatch breach notices`` and ``breach report`` read; employees in it are
    pseudonyms (audited ``breach.download``)."""
    scope, summary = _scope(ops, store, case_id, actor, "breach.download", pseudonym_of)
    buffer = io.BytesIO()
    # The files exist only while they are zipped: the same writer as the CLI's.
    with (
        tempfile.TemporaryDirectory(prefix="iw-scope-") as folder,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        for path in write_scope(scope, summary, Path(folder)):
            archive.write(path, f"case-{case_id}-scope/{path.name}")
    return buffer.getvalue()


def _scope(
    ops: OpsStore,
    store: Store,
    case_id: int,
    actor: str,
    action: str,
    pseudonym_of: Callable[[str], str],
) -> tuple[Scope, ScopeSummary]:
    # No record, no scope: the audit entry commits before the events are read.
    with ops.session() as s:
        dossier = repo.dossier(s, case_id)
        for employee in _employees(dossier):
            audit.append(s, actor=actor, action=action, subject_kind="employee",
                         subject_id=employee, detail={"case_id": case_id})  # fmt: skip
    scope = compute_scope(store, case_query(store, dossier))
    summary = summarise(scope)
    shown = msgspec.structs.replace(summary, employees=[pseudonym_of(e) for e in summary.employees])
    return scope, shown


def case_query(store: Store, dossier: CaseDossier) -> ScopeQuery:
    """Every employee of the case's alerts, from the earliest alert's first evidence on
    (the window stays open: an insider does not stop when an alert is raised)."""
    if not dossier.alerts:
        raise InsiderwatchError(f"case {dossier.case.case_id} has no alerts to scope")
    queries = [query_for_alert(store, a.alert_id) for a in dossier.alerts]
    starts = [q.start for q in queries if q.start is not None]
    return ScopeQuery(
        employees=sorted({e for q in queries for e in q.employees}),
        start=min(starts) if starts else None,
        alert_id=dossier.alerts[0].alert_id,
    )


def _employees(dossier: CaseDossier) -> list[str]:
    return sorted({a.employee_id for a in dossier.alerts})
