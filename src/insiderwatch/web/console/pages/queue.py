"""The alert queue: filters, sort, keyset pages, noisy detectors as one row, and bulk
triage of the selected alerts (assign, triage, close with a reason)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from fastapi import Depends, Request
from fastapi.responses import Response

from insiderwatch.app.queue import QueueError, alert_queue, bulk_assign, bulk_move, queue_choices
from insiderwatch.contract import SEVERITIES
from insiderwatch.contract.console import QUEUE_SORTS, UNASSIGNED, QueueQuery, Viewer
from insiderwatch.contract.workflow import ALERT_STATES, CLOSE_REASONS
from insiderwatch.web.console.access import current_viewer
from insiderwatch.web.console.context import console_of
from insiderwatch.web.console.identity import names_for
from insiderwatch.web.console.registry import TRIAGE, Pages
from insiderwatch.web.console.render import render

pages = Pages(__name__)
FILTERS = ("severity", "detector", "state", "assignee", "from", "to", "peer_group", "sort")
BULK_STATES = ("triaging", "closed")  # escalating needs a case: from the alert's page


def _query(params: dict[str, Any]) -> QueueQuery:
    """The query string as a QueueQuery; a bad value raises naming the field."""
    raw = {
        "severities": params.get("severity") or [],
        "detector": params.get("detector") or None,
        "state": params.get("state") or None,
        "assignee": params.get("assignee") or None,
        "detected_from": params.get("from") or None,
        "detected_to": params.get("to") or None,
        "peer_group": params.get("peer_group") or None,
        "sort": params.get("sort") or "score",
        "after": params.get("after") or None,
    }
    return msgspec.convert(raw, QueueQuery, strict=False)


def _params(request: Request) -> dict[str, Any]:
    q = request.query_params
    return {k: (q.getlist(k) if k == "severity" else q.get(k)) for k in (*FILTERS, "after")}


def _link(params: dict[str, Any], **changes) -> str:
    merged = {k: v for k, v in {**params, **changes}.items() if v}
    return "/alerts?" + urlencode(merged, doseq=True)


@pages.get("/alerts", roles=TRIAGE, nav="Alerts", nav_order=10)
def queue(request: Request, viewer: Annotated[Viewer, Depends(current_viewer)]) -> Response:
    console = console_of(request)
    params = _params(request)
    problem, page = "", None
    with console.service.reading() as store:
        choices = queue_choices(console.ops, store)
        try:
            query = _query(params)
            page = alert_queue(console.ops, query, store=store,
                               noisy_after=console.service.settings.console_noisy_alerts)  # fmt: skip
        except (msgspec.ValidationError, QueueError) as exc:
            problem = str(exc)
    return render(
        request,
        "queue.html",
        viewer,
        status=400 if problem else 200,
        title="Alert queue",
        problem=problem,
        page=page,
        params=params,
        choices=choices,
        severities=SEVERITIES,
        states=ALERT_STATES,
        sorts=QUEUE_SORTS,
        unassigned=UNASSIGNED,
        bulk_states=BULK_STATES,
        close_reasons=CLOSE_REASONS,
        shown=names_for(console, viewer),
        link=lambda **changes: _link(params, **changes),
    )


@pages.post("/alerts/bulk", roles=TRIAGE)
async def bulk(request: Request, viewer: Annotated[Viewer, Depends(current_viewer)]) -> Response:
    console = console_of(request)
    form = await request.form()
    alert_ids = [str(v) for v in form.getlist("alert_ids")]
    action = str(form.get("action") or "")
    why = str(form.get("why") or "").strip()
    back = str(form.get("back") or "/alerts")
    if not back.startswith("/alerts"):
        back = "/alerts"
    problem, result = "", None
    try:
        if not alert_ids:
            raise QueueError("no alerts selected")
        if action == "assign":
            assignee = str(form.get("assignee") or "").strip() or None
            result = bulk_assign(console.ops, alert_ids, assignee, actor=viewer.name, why=why)
        elif action in BULK_STATES:
            reason = str(form.get("close_reason") or "") or None if action == "closed" else None
            result = bulk_move(console.ops, alert_ids, action, actor=viewer.name, why=why,
                               close_reason=reason)  # fmt: skip
        else:
            raise QueueError(f"unknown bulk action {action!r}")
    except QueueError as exc:
        problem = str(exc)
    return render(request, "bulk_result.html", viewer, status=400 if problem else 200,
                  title="Bulk triage", problem=problem, result=result, back=back,
                  action=action)  # fmt: skip
