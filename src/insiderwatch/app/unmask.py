"""Unmasking use cases: ask to see who is behind a staff pseudonym, decide, revoke, and
the one question the console and the API ask before naming anyone: ``identity_for``.

An identity is shown to a user only while an approval of their own request for that
pseudonym holds; each time it is shown, the use is written to the audit log first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from insiderwatch.app.staff import Person
from insiderwatch.contract.workflow import StaffIdentity, UnmaskRequest
from insiderwatch.store.ops import OpsStore, audit
from insiderwatch.store.ops import unmask as repo
from insiderwatch.store.ops.unmask import UnmaskNotFound

# (pseudonym) -> the person behind it, from the roster; None when there is nobody.
PersonLookup = Callable[[str], Person | None]


def request_unmask(
    ops: OpsStore,
    *,
    requester: str,
    pseudonym: str,
    reason: str,
    lookup: PersonLookup | None = None,
    at: dt.datetime | None = None,
) -> UnmaskRequest:
    """Record a request; with ``lookup``, a pseudonym of nobody on the roster is refused."""
    if lookup is not None and lookup(pseudonym) is None:
        raise UnmaskNotFound(f"unmask {pseudonym}: no member of staff has this pseudonym")
    with ops.session() as s:
        return repo.request(s, requester, pseudonym, reason, at=at)


def decide_unmask(
    ops: OpsStore,
    request_id: int,
    *,
    approver: str,
    approve: bool,
    hours: float,
    why: str = "",
    at: dt.datetime | None = None,
) -> UnmaskRequest:
    """Approve for ``hours`` (the ``unmask_hours`` setting unless the approver chose) or
    reject; only a privacy officer other than the requester."""
    with ops.session() as s:
        return repo.decide(
            s,
            request_id,
            approver,
            approve=approve,
            valid_for=dt.timedelta(hours=hours),
            why=why,
            at=at,
        )


def revoke_unmask(
    ops: OpsStore, request_id: int, *, actor: str, why: str = "", at: dt.datetime | None = None
) -> UnmaskRequest:
    with ops.session() as s:
        return repo.revoke(s, request_id, actor, why=why, at=at)


def unmask_requests(
    ops: OpsStore,
    *,
    state: str | None = None,
    requester: str | None = None,
    pseudonym: str | None = None,
    limit: int = 100,
    at: dt.datetime | None = None,
) -> list[UnmaskRequest]:
    with ops.session() as s:
        return repo.requests(
            s, state=state, requester=requester, pseudonym=pseudonym, limit=limit, at=at
        )


def held_unmaskings(
    ops: OpsStore, user: str, *, at: dt.datetime | None = None
) -> list[UnmaskRequest]:
    """The approved, unexpired unmaskings ``user`` holds now (one query, for a page that
    shows many employees: only those under one need ``identity_for``)."""
    with ops.session() as s:
        return repo.requests(s, state="approved", requester=user, limit=10_000, at=at)


def identity_for(
    ops: OpsStore,
    user: str,
    pseudonym: str,
    lookup: PersonLookup,
    *,
    at: dt.datetime | None = None,
) -> StaffIdentity:
    """How ``user`` may see ``pseudonym`` now: the real identity while an approved,
    unexpired grant of theirs exists (that use is audited), else the pseudonym alone."""
    with ops.session() as s:
        granted = repo.grant(s, user, pseudonym, at=at)
        person = lookup(pseudonym) if granted else None
        if granted is None or person is None:
            return StaffIdentity(pseudonym=pseudonym)
        audit.append(
            s,
            actor=user,
            action="unmask.use",
            subject_kind="employee",
            subject_id=person.employee_id,
            why=granted.reason,
            detail={"pseudonym": pseudonym, "request_id": granted.request_id},
            at=at,
        )
    return StaffIdentity(
        pseudonym=pseudonym,
        employee_id=person.employee_id,
        display_name=person.display_name,
        grant=granted.request_id,
        expires_at=granted.expires_at,
    )
