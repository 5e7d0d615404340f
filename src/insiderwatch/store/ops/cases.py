"""Investigation cases in the operational store: what a case holds (alerts, notes,
attached evidence, workflow), its assignee, and the changes to them, each audited in the
transaction that makes it. Moving a case between states is ``workflow.move_case``."""

from __future__ import annotations

import datetime as dt

import msgspec
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from insiderwatch.contract.cases import CaseDossier, CaseEvidence, CaseNote, CaseSummary
from insiderwatch.store.ops import audit
from insiderwatch.store.ops.models import (
    AlertLine,
    AlertRow,
    CaseEvidenceRow,
    CaseNoteRow,
    CaseRow,
    TransitionRow,
    UserRow,
)
from insiderwatch.store.ops.workflow import (
    WorkflowError,
    _case,
    _now,
    case_file,
    transition_of,
    triaged,
)


def list_cases(
    session: Session, *, state: str | None = None, limit: int = 200
) -> list[CaseSummary]:
    query = select(CaseRow).order_by(CaseRow.case_id.desc()).limit(limit)
    if state:
        query = query.where(CaseRow.state == state)
    out = []
    for row in session.scalars(query):
        top = session.scalar(
            select(func.max(AlertRow.score)).where(AlertRow.case_id == row.case_id)
        )
        employees = session.scalars(
            select(AlertRow.employee_id).where(AlertRow.case_id == row.case_id).distinct()
        ).all()
        out.append(
            CaseSummary(
                case=case_file(session, row),
                assignee=row.assignee,
                top_score=top,
                employees=sorted(employees),
            )
        )
    return out


def dossier(session: Session, case_id: int) -> CaseDossier:
    row = session.get(CaseRow, case_id)
    if row is None:
        raise WorkflowError(f"case {case_id}: no such case")
    alerts = session.scalars(
        select(AlertRow).where(AlertRow.case_id == case_id).order_by(AlertRow.score.desc())
    )
    notes = session.scalars(
        select(CaseNoteRow).where(CaseNoteRow.case_id == case_id).order_by(CaseNoteRow.note_id)
    )
    evidence = session.scalars(
        select(CaseEvidenceRow)
        .where(CaseEvidenceRow.case_id == case_id)
        .order_by(CaseEvidenceRow.added_at, CaseEvidenceRow.event_id)
    )
    moves = list(
        session.scalars(
            select(TransitionRow)
            .where(TransitionRow.subject == "case", TransitionRow.subject_id == str(case_id))
            .order_by(TransitionRow.transition_id)
        )
    )
    dismissed = [t for t in moves if t.to_state == "dismissed"]
    return CaseDossier(
        case=case_file(session, row),
        assignee=row.assignee,
        dismiss_reason=dismissed[-1].close_reason
        if dismissed and row.state == "dismissed"
        else None,  # type: ignore[arg-type]
        alerts=[triaged(a) for a in alerts],
        notes=[
            CaseNote(note_id=n.note_id, case_id=case_id, author=n.author, at=n.at, text=n.text)
            for n in notes
        ],
        evidence=[
            CaseEvidence(
                case_id=case_id,
                event_id=e.event_id,
                alert_id=e.alert_id,
                added_by=e.added_by,
                added_at=e.added_at,
                why=e.why,
            )  # fmt: skip
            for e in evidence
        ],
        transitions=[transition_of(t) for t in moves],
    )


def assign_case(
    session: Session, case_id: int, assignee: str | None, *, actor: str, why: str = "",
    at: dt.datetime | None = None,
) -> None:  # fmt: skip
    row = _case(session, case_id)
    if assignee is not None:
        user = session.scalars(select(UserRow).where(UserRow.name == assignee)).first()
        if user is None or user.disabled_at is not None:
            raise WorkflowError(f"case {case_id}: no active user named {assignee!r}")
    row.assignee = assignee
    audit.append(session, actor=actor, action="case.assign", subject_kind="case",
                 subject_id=str(case_id), why=why, detail={"assignee": assignee}, at=_now(at))  # fmt: skip


def add_case_note(
    session: Session, case_id: int, text: str, *, author: str, at: dt.datetime | None = None
) -> CaseNote:
    """The audit entry names the note, not its text (notes may hold personal data)."""
    _case(session, case_id)
    if not text.strip():
        raise WorkflowError(f"case {case_id}: an empty note")
    row = CaseNoteRow(case_id=case_id, author=author, at=_now(at), text=text)
    session.add(row)
    session.flush()
    audit.append(session, actor=author, action="case.note", subject_kind="case",
                 subject_id=str(case_id), detail={"note_id": row.note_id}, at=row.at)  # fmt: skip
    return CaseNote(note_id=row.note_id, case_id=case_id, author=author, at=row.at, text=text)


def attach_evidence(
    session: Session, case_id: int, alert_id: str, event_ids: list[str], *, actor: str,
    why: str = "", at: dt.datetime | None = None,
) -> list[str]:  # fmt: skip
    """Attach events to the case. Each must be evidence of one of the case's alerts (its
    current line cites it); the ones attached before are left as they are. Returns the
    event ids newly attached."""
    case = _case(session, case_id)
    if case.state == "closed":
        raise WorkflowError(f"case {case_id}: closed; nothing more is attached")
    alert = session.get(AlertRow, alert_id)
    if alert is None or alert.case_id != case_id:
        raise WorkflowError(f"case {case_id}: alert {alert_id} is not one of its alerts")
    cited: set[str] = set()
    for (line,) in session.execute(
        select(AlertLine.line).where(
            AlertLine.alert_id == alert_id, AlertLine.superseded_at.is_(None)
        )
    ):
        cited.update(msgspec.json.decode(line).get("event_ids", []))
    unknown = [e for e in event_ids if e not in cited]
    if unknown:
        raise WorkflowError(
            f"case {case_id}: {', '.join(unknown[:5])} not in the evidence of alert {alert_id}"
        )
    have = set(
        session.scalars(select(CaseEvidenceRow.event_id).where(CaseEvidenceRow.case_id == case_id))
    )
    when = _now(at)
    new = [e for e in dict.fromkeys(event_ids) if e not in have]
    for event_id in new:
        session.add(CaseEvidenceRow(case_id=case_id, event_id=event_id, alert_id=alert_id,
                                    added_by=actor, added_at=when, why=why))  # fmt: skip
    if new:
        audit.append(session, actor=actor, action="case.evidence", subject_kind="case",
                     subject_id=str(case_id), why=why,
                     detail={"alert_id": alert_id, "event_ids": new}, at=when)  # fmt: skip
    return new
