"""What every console page is handed: the running service, the operational store, the
login policy, and the templates."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import Request
from fastapi.templating import Jinja2Templates

from insiderwatch.contract.console import LoginPolicy
from insiderwatch.settings import Settings
from insiderwatch.store.ops import OpsStore
from insiderwatch.web.service import Service

if TYPE_CHECKING:
    from insiderwatch.web.console.registry import PageRoute

HERE = Path(__file__).parent
SESSION_COOKIE = "iw_session"
LOGIN_COOKIE = "iw_login"  # the login form's CSRF token (double submit: no session yet)


@dataclass
class Console:
    service: Service
    ops: OpsStore
    policy: LoginPolicy
    secure_cookies: bool
    templates: Jinja2Templates
    nav: list[PageRoute] = field(default_factory=list)  # filled when the pages are mounted

    def cookie_name(self, base: str) -> str:
        # __Host- cookies are refused unless Secure, for this host only, with Path=/.
        return f"__Host-{base}" if self.secure_cookies else base

    def cookie_options(self, max_age: int | None = None) -> dict:
        return {
            "httponly": True,
            "secure": self.secure_cookies,
            "samesite": "strict",
            "path": "/",
            "max_age": max_age,
        }


def policy_from(settings: Settings) -> LoginPolicy:
    return LoginPolicy(
        session_hours=settings.console_session_hours,
        idle_minutes=settings.console_idle_minutes,
        per_account=settings.console_login_attempts,
        per_address=settings.console_address_attempts,
        window_minutes=settings.console_lockout_minutes,
    )


def make_console(service: Service, ops: OpsStore) -> Console:
    settings = service.settings
    return Console(
        service=service,
        ops=ops,
        policy=policy_from(settings),
        secure_cookies=bool(settings.console_secure_cookies),
        templates=Jinja2Templates(directory=HERE / "templates"),
    )


def console_of(request: Request) -> Console:
    return request.app.state.console
