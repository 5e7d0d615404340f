"""The audit log for the auditor role ("who watched the watchers"): every read of an
employee's or a customer's data, every unmasking and every change, newest first, with
filters and paging; staff appear as pseudonyms. Reading it is itself recorded."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.responses import Response

from insiderwatch.app.ops import read_audit
from insiderwatch.contract.console import Viewer
from insiderwatch.web.console.access import current_viewer
from insiderwatch.web.console.context import console_of
from insiderwatch.web.console.registry import Pages
from insiderwatch.web.console.render import render

pages = Pages(__name__)
AUDITORS = frozenset({"auditor"})
PAGE = 100


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value is not None else None


@pages.get("/audit", roles=AUDITORS, nav="Audit log", nav_order=90)
def audit_log(
    request: Request,
    viewer: Annotated[Viewer, Depends(current_viewer)],
    actor: Annotated[str | None, Query(max_length=64)] = None,
    action: Annotated[str | None, Query(max_length=64)] = None,
    subject_kind: Annotated[str | None, Query(max_length=32)] = None,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    console = console_of(request)
    filters = {
        "actor": _blank(actor),
        "action": _blank(action),
        "subject_kind": _blank(subject_kind),
    }
    entries = read_audit(console.ops, reader=viewer.name, show_staff=console.service.pseudonyms.of,
                         before=before, limit=PAGE, **filters)  # fmt: skip
    older = entries[-1].seq if len(entries) == PAGE else None
    return render(request, "audit.html", viewer, title="Audit log", entries=entries,
                  filters=filters, older=older, newer=before is not None)  # fmt: skip
