"""Investigation cases: the list, and one case with its workflow (dismissing needs a
structured reason), assignment, notes, attached evidence, and the containment actions its
alerts asked for, with approve and reject for the roles that decide; and, for the roles
that act on a breach, the case's breach scope and its download for the notices."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from insiderwatch.app.breach import case_breach_files, case_breach_scope
from insiderwatch.app.cases import (
    add_case_note,
    assign_case,
    attach_evidence,
    containment_for,
    decide_containment,
    list_cases,
    move_case,
    show_case,
)
from insiderwatch.contract.breach import ScopeSummary
from insiderwatch.contract.console import Viewer
from insiderwatch.contract.workflow import CASE_MOVES, CASE_STATES, DISMISS_REASONS
from insiderwatch.errors import InsiderwatchError
from insiderwatch.web.console.access import current_viewer
from insiderwatch.web.console.context import console_of
from insiderwatch.web.console.identity import names_for
from insiderwatch.web.console.registry import BREACH, DECIDERS, TRIAGE, Pages
from insiderwatch.web.console.render import render

pages = Pages(__name__)


@pages.get("/cases", roles=TRIAGE, nav="Cases", nav_order=20)
def cases(
    request: Request, viewer: Annotated[Viewer, Depends(current_viewer)], state: str = ""
) -> Response:
    console = console_of(request)
    if state and state not in CASE_STATES:
        return render(request, "error.html", viewer, status=400, title="Unknown state",
                      message=f"state {state!r}: one of {', '.join(CASE_STATES)}")  # fmt: skip
    found = list_cases(console.ops, state=state or None)
    return render(request, "cases.html", viewer, title="Cases", cases=found, state=state,
                  states=CASE_STATES,
                  shown=names_for(console, viewer))  # fmt: skip


def show(
    request: Request, viewer: Viewer, case_id: int, *, problem: str = "", status: int = 200
) -> Response:
    console = console_of(request)
    try:
        dossier = show_case(console.ops, case_id, actor=viewer.name, why="opened the case page")
    except InsiderwatchError as exc:
        return render(request, "error.html", viewer, status=404, title="No such case",
                      message=str(exc))  # fmt: skip
    actions = containment_for(console.ops, [a.alert_id for a in dossier.alerts])
    return render(
        request,
        "case.html",
        viewer,
        status=status,
        title=f"Case {case_id}",
        dossier=dossier,
        case=dossier.case,
        moves=CASE_MOVES[dossier.case.state],
        dismiss_reasons=DISMISS_REASONS,
        actions=actions,
        may_decide=viewer.role in DECIDERS,
        can_run=console.service.responder is not None,
        shown=names_for(console, viewer),
        problem=problem,
        may_scope=viewer.role in BREACH,
    )


def scope_page(
    request: Request, viewer: Viewer, case_id: int, *, problem: str = "", status: int = 200
) -> Response:
    """The case's breach scope (audited ``breach.scope`` before any event is read), or why
    there is none (a case whose alerts detection no longer holds). A page of its own, so
    the case page stays quick and a reading of the scope is a deliberate, audited act."""
    console = console_of(request)
    breach: ScopeSummary | None = None
    if not problem:
        try:
            with console.service.reading() as store:
                breach = case_breach_scope(console.ops, store, case_id, actor=viewer.name,
                                           pseudonym_of=console.service.pseudonyms.of)  # fmt: skip
        except InsiderwatchError as exc:
            problem = str(exc)
    return render(request, "case_scope.html", viewer, status=status,
                  title=f"Breach scope of case {case_id}", case_id=case_id, breach=breach,
                  breach_problem=problem,
                  field_label=lambda f: f.replace("_", " "))  # fmt: skip


@pages.get("/cases/{case_id}/scope", roles=BREACH)
def case_scope(
    request: Request, case_id: int, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Response:
    return scope_page(request, viewer, case_id)


@pages.get("/cases/{case_id}", roles=TRIAGE)
def case_page(
    request: Request, case_id: int, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Response:
    return show(request, viewer, case_id)


def _then(request: Request, viewer: Viewer, case_id: int, change) -> Response:
    try:
        change()
    except InsiderwatchError as exc:
        return show(request, viewer, case_id, problem=str(exc), status=400)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: str(v).strip() for k, v in form.items()}


@pages.post("/cases/{case_id}/move", roles=TRIAGE)
async def move(
    request: Request, case_id: int, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Response:
    f = await _form(request)
    ops = console_of(request).ops
    return _then(request, viewer, case_id, lambda: move_case(
        ops, case_id, f.get("to_state", ""), actor=viewer.name, why=f.get("why", ""),
        reason=(f.get("reason") or None) if f.get("to_state") == "dismissed" else None))  # fmt: skip


@pages.post("/cases/{case_id}/assign", roles=TRIAGE)
async def assign(
    request: Request, case_id: int, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Response:
    f = await _form(request)
    ops = console_of(request).ops
    return _then(request, viewer, case_id, lambda: assign_case(
        ops, case_id, f.get("assignee") or None, actor=viewer.name))  # fmt: skip


@pages.post("/cases/{case_id}/note", roles=TRIAGE)
async def note(
    request: Request, case_id: int, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Response:
    f = await _form(request)
    ops = console_of(request).ops
    return _then(request, viewer, case_id,
                 lambda: add_case_note(ops, case_id, f.get("text", ""), author=viewer.name))  # fmt: skip


@pages.post("/cases/{case_id}/evidence", roles=TRIAGE)
async def evidence(
    request: Request, case_id: int, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Response:
    form = await request.form()
    event_ids = [str(v) for v in form.getlist("event_ids")]
    alert_id = str(form.get("alert_id") or "")
    why = str(form.get("why") or "").strip()
    ops = console_of(request).ops

    def change() -> None:
        if not event_ids:
            raise InsiderwatchError("no evidence events selected")
        attach_evidence(ops, case_id, alert_id, event_ids, actor=viewer.name, why=why)

    return _then(request, viewer, case_id, change)


@pages.post("/cases/{case_id}/containment/{action_id}", roles=DECIDERS)
async def decide(
    request: Request,
    case_id: int,
    action_id: str,
    viewer: Annotated[Viewer, Depends(current_viewer)],
) -> Response:
    f = await _form(request)
    console = console_of(request)
    return _then(request, viewer, case_id, lambda: decide_containment(
        console.ops, console.service.responder, action_id, f.get("decision", ""),
        actor=viewer.name, note=f.get("note", "")))  # fmt: skip


@pages.post("/cases/{case_id}/breach", roles=BREACH)
def breach_download(
    request: Request, case_id: int, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Response:
    """The scope folder as a zip, for `insiderwatch breach notices` and `breach report`
    (which take names and addresses from the customer system, never from here)."""
    console = console_of(request)
    try:
        with console.service.reading() as store:
            data = case_breach_files(console.ops, store, case_id, actor=viewer.name,
                                     pseudonym_of=console.service.pseudonyms.of)  # fmt: skip
    except InsiderwatchError as exc:
        return scope_page(request, viewer, case_id, problem=str(exc), status=400)
    name = f"case-{case_id}-scope.zip"
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip
