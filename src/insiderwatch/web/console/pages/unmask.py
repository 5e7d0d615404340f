"""Unmasking in the console: analysts and investigators ask (with a reason) and see their
requests; privacy officers see what waits for them and approve or reject; an unmasking is
revoked by a privacy officer or given up by its requester. Each step is a use case in
``app.unmask`` that writes the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from insiderwatch.app.unmask import (
    decide_unmask,
    request_unmask,
    revoke_unmask,
    unmask_requests,
)
from insiderwatch.contract.console import Viewer
from insiderwatch.contract.workflow import UNMASK_APPROVERS, UNMASK_REQUESTERS
from insiderwatch.store.ops.unmask import UnmaskError
from insiderwatch.web.console.access import current_viewer
from insiderwatch.web.console.context import console_of
from insiderwatch.web.console.identity import person_of
from insiderwatch.web.console.registry import Pages
from insiderwatch.web.console.render import render

pages = Pages(__name__)
ASKERS = frozenset(UNMASK_REQUESTERS)
DECIDERS = frozenset(UNMASK_APPROVERS)
UNMASKING = ASKERS | DECIDERS
Who = Annotated[Viewer, Depends(current_viewer)]
RequestId = Annotated[int, Path(ge=1, le=2**31 - 1)]  # the store's integer keys


def _page(request: Request, viewer: Viewer, *, status: int = 200, message: str = "") -> Response:
    console = console_of(request)
    mine = None if viewer.role in DECIDERS else viewer.name
    found = unmask_requests(console.ops, requester=mine, limit=200)
    return render(
        request,
        "unmask.html",
        viewer,
        status=status,
        title="Unmasking",
        pending=[r for r in found if r.state == "requested"],
        requests=found,
        may_ask=viewer.role in ASKERS,
        may_decide=viewer.role in DECIDERS,
        message=message,
    )


def _done(request: Request, viewer: Viewer, step) -> Response:
    """Run a step; back to the list (303), or the list with the refusal (409)."""
    try:
        step()
    except UnmaskError as exc:
        return _page(request, viewer, status=409, message=str(exc))
    return RedirectResponse("/unmask", status_code=303)


@pages.get("/unmask", roles=UNMASKING, nav="Unmasking", nav_order=60)
def unmask_list(request: Request, viewer: Who) -> Response:
    return _page(request, viewer)


@pages.post("/unmask", roles=ASKERS)
def ask(
    request: Request,
    viewer: Who,
    pseudonym: Annotated[str, Form(max_length=64)],
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    console = console_of(request)
    return _done(request, viewer, lambda: request_unmask(
        console.ops, requester=viewer.name, pseudonym=pseudonym.strip(), reason=reason,
        lookup=lambda p: person_of(console, p)))  # fmt: skip


def _decide(
    request: Request, viewer: Viewer, request_id: int, approve: bool, hours: float | None, why: str
) -> Response:
    """Approve or reject; the hours default to the unmask_hours setting."""
    console = console_of(request)
    hours = hours or console.service.settings.unmask_hours
    return _done(request, viewer, lambda: decide_unmask(
        console.ops, request_id, approver=viewer.name, approve=approve, hours=hours, why=why))  # fmt: skip


@pages.post("/unmask/{request_id}/approve", roles=DECIDERS)
def approve(
    request: Request,
    request_id: RequestId,
    viewer: Who,
    hours: Annotated[float | None, Form(gt=0, le=24 * 366)] = None,
    why: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    return _decide(request, viewer, request_id, True, hours, why)


@pages.post("/unmask/{request_id}/reject", roles=DECIDERS)
def reject(
    request: Request,
    request_id: RequestId,
    viewer: Who,
    why: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    return _decide(request, viewer, request_id, False, None, why)


@pages.post("/unmask/{request_id}/revoke", roles=UNMASKING)
def revoke(
    request: Request,
    request_id: RequestId,
    viewer: Who,
    why: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    console = console_of(request)
    return _done(request, viewer, lambda: revoke_unmask(
        console.ops, request_id, actor=viewer.name, why=why))  # fmt: skip
