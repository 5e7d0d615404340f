"""Reading triage back: the alert queue and everything about one alert."""

from __future__ import annotations

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from insiderwatch.contract.workflow import (
    AlertDossier,
    Assignment,
    Note,
    TriagedAlert,
)
from insiderwatch.store.ops.models import (
    AlertLine,
    AlertRow,
    AssignmentRow,
    NoteRow,
    TransitionRow,
)
from insiderwatch.store.ops.workflow import WorkflowError, transition_of, triaged


def list_alerts(
    session: Session,
    *,
    state: str | None = None,
    assignee: str | None = None,
    employee_id: str | None = None,
    limit: int = 50,
) -> list[TriagedAlert]:
    """Alerts matching every filter given, highest score first, then the oldest."""
    query = select(AlertRow).order_by(AlertRow.score.desc(), AlertRow.opened_at, AlertRow.alert_id)
    for column, value in (
        (AlertRow.state, state),
        (AlertRow.assignee, assignee),
        (AlertRow.employee_id, employee_id),
    ):
        if value is not None:
            query = query.where(column == value)
    return [triaged(row) for row in session.scalars(query.limit(limit))]


def dossier(session: Session, alert_id: str) -> AlertDossier:
    row = session.get(AlertRow, alert_id)
    if row is None:
        raise WorkflowError(f"alert {alert_id}: not in the ops store (run `alerts sync` first)")
    lines = session.execute(
        select(AlertLine.line, AlertLine.superseded_at)
        .where(AlertLine.alert_id == alert_id)
        .order_by(AlertLine.revision, AlertLine.superseded_at)
    ).all()
    moves = session.scalars(
        select(TransitionRow)
        .where(TransitionRow.subject == "alert", TransitionRow.subject_id == alert_id)
        .order_by(TransitionRow.transition_id)
    )
    assignments = session.scalars(
        select(AssignmentRow)
        .where(AssignmentRow.alert_id == alert_id)
        .order_by(AssignmentRow.assignment_id)
    )
    notes = session.scalars(
        select(NoteRow).where(NoteRow.alert_id == alert_id).order_by(NoteRow.note_id)
    )
    return AlertDossier(
        alert=triaged(row),
        revisions=[msgspec.json.decode(r.line) for r in lines if r.superseded_at is None],
        superseded=[msgspec.json.decode(r.line) for r in lines if r.superseded_at is not None],
        transitions=[transition_of(t) for t in moves],
        assignments=[
            Assignment(alert_id=alert_id, assignee=a.assignee, actor=a.actor, at=a.at, why=a.why)
            for a in assignments
        ],
        notes=[
            Note(note_id=n.note_id, alert_id=alert_id, author=n.author, at=n.at, text=n.text)
            for n in notes
        ],
    )
