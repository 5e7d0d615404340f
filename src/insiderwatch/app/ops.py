"""Who a local operator is, and the audit log's use cases (record a read, list,
verify). The store itself opens through ``Deployment.open_ops``."""

from __future__ import annotations

import getpass
from typing import Any

from insiderwatch.contract.workflow import AuditEntry, AuditVerification
from insiderwatch.store.ops import OpsStore, audit


def local_actor() -> str:
    """Who acts from this machine's command line when no ``--by`` is given."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid (containers)
        return "cli"


def record_read(
    ops: OpsStore,
    *,
    actor: str,
    subject_kind: str,
    subject_id: str,
    why: str = "",
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Audit one read of an employee's or a customer's data (what the API calls on
    every such request, before answering it)."""
    with ops.session() as s:
        return audit.append(
            s,
            actor=actor,
            action=f"{subject_kind}.read",
            subject_kind=subject_kind,
            subject_id=subject_id,
            why=why,
            detail=detail,
        )


def audit_entries(ops: OpsStore, **filters: Any) -> list[AuditEntry]:
    with ops.session() as s:
        return audit.entries(s, **filters)


def verify_audit(ops: OpsStore) -> AuditVerification:
    with ops.session() as s:
        return audit.verify(s)
