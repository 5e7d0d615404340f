"""Who may reach a console route: the session cookie names a live server-side session,
the viewer's role is one the route allows, and a state-changing request carries the
session's CSRF token (form field or htmx header) from this origin."""

from __future__ import annotations

import hmac
from urllib.parse import quote, urlsplit

from fastapi import Request

from insiderwatch.app.sessions import viewer_of
from insiderwatch.contract.console import Viewer
from insiderwatch.web.console.context import SESSION_COOKIE, console_of

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class LoginRequired(Exception):
    def __init__(self, next_url: str) -> None:
        self.next_url = next_url


class Forbidden(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def login_url(next_url: str) -> str:
    return f"/login?next={quote(next_url, safe='')}"


def session_token(request: Request) -> str | None:
    console = console_of(request)
    return request.cookies.get(console.cookie_name(SESSION_COOKIE))


def find_viewer(request: Request) -> Viewer | None:
    token = session_token(request)
    if not token:
        return None
    console = console_of(request)
    return viewer_of(console.ops, token, console.policy)


def guard(roles: frozenset[str], *, check_csrf: bool):
    """The dependency every console route runs first (see ``registry.Pages``)."""

    async def check(request: Request) -> None:
        if check_csrf:
            await _same_origin(request)
        if not roles:  # public: the login page checks its own form token
            return
        viewer = find_viewer(request)
        if viewer is None:
            raise LoginRequired(_return_to(request))
        if viewer.role not in roles:
            raise Forbidden(f"the {viewer.role} role may not use this page")
        if check_csrf:
            await _csrf(request, viewer)
        request.state.viewer = viewer

    return check


def _return_to(request: Request) -> str:
    """Where to come back after logging in: the page asked for (a form post is not
    replayed: back to the start)."""
    if request.method != "GET":
        return "/"
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def _same_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
        raise Forbidden("the request came from another site")


async def _csrf(request: Request, viewer: Viewer) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()  # Starlette keeps it: the page reads it again
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent, viewer.csrf_token):
        raise Forbidden("the form is missing its CSRF token or it is stale: reload the page")


def current_viewer(request: Request) -> Viewer:
    """The viewer the guard admitted (use as ``Depends(current_viewer)``)."""
    return request.state.viewer
