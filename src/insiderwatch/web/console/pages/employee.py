"""The employee page: risk over time, when they work (hour x weekday), explained vs
unexplained access, their peers and their timeline, all under their pseudonym. Opening it
is audited; the name shows only under the viewer's approved unmasking."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from insiderwatch.app.people import employee_page
from insiderwatch.contract.console import Viewer
from insiderwatch.contract.investigate import EmployeeProfile
from insiderwatch.contract.workflow import UNMASK_REQUESTERS
from insiderwatch.web.console.access import current_viewer
from insiderwatch.web.console.context import console_of
from insiderwatch.web.console.registry import TRIAGE, Pages
from insiderwatch.web.console.render import render

pages = Pages(__name__)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
HEAT_LEVELS = 5  # shades of the heat map (0: none)


def _epoch(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp())


def charts(profile: EmployeeProfile) -> dict[str, str]:
    """The uPlot specs of the page (JSON the console's script draws)."""
    risk = {"ylabel": "risk score", "series": [{"label": "score"}],
            "data": [[int(p.at.timestamp()) for p in profile.risk], [p.score for p in profile.risk]]}  # fmt: skip
    days = {"ylabel": "accesses", "series": [{"label": "explained"}, {"label": "unexplained"}],
            "data": [[_epoch(d.day) for d in profile.days], [d.explained for d in profile.days],
                     [d.unexplained for d in profile.days]]}  # fmt: skip
    return {"risk": json.dumps(risk), "days": json.dumps(days)}


def heat_levels(heat: list[list[int]]) -> list[list[int]]:
    """Each cell's shade, relative to the employee's busiest hour."""
    top = max((n for row in heat for n in row), default=0)
    if not top:
        return [[0] * len(row) for row in heat]
    return [[0 if n == 0 else 1 + (HEAT_LEVELS - 2) * n // top for n in row] for row in heat]


@pages.get("/employees/{pseudonym}", roles=TRIAGE)
def employee(
    request: Request, pseudonym: str, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Response:
    console = console_of(request)
    service = console.service
    with service.reading() as store:
        page = employee_page(console.ops, store, service.pseudonyms, viewer.name, pseudonym)
    if page is None:
        return render(request, "error.html", viewer, status=404, title="No such employee",
                      message=f"No member of staff has the pseudonym {pseudonym}.")  # fmt: skip
    profile = page.profile
    return render(
        request,
        "employee.html",
        viewer,
        title=f"Employee {pseudonym}",
        page=page,
        profile=profile,
        charts=charts(profile),
        heat=zip(WEEKDAYS, profile.heat, heat_levels(profile.heat), strict=True),
        may_ask=viewer.role in UNMASK_REQUESTERS and not page.identity.unmasked,
    )
