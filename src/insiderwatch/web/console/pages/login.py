"""Logging in and out. The login form is protected by a double-submit token (there is no
session yet); a refusal never says whether the account exists."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from insiderwatch.app.sessions import log_in, log_out
from insiderwatch.contract.console import Viewer
from insiderwatch.web.console.access import current_viewer, find_viewer, session_token
from insiderwatch.web.console.context import LOGIN_COOKIE, SESSION_COOKIE, console_of
from insiderwatch.web.console.registry import EVERYONE, PUBLIC, Pages
from insiderwatch.web.console.render import render

pages = Pages(__name__)
LOGIN_FORM_SECONDS = 3600


def safe_next(target: str | None) -> str:
    """Only a path on this site (never ``//host`` or a full URL) is followed after login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _login_form(request: Request, *, next_url: str, status: int = 200, message: str = "",
                headers: dict[str, str] | None = None) -> Response:  # fmt: skip
    console = console_of(request)
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", None, status=status, headers=headers,
                      login_token=token, next_url=next_url, message=message)  # fmt: skip
    response.set_cookie(
        console.cookie_name(LOGIN_COOKIE), token, **console.cookie_options(LOGIN_FORM_SECONDS)
    )
    return response


@pages.get("/login", roles=PUBLIC)
def login_page(request: Request, next: str = "/") -> Response:
    if find_viewer(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _login_form(request, next_url=safe_next(next))


@pages.post("/login", roles=PUBLIC)
def login_submit(
    request: Request,
    name: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1024)],
    login_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    console = console_of(request)
    expected = request.cookies.get(console.cookie_name(LOGIN_COOKIE), "")
    next_url = safe_next(next)
    if not expected or not hmac.compare_digest(expected, login_token):
        return _login_form(request, next_url=next_url, status=403,
                           message="The login form expired. Please try again.")  # fmt: skip
    address = request.client.host if request.client else "unknown"
    outcome = log_in(console.ops, name.strip(), password, address, console.policy)
    if outcome.refused == "throttled":
        minutes = round(console.policy.window_minutes)
        return _login_form(
            request, next_url=next_url, status=429,
            headers={"Retry-After": str(minutes * 60)},
            message=f"Too many failed logins for this account or from this address. "
            f"Try again in {minutes} minutes.",
        )  # fmt: skip
    if outcome.token is None:
        return _login_form(request, next_url=next_url, status=401,
                           message="Wrong user name or password.")  # fmt: skip
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        console.cookie_name(SESSION_COOKIE),
        outcome.token,
        **console.cookie_options(int(console.policy.session_hours * 3600)),
    )
    response.delete_cookie(console.cookie_name(LOGIN_COOKIE), path="/")
    return response


@pages.post("/logout", roles=EVERYONE)
def logout(request: Request, _viewer: Annotated[Viewer, Depends(current_viewer)]) -> Response:
    console = console_of(request)
    token = session_token(request)
    if token:
        log_out(console.ops, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(console.cookie_name(SESSION_COOKIE), path="/",
                           secure=console.secure_cookies, httponly=True, samesite="strict")  # fmt: skip
    return response
