"""Triage: moving alerts and cases through their states, assignments and notes.

Every change is checked against the moves in ``contract/workflow.py`` inside the
transaction that makes it, recorded as a transition (who, when, from, to, why) and
appended to the audit log in the same transaction. A refused move raises
``WorkflowError`` naming the alert, where it stands and where it could go.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from insiderwatch.contract.workflow import (
    ALERT_MOVES,
    CASE_MOVES,
    CLOSE_REASONS,
    DISMISS_REASONS,
    Assignment,
    CaseFile,
    Note,
    Transition,
    TriagedAlert,
)
from insiderwatch.errors import InsiderwatchError
from insiderwatch.store.ops import audit
from insiderwatch.store.ops.db import locked_row
from insiderwatch.store.ops.models import (
    AlertRow,
    AssignmentRow,
    CaseRow,
    NoteRow,
    TransitionRow,
    UserRow,
)


class WorkflowError(InsiderwatchError):
    """A triage or case change that the workflow does not allow, or that names
    something that does not exist."""


def _now(at: dt.datetime | None) -> dt.datetime:
    return at or dt.datetime.now(dt.UTC)


def _alert(session: Session, alert_id: str) -> AlertRow:
    row = locked_row(session, AlertRow.alert_id, alert_id)
    if row is None:
        raise WorkflowError(f"alert {alert_id}: not in the ops store (run `alerts sync` first)")
    return row


def _case(session: Session, case_id: int) -> CaseRow:
    row = locked_row(session, CaseRow.case_id, case_id)
    if row is None:
        raise WorkflowError(f"case {case_id}: no such case")
    return row


def _check_move(what: str, moves: dict[str, tuple[str, ...]], current: str, target: str) -> None:
    if target not in moves:
        raise WorkflowError(f"{what}: unknown state {target!r} (states: {', '.join(moves)})")
    allowed = moves[current]
    if target not in allowed:
        options = ", ".join(allowed) or "nowhere (final)"
        raise WorkflowError(
            f"{what}: cannot go from {current} to {target}; from {current}: {options}"
        )


def _close_reason(what: str, target: str, reason: str | None, why: str) -> str | None:
    if target != "closed":
        if reason is not None:
            raise WorkflowError(f"{what}: a close reason is given only when closing")
        return None
    if reason not in CLOSE_REASONS:
        raise WorkflowError(
            f"{what}: closing needs a reason, one of {', '.join(CLOSE_REASONS)} (got {reason!r})"
        )
    if reason == "other" and not why.strip():
        raise WorkflowError(f"{what}: close reason 'other' needs an explanation (why)")
    return reason


def move_alert(
    session: Session,
    alert_id: str,
    to_state: str,
    *,
    actor: str,
    why: str = "",
    close_reason: str | None = None,
    case_id: int | None = None,
    new_case: str | None = None,
    at: dt.datetime | None = None,
) -> TriagedAlert:
    """Move an alert to ``to_state``: ``closed`` needs a close reason, ``escalated`` a
    case that is still open (``case_id``) or the title of a new one (``new_case``)."""
    what = f"alert {alert_id}"
    row = _alert(session, alert_id)
    _check_move(what, ALERT_MOVES, row.state, to_state)
    reason = _close_reason(what, to_state, close_reason, why)
    if new_case is not None:
        if case_id is not None or to_state != "escalated":
            raise WorkflowError(
                f"{what}: a new case is opened only when escalating, without a case id"
            )
        case_id = open_case(session, new_case, actor=actor, why=why, at=at).case_id
    if to_state == "escalated":
        if case_id is None:
            raise WorkflowError(f"{what}: escalating needs a case (give a case id or a new title)")
        if _case(session, case_id).state == "closed":
            raise WorkflowError(f"{what}: case {case_id} is closed")
        row.case_id = case_id
    elif case_id is not None:
        raise WorkflowError(f"{what}: a case is given only when escalating")
    when = _now(at)
    transition = Transition(
        subject="alert",
        subject_id=alert_id,
        from_state=row.state,
        to_state=to_state,
        actor=actor,
        at=when,
        why=why,
        close_reason=reason,  # type: ignore[arg-type]
        case_id=row.case_id if to_state == "escalated" else None,
    )
    row.state, row.state_since, row.close_reason = to_state, when, reason
    _record(session, transition)
    return triaged(row)


def _record(session: Session, t: Transition) -> None:
    session.add(
        TransitionRow(
            subject=t.subject,
            subject_id=t.subject_id,
            from_state=t.from_state,
            to_state=t.to_state,
            actor=t.actor,
            at=t.at,
            why=t.why,
            close_reason=t.close_reason,
            case_id=t.case_id,
        )
    )
    detail = {"from": t.from_state, "to": t.to_state}
    if t.close_reason:
        detail["close_reason"] = t.close_reason
    if t.case_id is not None:
        detail["case_id"] = t.case_id
    audit.append(
        session,
        actor=t.actor,
        action=f"{t.subject}.{t.to_state}",
        subject_kind=t.subject,
        subject_id=t.subject_id,
        why=t.why,
        detail=detail,
        at=t.at,
    )


def assign(
    session: Session,
    alert_id: str,
    assignee: str | None,
    *,
    actor: str,
    why: str = "",
    at: dt.datetime | None = None,
) -> Assignment:
    """Give the alert to a user (``None`` takes it back); the user must exist and be active."""
    row = _alert(session, alert_id)
    if assignee is not None:
        user = session.scalars(select(UserRow).where(UserRow.name == assignee)).first()
        if user is None or user.disabled_at is not None:
            raise WorkflowError(f"alert {alert_id}: no active user named {assignee!r}")
    when = _now(at)
    row.assignee = assignee
    session.add(AssignmentRow(alert_id=alert_id, assignee=assignee, actor=actor, at=when, why=why))
    audit.append(
        session,
        actor=actor,
        action="alert.assign",
        subject_kind="alert",
        subject_id=alert_id,
        why=why,
        detail={"assignee": assignee},
        at=when,
    )
    return Assignment(alert_id=alert_id, assignee=assignee, actor=actor, at=when, why=why)


def add_note(
    session: Session, alert_id: str, text: str, *, author: str, at: dt.datetime | None = None
) -> Note:
    """Attach a note. The audit entry names the note, not its text: notes may hold
    personal data, and the audit log can never be edited to remove it."""
    _alert(session, alert_id)
    if not text.strip():
        raise WorkflowError(f"alert {alert_id}: an empty note")
    row = NoteRow(alert_id=alert_id, author=author, at=_now(at), text=text)
    session.add(row)
    session.flush()
    audit.append(
        session,
        actor=author,
        action="alert.note",
        subject_kind="alert",
        subject_id=alert_id,
        detail={"note_id": row.note_id},
        at=row.at,
    )
    return Note(note_id=row.note_id, alert_id=alert_id, author=author, at=row.at, text=text)


def open_case(
    session: Session, title: str, *, actor: str, why: str = "", at: dt.datetime | None = None
) -> CaseFile:
    if not title.strip():
        raise WorkflowError("a case needs a title")
    row = CaseRow(title=title.strip(), state="new", created_by=actor, created_at=_now(at))
    session.add(row)
    session.flush()
    _record(
        session,
        Transition(
            subject="case",
            subject_id=str(row.case_id),
            from_state=None,
            to_state="new",
            actor=actor,
            at=row.created_at,
            why=why,
        ),
    )
    return case_file(session, row)


def move_case(
    session: Session,
    case_id: int,
    to_state: str,
    *,
    actor: str,
    why: str = "",
    reason: str | None = None,
    at: dt.datetime | None = None,
) -> CaseFile:
    """Move a case: dismissing needs a structured reason (``DISMISS_REASONS``)."""
    row = _case(session, case_id)
    what = f"case {case_id}"
    _check_move(what, CASE_MOVES, row.state, to_state)
    if to_state == "dismissed":
        if reason not in DISMISS_REASONS:
            raise WorkflowError(
                f"{what}: dismissing needs a reason, one of {', '.join(DISMISS_REASONS)} "
                f"(got {reason!r})"
            )
        if reason == "other" and not why.strip():
            raise WorkflowError(f"{what}: dismissal reason 'other' needs an explanation (why)")
    elif reason is not None:
        raise WorkflowError(f"{what}: a reason is given only when dismissing")
    when = _now(at)
    transition = Transition(
        subject="case",
        subject_id=str(case_id),
        from_state=row.state,
        to_state=to_state,
        actor=actor,
        at=when,
        why=why,
        close_reason=reason,  # type: ignore[arg-type]
    )
    row.state = to_state
    _record(session, transition)
    return case_file(session, row)


def case_file(session: Session, row: CaseRow) -> CaseFile:
    alert_ids = session.scalars(
        select(AlertRow.alert_id).where(AlertRow.case_id == row.case_id).order_by(AlertRow.alert_id)
    ).all()
    return CaseFile(
        case_id=row.case_id,
        title=row.title,
        state=row.state,  # type: ignore[arg-type]
        created_by=row.created_by,
        created_at=row.created_at,
        alert_ids=list(alert_ids),
    )


def transition_of(row: TransitionRow) -> Transition:
    """A stored move as the contract record (``_record`` writes the other way)."""
    return Transition(
        subject=row.subject,  # type: ignore[arg-type]
        subject_id=row.subject_id,
        from_state=row.from_state,
        to_state=row.to_state,
        actor=row.actor,
        at=row.at,
        why=row.why,
        close_reason=row.close_reason,  # type: ignore[arg-type]
        case_id=row.case_id,
    )


def triaged(row: AlertRow) -> TriagedAlert:
    return TriagedAlert(
        alert_id=row.alert_id,
        employee_id=row.employee_id,
        revision=row.revision,
        score=row.score,
        severity=row.severity,
        summary=row.summary,
        opened_at=row.opened_at,
        detected_at=row.detected_at,
        state=row.state,  # type: ignore[arg-type]
        state_since=row.state_since,
        assignee=row.assignee,
        case_id=row.case_id,
        close_reason=row.close_reason,  # type: ignore[arg-type]
        detectors=row.detectors.split("+") if row.detectors else [],
    )
