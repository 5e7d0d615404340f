"""Rendering a console page: the template with the viewer, the navigation their role
may use, and the CSRF token every form and htmx request sends back."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from insiderwatch.contract.console import Viewer
from insiderwatch.web.console.context import console_of


def render(
    request: Request,
    template: str,
    viewer: Viewer | None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    console = console_of(request)
    nav = [r for r in console.nav if viewer is not None and viewer.role in r.roles]
    return console.templates.TemplateResponse(
        request,
        template,
        {
            "viewer": viewer,
            "nav": nav,
            "csrf_token": viewer.csrf_token if viewer else "",
            "path": request.url.path,
            **context,
        },
        status_code=status,
        headers=headers,
    )


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"
