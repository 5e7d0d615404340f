"""The start page: where the viewer's work stands, and the pages their role opens."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response

from insiderwatch.contract.console import Viewer
from insiderwatch.web.console.access import current_viewer
from insiderwatch.web.console.registry import EVERYONE, Pages
from insiderwatch.web.console.render import render

pages = Pages(__name__)


@pages.get("/", roles=EVERYONE, nav="Home", nav_order=0)
def home(request: Request, viewer: Annotated[Viewer, Depends(current_viewer)]) -> Response:
    return render(request, "home.html", viewer, title="Home")
