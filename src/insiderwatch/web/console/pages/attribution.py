"""Leak attribution: a list of customer details found outside (uploaded or pasted) is
matched through the deployment's keyed hashes in memory, and the ranked suspects are
shown with their explanations and the verdict on an outside source, staff as the
viewer may see them (``identity.shown_name``). The list itself is never written to disk,
a store or a log; the audit log records who asked, when, and what came of it (counts,
verdict, the suspects' pseudonyms), never a value of the list."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import uuid
from typing import Annotated

import msgspec
from fastapi import Depends, File, Form, Request, UploadFile
from fastapi.responses import Response

from insiderwatch.app.investigate import attribute_upload, audit_attribution
from insiderwatch.contract import SuspectReport
from insiderwatch.contract.console import Viewer
from insiderwatch.errors import InsiderwatchError
from insiderwatch.web.console.access import current_viewer
from insiderwatch.web.console.context import console_of
from insiderwatch.web.console.identity import names_for
from insiderwatch.web.console.registry import TRIAGE, Pages
from insiderwatch.web.console.render import render

pages = Pages(__name__)
# Pasted text is read as a plain list (one email or phone a line) or, with a header row,
# as CSV: the reader tells them apart by the name's .txt suffix (investigate/leak.py).
PASTED_NAME = "pasted.txt"
ACCEPT = ".csv,.tsv,.txt,.jsonl,.ndjson,.json,.gz"
DEFAULT_TOP = 10
MAX_TOP = 100


@pages.get("/attribute", roles=TRIAGE, nav="Leak attribution", nav_order=60)
def attribute_form(
    request: Request, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Response:
    return _page(request, viewer)


@pages.post("/attribute", roles=TRIAGE)
async def attribute_submit(
    request: Request,
    viewer: Annotated[Viewer, Depends(current_viewer)],
    found: Annotated[UploadFile | None, File()] = None,
    pasted: Annotated[str, Form(max_length=5_000_000)] = "",
    found_at: Annotated[str, Form(max_length=40)] = "",
    top: Annotated[str, Form(max_length=10)] = str(DEFAULT_TOP),
) -> Response:
    console = console_of(request)
    form = {"found_at": found_at, "top": top}
    try:
        when = _found_at(found_at)
        shown_after = _top(top)
        name, data = await _the_list(found, pasted, console.service.settings.max_request_bytes)
    except ValueError as exc:
        return _page(request, viewer, status=422, error=str(exc), form=form)
    service = console.service
    try:
        report = await asyncio.to_thread(_attribute, service, name, data, when, shown_after)
    except InsiderwatchError as exc:
        # Our errors name the file, row and field, never a value of the list.
        return _page(request, viewer, status=422, error=str(exc), form=form)
    finally:
        del data
    run_id = f"leak-{uuid.uuid4().hex[:12]}"
    # No record, no result: the audit entry commits before anything is shown.
    await asyncio.to_thread(audit_attribution, console.ops, actor=viewer.name, run_id=run_id,
                            report=report, pseudonym_of=service.pseudonyms.of)  # fmt: skip
    # Each suspect links to their employee page, which is found by pseudonym.
    pages_of = {s.rank: service.pseudonyms.of(s.employee_id) for s in report.suspects}
    shown = _shown(report, names_for(console, viewer))
    return _page(request, viewer, report=shown, run_id=run_id, form=form, pages_of=pages_of)


def _attribute(service, name: str, data: bytes, when: dt.datetime | None, top: int):
    with service.reading() as store:
        return attribute_upload(service.deployment, name, data, found_at=when, top=top,
                                store=store)  # fmt: skip


async def _the_list(found: UploadFile | None, pasted: str, limit: int) -> tuple[str, bytes]:
    """The uploaded file, else the pasted text; at most ``limit`` bytes."""
    if found is not None and found.filename:
        data = await found.read(limit + 1)
        name = found.filename
    elif pasted.strip():
        data, name = pasted.encode(), PASTED_NAME
    else:
        raise ValueError("choose a file or paste the list")
    if len(data) > limit:
        raise ValueError(f"the list is larger than max_request_bytes ({limit} bytes)")
    return name, data


def _top(text: str) -> int:
    if not text.strip().isdigit() or not 0 <= int(text) <= MAX_TOP:
        raise ValueError(f"suspects shown: {text!r} is not a whole number from 0 to {MAX_TOP}")
    return int(text)


def _found_at(text: str) -> dt.datetime | None:
    """The datetime-local field, read as UTC; empty means every access counts."""
    if not text.strip():
        return None
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"found at: {text!r} is not a date and time") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _shown(report: SuspectReport, name_of) -> SuspectReport:
    """The report with every employee id replaced by what the viewer may see, in the
    suspects and in the verdict's sentence."""
    names = {s.employee_id: name_of(s.employee_id) for s in report.suspects}
    verdict = report.verdict
    if verdict is not None and verdict.kind == "employee":
        names.update({e: name_of(e) for e in verdict.sources})
    if verdict is not None:
        verdict = msgspec.structs.replace(
            verdict,
            sources=[names.get(s, s) for s in verdict.sources],
            summary=_replace_ids(verdict.summary, names),
        )
    suspects = [
        msgspec.structs.replace(s, employee_id=names[s.employee_id]) for s in report.suspects
    ]
    return msgspec.structs.replace(report, suspects=suspects, verdict=verdict)


def _replace_ids(text: str, names: dict[str, str]) -> str:
    if not names:
        return text
    pattern = re.compile("|".join(rf"(?<![\w-]){re.escape(e)}(?![\w-])" for e in names))
    return pattern.sub(lambda m: names[m.group(0)], text)


def _page(request: Request, viewer: Viewer, *, status: int = 200, **context) -> Response:
    context.setdefault("form", {"found_at": "", "top": DEFAULT_TOP})
    return render(request, "attribution.html", viewer, status=status, title="Leak attribution",
                  accept=ACCEPT, **context)  # fmt: skip
