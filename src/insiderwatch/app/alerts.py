"""Alerts in the operational store: recording detection's history, and triage."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec
from sqlalchemy import select

from insiderwatch.alerts import read_alert_history
from insiderwatch.app.deployment import Deployment
from insiderwatch.contract import Alert
from insiderwatch.contract.workflow import (
    AlertDossier,
    Assignment,
    Note,
    SyncRejected,
    SyncReport,
    TriagedAlert,
)
from insiderwatch.errors import UnreadableFileError
from insiderwatch.store import Store
from insiderwatch.store.ops import OpsStore, audit, reads, workflow
from insiderwatch.store.ops.history import HistoryLine, record_history
from insiderwatch.store.ops.models import AlertRow

KEPT_LINE_CHARS = 65_536  # of a bad line kept beside its reason


def _parse_file(path: Path) -> tuple[list[HistoryLine], list[tuple[SyncRejected, str]]]:
    decoder = msgspec.json.Decoder(Alert)
    good: list[HistoryLine] = []
    bad: list[tuple[SyncRejected, str]] = []
    for number, raw in _lines(path):
        where = f"{path}:{number}"
        if not raw.strip():
            continue
        try:
            good.append(HistoryLine(decoder.decode(raw), where))
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            text = raw.decode("utf-8", "replace")[:KEPT_LINE_CHARS]
            bad.append((SyncRejected(where=where, reason=str(exc)), text))
    return good, bad


def _lines(path: Path) -> Iterator[tuple[int, bytes]]:
    try:
        with path.open("rb") as fh:
            yield from enumerate(fh, start=1)
    except OSError as exc:
        raise UnreadableFileError(f"{path}: {exc.strerror or exc}") from None


def _sync(
    ops: OpsStore,
    lines: list[HistoryLine],
    bad: list[tuple[SyncRejected, str]],
    source: str,
    actor: str,
) -> SyncReport:
    with ops.session() as s:
        report = record_history(s, lines, source=source, bad=bad)
        audit.append(
            s,
            actor=actor,
            action="alerts.sync",
            subject_kind="alert_history",
            subject_id=source,
            detail={
                "read": report.read,
                "recorded": report.recorded,
                "duplicates": report.duplicates,
                "rejected": len(report.rejected),
            },
        )
    return report


def record_published(ops: OpsStore, alerts: list[Alert], *, source: str, actor: str) -> SyncReport:
    """Record alert-history lines the service publishes (it holds the ops store open and
    retries until they are taken)."""
    lines = [HistoryLine(a, f"{a.alert_id}:{a.revision}") for a in alerts]
    return _sync(ops, lines, [], source, actor)


def alert_states(ops: OpsStore, alert_ids: list[str]) -> dict[str, str]:
    """Where the triage of each of these alerts stands (those the store has)."""
    with ops.session() as s:
        rows = s.execute(
            select(AlertRow.alert_id, AlertRow.state).where(AlertRow.alert_id.in_(alert_ids))
        )
        return {alert_id: state for alert_id, state in rows}


def sync_file(ops: OpsStore, path: Path, *, actor: str) -> SyncReport:
    """Record an alerts.jsonl file: bad lines are kept with file:line and the reason,
    the rest are recorded."""
    lines, bad = _parse_file(path)
    return _sync(ops, lines, bad, str(path.resolve()), actor)


def sync_deployment(deployment: Deployment, ops: OpsStore, *, actor: str) -> SyncReport:
    """Record the alert history of the deployment's analytics store."""
    with deployment.using(None, create=False, read_only=True) as store:
        return sync_store(ops, store, actor=actor)


def sync_store(ops: OpsStore, store: Store, *, actor: str) -> SyncReport:
    """Record the alert history the analytics store holds (what detection wrote)."""
    lines = [HistoryLine(a, f"{a.alert_id}:{a.revision}") for a in read_alert_history(store)]
    return _sync(ops, lines, [], f"store {store.path}", actor)


def record_detection(deployment: Deployment, store: Store) -> SyncReport:
    """What every detection run does after it: the history into the deployment's
    operational store, where triage happens."""
    with deployment.open_ops() as ops:
        return sync_store(ops, store, actor="detection")


def record_lines(deployment: Deployment, lines: list[Alert]) -> SyncReport:
    """A live step's new or rewritten history lines into the operational store."""
    with deployment.open_ops() as ops:
        return _sync(
            ops,
            [HistoryLine(a, f"{a.alert_id}:{a.revision}") for a in lines],
            [],
            "detection",
            "detection",
        )


def triage(
    ops: OpsStore,
    alert_id: str,
    to_state: str,
    *,
    actor: str,
    why: str = "",
    close_reason: str | None = None,
    case_id: int | None = None,
    new_case: str | None = None,
) -> TriagedAlert:
    """Move an alert; escalating can open the case (``new_case`` = its title) in the
    same transaction."""
    with ops.session() as s:
        return workflow.move_alert(
            s,
            alert_id,
            to_state,
            actor=actor,
            why=why,
            close_reason=close_reason,
            case_id=case_id,
            new_case=new_case,
        )


def assign(
    ops: OpsStore, alert_id: str, assignee: str | None, *, actor: str, why: str = ""
) -> Assignment:
    with ops.session() as s:
        return workflow.assign(s, alert_id, assignee, actor=actor, why=why)


def add_note(ops: OpsStore, alert_id: str, text: str, *, author: str) -> Note:
    with ops.session() as s:
        return workflow.add_note(s, alert_id, text, author=author)


def show(ops: OpsStore, alert_id: str, *, actor: str, why: str = "") -> AlertDossier:
    """Everything about one alert. Reading it is audited: it is about an employee."""
    with ops.session() as s:
        found = reads.dossier(s, alert_id)
        audit.append(
            s,
            actor=actor,
            action="alert.read",
            subject_kind="employee",
            subject_id=found.alert.employee_id,
            why=why,
            detail={"alert_id": alert_id},
        )
    return found


def queue(
    ops: OpsStore,
    *,
    state: str | None = None,
    assignee: str | None = None,
    limit: int = 50,
) -> list[TriagedAlert]:
    with ops.session() as s:
        return reads.list_alerts(s, state=state, assignee=assignee, limit=limit)
