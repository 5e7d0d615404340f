"""Investigation cases: the case list, one case with everything it holds (reading it is
audited), its workflow (new -> investigating -> confirmed / dismissed with a structured
reason -> closed), assignment, notes, attached evidence, and the containment actions its
alerts asked for, approved or rejected by a person."""

from __future__ import annotations

from insiderwatch.contract.cases import CaseDossier, CaseNote, CaseSummary
from insiderwatch.contract.workflow import CaseFile
from insiderwatch.errors import InsiderwatchError
from insiderwatch.respond.records import Containment
from insiderwatch.respond.responder import Responder
from insiderwatch.respond.store import ResponseStore
from insiderwatch.store.ops import OpsStore, audit, workflow
from insiderwatch.store.ops import cases as repo

DECISIONS = ("approve", "reject")


def list_cases(ops: OpsStore, *, state: str | None = None) -> list[CaseSummary]:
    with ops.session() as s:
        return repo.list_cases(s, state=state)


def show_case(ops: OpsStore, case_id: int, *, actor: str, why: str = "") -> CaseDossier:
    """The case; the read is audited once per employee it concerns."""
    with ops.session() as s:
        found = repo.dossier(s, case_id)
        for employee in sorted({a.employee_id for a in found.alerts}):
            audit.append(s, actor=actor, action="case.read", subject_kind="employee",
                         subject_id=employee, why=why, detail={"case_id": case_id})  # fmt: skip
    return found


def move_case(
    ops: OpsStore, case_id: int, to_state: str, *, actor: str, why: str = "",
    reason: str | None = None,
) -> CaseFile:  # fmt: skip
    with ops.session() as s:
        return workflow.move_case(s, case_id, to_state, actor=actor, why=why, reason=reason)


def assign_case(ops: OpsStore, case_id: int, assignee: str | None, *, actor: str) -> None:
    with ops.session() as s:
        repo.assign_case(s, case_id, assignee, actor=actor)


def add_case_note(ops: OpsStore, case_id: int, text: str, *, author: str) -> CaseNote:
    with ops.session() as s:
        return repo.add_case_note(s, case_id, text, author=author)


def attach_evidence(
    ops: OpsStore, case_id: int, alert_id: str, event_ids: list[str], *, actor: str, why: str = ""
) -> list[str]:
    with ops.session() as s:
        return repo.attach_evidence(s, case_id, alert_id, event_ids, actor=actor, why=why)


def containment_for(ops: OpsStore, alert_ids: list[str]) -> list[Containment]:
    """The containment actions the case's alerts asked for, newest first."""
    if not alert_ids:
        return []
    return ResponseStore(ops.engine).actions(alert_ids=alert_ids, limit=1000)


def decide_containment(
    ops: OpsStore, responder: Responder | None, action_id: str, decision: str, *, actor: str,
    note: str = "",
) -> Containment:  # fmt: skip
    """Approve or reject a pending action through the running responder (an approval
    that completes the count runs the action); the decision is audited."""
    if decision not in DECISIONS:
        raise InsiderwatchError(f"unknown decision {decision!r} (one of {', '.join(DECISIONS)})")
    if responder is None:
        raise InsiderwatchError(
            "no response file is configured (respond_config), so nothing can run an approved "
            "action here"
        )
    contain = responder.contain
    done = (contain.approve if decision == "approve" else contain.reject)(action_id, actor, note)
    with ops.session() as s:
        audit.append(s, actor=actor, action=f"containment.{decision}", subject_kind="employee",
                     subject_id=done.employee_id, why=note,
                     detail={"action_id": action_id, "status": done.status})  # fmt: skip
    return done
