"""The HTTP API of unmasking and of the audit log: thin routes over ``app.unmask`` and
``app.ops``. A user token names the user; their role (in the operational store) decides
what they may do, and the store refuses anything else again (the requester never
decides their own request)."""

# No ``from __future__ import annotations`` here: FastAPI must see the route signatures'
# dependency types (defined inside ``router``) as objects, not as strings.
import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import msgspec
from fastapi import APIRouter, Depends, HTTPException, Path, Query
from pydantic import BaseModel

from insiderwatch.app import unmask as cases
from insiderwatch.app.ops import read_audit
from insiderwatch.contract.workflow import (
    UNMASK_APPROVERS,
    UNMASK_REQUESTERS,
    UNMASK_STATES,
    User,
)
from insiderwatch.store.ops.unmask import UnmaskError, UnmaskNotFound, UnmaskRefused
from insiderwatch.web.models import (
    AuditEntryOut,
    DecisionIn,
    IdentityOut,
    Problem,
    UnmaskIn,
    UnmaskOut,
)
from insiderwatch.web.service import Service
from insiderwatch.web.unavailable import OPS_UNAVAILABLE, ops_unavailable

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
AUDIT_READERS = ("auditor",)
# Who sees every request (to decide them, or to audit); the others see their own.
SEE_ALL_REQUESTS = (*UNMASK_APPROVERS, "auditor")
MAX_ID = 2**31 - 1  # the store's integer keys
RequestId = Annotated[int, Path(ge=1, le=MAX_ID, description="The unmask request.")]

_REFUSALS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "No valid user token."},
    403: {"model": Problem, "description": "The user's role may not do this."},
    404: {"model": Problem, "description": "No such request or pseudonym."},
    409: {
        "model": Problem,
        "description": "Not possible as the request stands (decided, "
        "expired, a rejection without a reason).",
    },
    422: {"model": Problem, "description": "Invalid parameters."},
    503: OPS_UNAVAILABLE,
}


def _out(model: type[M], record: Any) -> M:
    return model(**msgspec.to_builtins(record, builtin_types=(dt.datetime,)))


def router(service: Service, reader: Callable[..., str]) -> APIRouter:
    """The routes, authenticated by ``reader`` (the API's user-token dependency)."""
    routes = APIRouter(prefix="/v1", responses=_REFUSALS)

    def call(use_case: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return use_case(service.ops.store, *args, **kwargs)
        except UnmaskRefused as exc:
            raise HTTPException(403, str(exc)) from None
        except UnmaskNotFound as exc:
            raise HTTPException(404, str(exc)) from None
        except UnmaskError as exc:
            raise HTTPException(409, str(exc)) from None
        except Exception as exc:
            raise ops_unavailable(exc) from None

    def user(name: Annotated[str, Depends(reader)]) -> User:
        found = call(lambda _store: service.ops.user(name))
        if found is None:
            raise HTTPException(403, f"{name} is not an active user of the console")
        return found

    Who = Annotated[User, Depends(user)]

    def allow(who: User, roles: tuple[str, ...], what: str) -> None:
        if who.role not in roles:
            raise HTTPException(
                403, f"{who.name} is a {who.role}; {what} is for {', '.join(roles)}"
            )

    def lookup(pseudonym: str):
        with service.reading() as store:
            return service.pseudonyms.find(store, pseudonym)

    @routes.post("/unmask", status_code=201, response_model=UnmaskOut)
    def request_unmask(body: UnmaskIn, who: Who) -> UnmaskOut:
        """Ask to see who is behind a staff pseudonym, with the reason (analysts and
        investigators); a privacy officer decides."""
        allow(who, UNMASK_REQUESTERS, "asking to unmask")
        made = call(
            cases.request_unmask,
            requester=who.name,
            pseudonym=body.pseudonym,
            reason=body.reason,
            lookup=lookup,
        )
        return _out(UnmaskOut, made)

    @routes.get("/unmask", response_model=list[UnmaskOut])
    def list_unmask(
        who: Who,
        state: Annotated[
            str | None, Query(description=f"One of {', '.join(UNMASK_STATES)}.")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[UnmaskOut]:
        """Requests, newest first: all of them for privacy officers and auditors, a
        requester's own for the others."""
        mine = None if who.role in SEE_ALL_REQUESTS else who.name
        found = call(cases.unmask_requests, state=state, requester=mine, limit=limit)
        return [_out(UnmaskOut, r) for r in found]

    @routes.post("/unmask/{request_id}/approve", response_model=UnmaskOut)
    def approve(request_id: RequestId, body: DecisionIn, who: Who) -> UnmaskOut:
        """Approve for ``hours`` (default: the unmask_hours setting); privacy officers."""
        allow(who, UNMASK_APPROVERS, "deciding an unmasking")
        hours = body.hours or service.settings.unmask_hours
        done = call(
            cases.decide_unmask, request_id, approver=who.name, approve=True, hours=hours,
            why=body.why,
        )  # fmt: skip
        return _out(UnmaskOut, done)

    @routes.post("/unmask/{request_id}/reject", response_model=UnmaskOut)
    def reject(request_id: RequestId, body: DecisionIn, who: Who) -> UnmaskOut:
        """Reject, with the reason; privacy officers."""
        allow(who, UNMASK_APPROVERS, "deciding an unmasking")
        done = call(
            cases.decide_unmask, request_id, approver=who.name, approve=False,
            hours=service.settings.unmask_hours, why=body.why,
        )  # fmt: skip
        return _out(UnmaskOut, done)

    @routes.post("/unmask/{request_id}/revoke", response_model=UnmaskOut)
    def revoke(request_id: RequestId, body: DecisionIn, who: Who) -> UnmaskOut:
        """End an unmasking before it expires: a privacy officer, or its requester."""
        return _out(UnmaskOut, call(cases.revoke_unmask, request_id, actor=who.name, why=body.why))

    @routes.get(
        "/employees/{pseudonym}/identity",
        response_model=IdentityOut,
        responses={404: {"model": Problem, "description": "No such employee."}},
    )
    def identity(pseudonym: str, who: Who) -> IdentityOut:
        """Who is behind the pseudonym, for this user: named only under their approved,
        unexpired unmasking (each such answer is audited), else the pseudonym alone."""
        if lookup(pseudonym) is None:
            raise HTTPException(404, f"no employee {pseudonym}")
        shown = call(cases.identity_for, who.name, pseudonym, lookup)
        return IdentityOut(unmasked=shown.unmasked, **msgspec.to_builtins(shown))

    @routes.get("/audit", response_model=list[AuditEntryOut])
    def audit_log(
        who: Who,
        actor: str | None = None,
        action: Annotated[
            str | None, Query(description="An action, or a prefix ending in '.'.")
        ] = None,
        subject_kind: str | None = None,
        before: Annotated[
            int | None, Query(description="Entries before this seq (paging).")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[AuditEntryOut]:
        """The audit log, newest first, staff as pseudonyms (auditors); reading it is
        itself recorded."""
        allow(who, AUDIT_READERS, "the audit log")
        found = call(
            read_audit, reader=who.name, show_staff=service.pseudonyms.of, actor=actor,
            action=action, subject_kind=subject_kind, before=before, limit=limit,
        )  # fmt: skip
        return [_out(AuditEntryOut, e) for e in found]

    return routes
