"""Suppressions proposed from dismissals, in the operational store: proposed with the
preview of what they would have changed, then applied or withdrawn by a person; each
step audited in its own transaction."""

from __future__ import annotations

import datetime as dt

import msgspec
from sqlalchemy import select
from sqlalchemy.orm import Session

from insiderwatch.contract.console import SuppressionPreview, SuppressionProposal
from insiderwatch.store.ops import audit
from insiderwatch.store.ops.models import SuppressionProposalRow
from insiderwatch.store.ops.workflow import WorkflowError

# Where each proposal may go from where it stands.
MOVES = {"proposed": ("applied", "withdrawn"), "applied": ("withdrawn",), "withdrawn": ()}


def _record(row: SuppressionProposalRow) -> SuppressionProposal:
    return SuppressionProposal(
        proposal_id=row.proposal_id,
        alert_id=row.alert_id,
        employee_id=row.employee_id,
        detector=row.detector,
        until=row.until,
        reason=row.close_reason,  # type: ignore[arg-type]
        why=row.why,
        status=row.status,  # type: ignore[arg-type]
        proposed_by=row.proposed_by,
        proposed_at=row.proposed_at,
        preview=msgspec.json.decode(row.preview, type=SuppressionPreview),
        decided_by=row.decided_by,
        decided_at=row.decided_at,
    )


def propose(
    session: Session, *, alert_id: str, employee_id: str, detector: str, until: dt.date,
    reason: str, why: str, actor: str, preview: SuppressionPreview, at: dt.datetime,
) -> SuppressionProposal:  # fmt: skip
    row = SuppressionProposalRow(
        alert_id=alert_id, employee_id=employee_id, detector=detector, until=until,
        close_reason=reason, why=why, status="proposed", proposed_by=actor, proposed_at=at,
        preview=msgspec.json.encode(preview).decode(),
    )  # fmt: skip
    session.add(row)
    session.flush()
    audit.append(session, actor=actor, action="suppression.propose", subject_kind="employee",
                 subject_id=employee_id, why=why, at=at,
                 detail={"proposal_id": row.proposal_id, "alert_id": alert_id,
                         "detector": detector, "until": until.isoformat(), "reason": reason,
                         "would_not_fire": len(preview.spared)})  # fmt: skip
    return _record(row)


def decide(
    session: Session, proposal_id: int, to_status: str, *, actor: str, why: str = "",
    at: dt.datetime,
) -> SuppressionProposal:  # fmt: skip
    row = session.get(SuppressionProposalRow, proposal_id)
    if row is None:
        raise WorkflowError(f"suppression proposal {proposal_id}: no such proposal")
    if to_status not in MOVES[row.status]:
        options = ", ".join(MOVES[row.status]) or "nowhere (final)"
        raise WorkflowError(
            f"suppression proposal {proposal_id}: cannot go from {row.status} to {to_status}; "
            f"from {row.status}: {options}"
        )
    row.status, row.decided_by, row.decided_at = to_status, actor, at
    verb = "apply" if to_status == "applied" else "withdraw"
    audit.append(session, actor=actor, action=f"suppression.{verb}", subject_kind="employee",
                 subject_id=row.employee_id, why=why, at=at,
                 detail={"proposal_id": proposal_id, "detector": row.detector,
                         "until": row.until.isoformat()})  # fmt: skip
    return _record(row)


def proposal(session: Session, proposal_id: int) -> SuppressionProposal:
    row = session.get(SuppressionProposalRow, proposal_id)
    if row is None:
        raise WorkflowError(f"suppression proposal {proposal_id}: no such proposal")
    return _record(row)


def proposals(session: Session, *, status: str | None = None) -> list[SuppressionProposal]:
    query = select(SuppressionProposalRow).order_by(SuppressionProposalRow.proposal_id.desc())
    if status:
        query = query.where(SuppressionProposalRow.status == status)
    return [_record(r) for r in session.scalars(query.limit(500))]
