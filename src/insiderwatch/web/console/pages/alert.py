"""One alert: the summary sentence, the baselines that moved (with the employee's own
days against their peers'), the evidence and what explains it, and triage: state,
assignment, notes, escalation into a case."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from insiderwatch.app.alert_view import alert_view
from insiderwatch.app.alerts import add_note, assign, triage
from insiderwatch.contract.console import BaselineMove, Viewer
from insiderwatch.contract.workflow import ALERT_MOVES, CLOSE_REASONS
from insiderwatch.store.ops.workflow import WorkflowError
from insiderwatch.web.console.access import current_viewer
from insiderwatch.web.console.context import console_of
from insiderwatch.web.console.identity import shown_name
from insiderwatch.web.console.registry import TRIAGE, Pages
from insiderwatch.web.console.render import render

pages = Pages(__name__)


def chart_spec(move: BaselineMove) -> dict:
    """uPlot's data for one baseline: days as x, the employee and the peers as series."""
    epoch = [int(dt.datetime.combine(d.day, dt.time(), dt.UTC).timestamp()) for d in move.days]
    return {
        "ylabel": move.meaning,
        "series": [
            {"label": "this employee"},
            {"label": "peers' median"},
            {"label": "peers' 90th percentile"},
            {"label": "the line it crossed"},
        ],
        "data": [
            epoch,
            [d.own for d in move.days],
            [d.peer_median for d in move.days],
            [d.peer_high for d in move.days],
            [d.line for d in move.days],
        ],
    }


def show_alert(
    request: Request, viewer: Viewer, alert_id: str, *, problem: str = "", status: int = 200
) -> Response:
    console = console_of(request)
    try:
        with console.service.reading() as store:
            view = alert_view(console.ops, store, alert_id, actor=viewer.name,
                              baseline_days=console.service.deployment.detection.baseline_days)  # fmt: skip
    except WorkflowError as exc:
        return render(request, "error.html", viewer, status=404, title="No such alert",
                      message=str(exc))  # fmt: skip
    alert = view.dossier.alert
    return render(
        request,
        "alert.html",
        viewer,
        status=status,
        title=f"Alert {alert.alert_id}",
        view=view,
        alert=alert,
        employee=shown_name(console, viewer, alert.employee_id),
        moves=ALERT_MOVES[alert.state],
        close_reasons=CLOSE_REASONS,
        charts=[chart_spec(b) for b in view.baselines],
        problem=problem,
    )


@pages.get("/alerts/{alert_id}", roles=TRIAGE)
def alert_page(
    request: Request, alert_id: str, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Response:
    return show_alert(request, viewer, alert_id)


def _done_or_problem(request: Request, viewer: Viewer, alert_id: str, change) -> Response:
    """Post/redirect/get on success; the page again with the reason on a refusal."""
    try:
        change()
    except WorkflowError as exc:
        return show_alert(request, viewer, alert_id, problem=str(exc), status=400)
    return RedirectResponse(f"/alerts/{alert_id}", status_code=303)


@pages.post("/alerts/{alert_id}/move", roles=TRIAGE)
async def move(
    request: Request, alert_id: str, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Response:
    form = await request.form()
    to_state = str(form.get("to_state") or "")
    why = str(form.get("why") or "").strip()
    reason = str(form.get("close_reason") or "") or None
    case_text = str(form.get("case_id") or "").strip()
    new_case = str(form.get("new_case") or "").strip() or None
    ops = console_of(request).ops

    def change() -> None:
        if case_text and not case_text.isdigit():
            raise WorkflowError(f"alert {alert_id}: case id {case_text!r} is not a number")
        triage(ops, alert_id, to_state, actor=viewer.name, why=why,
               close_reason=reason if to_state == "closed" else None,
               case_id=int(case_text) if case_text and to_state == "escalated" else None,
               new_case=new_case if to_state == "escalated" and not case_text else None)  # fmt: skip

    return _done_or_problem(request, viewer, alert_id, change)


@pages.post("/alerts/{alert_id}/assign", roles=TRIAGE)
async def assign_alert(
    request: Request, alert_id: str, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Response:
    form = await request.form()
    assignee = str(form.get("assignee") or "").strip() or None
    why = str(form.get("why") or "").strip()
    ops = console_of(request).ops
    return _done_or_problem(request, viewer, alert_id,
                            lambda: assign(ops, alert_id, assignee, actor=viewer.name, why=why))  # fmt: skip


@pages.post("/alerts/{alert_id}/note", roles=TRIAGE)
async def note(
    request: Request, alert_id: str, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Response:
    form = await request.form()
    text = str(form.get("text") or "")
    ops = console_of(request).ops
    return _done_or_problem(request, viewer, alert_id,
                            lambda: add_note(ops, alert_id, text, author=viewer.name))  # fmt: skip
