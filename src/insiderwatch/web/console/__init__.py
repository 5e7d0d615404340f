"""The investigation console: server-rendered pages (Jinja2 + htmx) served by
``insiderwatch serve`` at ``/``, beside the JSON API under ``/v1``. Pages live one module
each under ``pages/`` (see ``registry``); every one is behind a login, a role check and,
for changes, a CSRF token. Staff appear only as pseudonyms (``identity``)."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from insiderwatch.store.ops import OpsStore
from insiderwatch.web.console.access import Forbidden, LoginRequired, find_viewer, login_url
from insiderwatch.web.console.context import HERE, make_console
from insiderwatch.web.console.registry import discover
from insiderwatch.web.console.render import is_htmx, render
from insiderwatch.web.service import Service

# Scripts and styles only from this origin (htmx's own indicator styles are turned off
# in the layout so no inline style is needed); never framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def mount_console(app: FastAPI, service: Service, ops: OpsStore) -> None:
    console = make_console(service, ops)
    app.state.console = console
    for pages in discover():
        app.include_router(pages.router)
        console.nav.extend(r for r in pages.routes if r.nav and r.method == "GET")
    console.nav.sort(key=lambda r: (r.nav_order, r.nav or ""))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="console-static")

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, exc: LoginRequired) -> Response:
        target = login_url(exc.next_url)
        if is_htmx(request):  # htmx follows this header with a full page load
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> HTMLResponse:
        return render(request, "error.html", find_viewer(request), status=403,
                      title="Not allowed", message=exc.reason)  # fmt: skip

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        if request.url.path.startswith("/v1/"):  # the API answers in its own JSON form
            return await request_validation_exception_handler(request, exc)
        fields = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or 'request'}: {e['msg']}"
            for e in exc.errors()
        )
        return render(request, "error.html", find_viewer(request), status=422,
                      title="Invalid request", message=fields)  # fmt: skip

    @app.middleware("http")
    async def _security_headers(request: Request, call_next):
        response = await call_next(request)
        if not request.url.path.startswith("/v1/"):
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            if response.headers.get("content-type", "").startswith("text/html"):
                # Pages show personal data: never kept by a shared cache or the back button.
                response.headers.setdefault("Cache-Control", "no-store")
        return response
