"""The console's page registry: each module under ``web/console/pages/`` declares its
routes with the roles allowed on each, and the console mounts every one of them behind
the same guard (session, role, CSRF). Adding a page is adding a module; the role matrix
in docs/console.md and the per-role tests are read from here.

Outside packages add pages the same way, through the ``insiderwatch.console_pages`` entry
point group (each entry point names a :class:`Pages` object).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import entry_points

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse

from insiderwatch.contract.workflow import ROLES
from insiderwatch.web.console import access

EVERYONE = frozenset(ROLES)
# Who works the alert queue and the cases (pseudonymised: no unmasking in these roles).
TRIAGE = frozenset({"admin", "analyst", "investigator"})
# Who may approve or reject a containment action, and apply a suppression learned from a
# dismissal: decisions with effects outside the console.
DECIDERS = frozenset({"admin", "investigator"})
# Who sees a case's breach scope (which customers' data went out) and downloads it for
# the notices: the people who confirm a case and act on it, not those who work the queue.
BREACH = frozenset({"admin", "investigator"})
PUBLIC: frozenset[str] = frozenset()  # the login page: no session needed

ENTRY_POINT_GROUP = "insiderwatch.console_pages"


@dataclass(frozen=True)
class PageRoute:
    """One console route as the role matrix lists it."""

    path: str
    method: str
    roles: frozenset[str]
    name: str
    nav: str | None = None  # label in the navigation bar (GET pages only)
    nav_order: int = 100

    @property
    def public(self) -> bool:
        return not self.roles


@dataclass
class Pages:
    """The routes of one page module. ``@pages.get(path, roles=...)`` and
    ``@pages.post(...)`` register a handler; nothing reaches it unless the viewer's role
    is in ``roles`` (and, for POST, the request carries the session's CSRF token)."""

    module: str
    router: APIRouter = field(default_factory=APIRouter)
    routes: list[PageRoute] = field(default_factory=list)

    def get(
        self, path: str, *, roles: frozenset[str], nav: str | None = None, nav_order: int = 100
    ):
        return self._route("GET", path, roles, nav, nav_order)

    def post(self, path: str, *, roles: frozenset[str]):
        return self._route("POST", path, roles, None, 100)

    def _route(self, method: str, path: str, roles, nav, nav_order) -> Callable:
        unknown = set(roles) - EVERYONE
        if unknown:
            raise ValueError(f"{self.module} {method} {path}: unknown roles {sorted(unknown)}")

        def decorate(handler: Callable) -> Callable:
            guard = access.guard(frozenset(roles), check_csrf=method != "GET")
            self.router.add_api_route(
                path,
                handler,
                methods=[method],
                dependencies=[Depends(guard)],
                response_class=HTMLResponse,
                include_in_schema=False,
                name=handler.__name__,
            )
            self.routes.append(
                PageRoute(path, method, frozenset(roles), handler.__name__, nav, nav_order)
            )
            return handler

        return decorate


def discover() -> Iterator[Pages]:
    """Every page module of the console, then those of installed plug-ins."""
    from insiderwatch.web.console import pages as package

    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        yield module.pages
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        yield ep.load()


def all_routes() -> list[PageRoute]:
    return [route for pages in discover() for route in pages.routes]
