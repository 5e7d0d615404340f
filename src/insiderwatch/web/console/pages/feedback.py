"""Feedback: dismiss an alert for a structured reason, see what the suppression it
proposes would have done to the last 30 days of alerts, and (investigators, admins)
apply it; the list of proposals and their fate."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from insiderwatch.app.alerts import show
from insiderwatch.app.feedback import (
    PREVIEW_DAYS,
    decide_proposal,
    proposal,
    proposals,
    propose_from_dismissal,
    with_applied_suppressions,
)
from insiderwatch.contract.console import FEEDBACK_REASONS, Viewer
from insiderwatch.errors import InsiderwatchError
from insiderwatch.web.console.access import current_viewer
from insiderwatch.web.console.context import Console, console_of
from insiderwatch.web.console.identity import names_for, shown_name
from insiderwatch.web.console.registry import DECIDERS, TRIAGE, Pages
from insiderwatch.web.console.render import render

pages = Pages(__name__)
DEFAULT_DAYS = 30  # how long a proposed suppression lasts unless the form says otherwise


def _dismiss_form(request: Request, viewer: Viewer, alert_id: str, *, problem: str = "",
                  status: int = 200, values: dict | None = None) -> Response:  # fmt: skip
    console = console_of(request)
    try:
        alert = show(console.ops, alert_id, actor=viewer.name, why="opened the dismiss form").alert
    except InsiderwatchError as exc:
        return render(request, "error.html", viewer, status=404, title="No such alert",
                      message=str(exc))  # fmt: skip
    until = dt.date.today() + dt.timedelta(days=DEFAULT_DAYS)
    return render(request, "dismiss.html", viewer, status=status, title="Dismiss an alert",
                  alert=alert, employee=shown_name(console, viewer, alert.employee_id),
                  reasons=FEEDBACK_REASONS, problem=problem, preview_days=PREVIEW_DAYS,
                  values={"until": until.isoformat(), **(values or {})})  # fmt: skip


@pages.get("/alerts/{alert_id}/dismiss", roles=TRIAGE)
def dismiss_form(
    request: Request, alert_id: str, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Response:
    return _dismiss_form(request, viewer, alert_id)


@pages.post("/alerts/{alert_id}/dismiss", roles=TRIAGE)
async def dismiss(
    request: Request, alert_id: str, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Response:
    form = {k: str(v).strip() for k, v in (await request.form()).items()}
    console = console_of(request)
    try:
        until = dt.date.fromisoformat(form.get("until", ""))
    except ValueError:
        return _dismiss_form(request, viewer, alert_id, status=400, values=form,
                             problem=f"until: {form.get('until')!r} is not a date (YYYY-MM-DD)")  # fmt: skip
    try:
        with console.service.reading() as store:
            made = propose_from_dismissal(
                console.ops, store, console.service.deployment.detection, console.service.key,
                alert_id,
                reason=form.get("reason", ""), detector=form.get("detector", ""), until=until,
                why=form.get("why", ""), actor=viewer.name,
            )  # fmt: skip
    except InsiderwatchError as exc:
        return _dismiss_form(request, viewer, alert_id, problem=str(exc), status=400, values=form)
    return RedirectResponse(f"/feedback/{made.proposal_id}", status_code=303)


@pages.get("/feedback", roles=TRIAGE, nav="Feedback", nav_order=30)
def feedback_list(request: Request, viewer: Annotated[Viewer, Depends(current_viewer)]) -> Response:
    console = console_of(request)
    return render(request, "feedback_list.html", viewer, title="Feedback",
                  proposals=proposals(console.ops),
                  shown=names_for(console, viewer))  # fmt: skip


def _show(request: Request, viewer: Viewer, proposal_id: int, *, problem: str = "",
          status: int = 200) -> Response:  # fmt: skip
    console = console_of(request)
    try:
        found = proposal(console.ops, proposal_id)
    except InsiderwatchError as exc:
        return render(request, "error.html", viewer, status=404, title="No such proposal",
                      message=str(exc))  # fmt: skip
    return render(request, "feedback.html", viewer, status=status,
                  title=f"Suppression proposal {proposal_id}", p=found, problem=problem,
                  employee=shown_name(console, viewer, found.employee_id),
                  may_apply=viewer.role in DECIDERS)  # fmt: skip


@pages.get("/feedback/{proposal_id}", roles=TRIAGE)
def feedback_page(
    request: Request, proposal_id: int, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Response:
    return _show(request, viewer, proposal_id)


def _refresh_detection(console: Console) -> None:
    """Live detection's next step uses the suppressions applied now."""
    service = console.service
    service.live.deployment = with_applied_suppressions(service.live.deployment, console.ops)
    service.deployment = service.live.deployment


async def _decide(request: Request, viewer: Viewer, proposal_id: int, to_status: str) -> Response:
    form = await request.form()
    console = console_of(request)
    try:
        decide_proposal(console.ops, proposal_id, to_status, actor=viewer.name,
                        why=str(form.get("why") or "").strip())  # fmt: skip
    except InsiderwatchError as exc:
        return _show(request, viewer, proposal_id, problem=str(exc), status=400)
    _refresh_detection(console)
    return RedirectResponse(f"/feedback/{proposal_id}", status_code=303)


@pages.post("/feedback/{proposal_id}/apply", roles=DECIDERS)
async def apply(
    request: Request, proposal_id: int, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Response:
    return await _decide(request, viewer, proposal_id, "applied")


@pages.post("/feedback/{proposal_id}/withdraw", roles=TRIAGE)
async def withdraw(
    request: Request, proposal_id: int, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Response:
    return await _decide(request, viewer, proposal_id, "withdrawn")
