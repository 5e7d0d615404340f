"""Who a local operator is, and the audit log's use cases (record a read, list,
verify). The store itself opens through ``Deployment.open_ops``."""

from __future__ import annotations

import getpass
from collections.abc import Callable
from typing import Any

import msgspec

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


def read_audit(
    ops: OpsStore, *, reader: str, show_staff: Callable[[str], str], **filters: Any
) -> list[AuditEntry]:
    """The audit log as an auditor reads it ("who watched the watchers"): the entries
    matching ``filters``, staff named by ``show_staff`` (their pseudonym). Reading the log
    is itself an entry, written before the answer."""
    with ops.session() as s:
        audit.append(
            s,
            actor=reader,
            action="audit.read",
            subject_kind="audit_log",
            subject_id="audit_log",
            detail={k: str(v) for k, v in filters.items() if v is not None},
        )
        found = audit.entries(s, **filters)
    return [
        msgspec.structs.replace(e, subject_id=show_staff(e.subject_id))
        if e.subject_kind == "employee"
        else e
        for e in found
    ]


def verify_audit(ops: OpsStore) -> AuditVerification:
    with ops.session() as s:
        return audit.verify(s)
