"""Typed records of the investigation console's access control: who is logged in, with
which role, and what a login attempt came to."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from insiderwatch.contract.workflow import Role

UtcTime = Annotated[dt.datetime, msgspec.Meta(tz=True)]


class Viewer(msgspec.Struct, kw_only=True, frozen=True):
    """A logged-in console user, as every page sees them: name, role, and the session's
    CSRF token that each state-changing request must echo."""

    name: str
    role: Role
    csrf_token: str
    expires_at: UtcTime


LoginRefusal = Literal["invalid", "throttled"]


class LoginOutcome(msgspec.Struct, kw_only=True, frozen=True):
    """A login attempt: the session token (shown to the browser once, stored only as a
    hash) and the viewer, or why it was refused. ``invalid`` and ``throttled`` never say
    whether the account exists."""

    token: str | None = None
    viewer: Viewer | None = None
    refused: LoginRefusal | None = None


class LoginPolicy(msgspec.Struct, kw_only=True, frozen=True):
    """How long sessions last and how many failed logins are allowed (from the settings)."""

    session_hours: float = 8.0
    idle_minutes: float = 30.0
    per_account: int = 5
    per_address: int = 20
    window_minutes: float = 15.0
