"""Containment actions, each one step against an outside system, and its reverse.

Registered in ``response_actions`` (entry points ``insiderwatch.response_actions``). An
action gets the employee id only at the moment it runs; what it returns is recorded as
the action's result, and a failure raises :class:`DeliveryError` with the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from insiderwatch.contract.records import Alert
from insiderwatch.registry import Registry
from insiderwatch.respond.config import ActionSpec, ResponseConfig
from insiderwatch.respond.records import Containment
from insiderwatch.respond.scim import ScimDirectory
from insiderwatch.respond.sinks.base import secret_from_env
from insiderwatch.respond.sinks.webhook import post_json


@dataclass
class ActionContext:
    """What actions reach: the config, the SCIM directory, and a way to notify sinks."""

    config: ResponseConfig
    notify: Callable[[Alert, Containment, list[str]], str]
    scim: ScimDirectory | None = None

    def directory(self) -> ScimDirectory:
        if self.scim is None:
            assert self.config.scim is not None  # the file check requires it
            self.scim = ScimDirectory(self.config.scim)
        return self.scim


class ContainAction:
    name: ClassVar[str]
    description: ClassVar[str]
    disruptive: ClassVar[bool] = True  # cuts someone's access: never auto for machines

    def run(
        self, ctx: ActionContext, action: Containment, spec: ActionSpec, alert: Alert | None
    ) -> str:
        """Do it; ``alert`` is the history line the playbook matched (None when an
        approval runs it later)."""
        raise NotImplementedError

    def reverse(self, ctx: ActionContext, action: Containment) -> str:
        raise NotImplementedError


class Suspend(ContainAction):
    name = "suspend"
    description = "Suspend the identity at the identity provider (SCIM PATCH active=false)."

    def run(
        self, ctx: ActionContext, action: Containment, spec: ActionSpec, alert: Alert | None
    ) -> str:
        return ctx.directory().set_active(action.employee_id, False)

    def reverse(self, ctx: ActionContext, action: Containment) -> str:
        return ctx.directory().set_active(action.employee_id, True)


class RevokeSessions(ContainAction):
    name = "revoke_sessions"
    description = (
        "Ask the company's session service to end the identity's sessions (signed webhook)."
    )

    def _call(self, ctx: ActionContext, action: Containment, what: str) -> str:
        target = ctx.config.revoke_sessions
        assert target is not None  # the file check requires it
        secret = secret_from_env(target.secret_env, "revoke_sessions target")
        body = {
            "action": what,
            "employee_id": action.employee_id,
            "alert_id": action.alert_id,
            "reason": action.reason,
        }
        response = post_json(target.url, body, secret, target.timeout_seconds, "revoke_sessions")
        return f"{what}: HTTP {response.status_code}"

    def run(
        self, ctx: ActionContext, action: Containment, spec: ActionSpec, alert: Alert | None
    ) -> str:
        return self._call(ctx, action, "revoke_sessions")

    def reverse(self, ctx: ActionContext, action: Containment) -> str:
        # Ended sessions cannot come back; the service is told so it may lift any block.
        return self._call(ctx, action, "reinstate")


class Notify(ContainAction):
    name = "notify"
    description = "Tell the given sinks that the playbook fired (at once, in any mode but dry-run)."
    disruptive = False

    def run(
        self, ctx: ActionContext, action: Containment, spec: ActionSpec, alert: Alert | None
    ) -> str:
        if alert is None:  # a retry: the alert line is no longer at hand
            return "nothing sent: notify runs only when the playbook fires"
        return ctx.notify(alert, action, spec.sinks)

    def reverse(self, ctx: ActionContext, action: Containment) -> str:
        return "nothing to reverse"


RESPONSE_ACTIONS: Registry[type[ContainAction]] = Registry("response_actions")
