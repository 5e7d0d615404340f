"""The response file (``respond.yaml``): sinks, routes, identity targets and playbooks,
validated with pydantic; every problem is reported as ``file:line:field: message``.

Secrets are never written in the file: a sink or target names the environment variable
that holds its secret (``secret_env``, ``token_env``).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from insiderwatch.contract.records import Severity
from insiderwatch.errors import InsiderwatchError
from insiderwatch.respond.sinks.base import SINKS, SinkConfig
from insiderwatch.respond.yamlfile import FileProblems, Lines, load, problem, validate

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(value: Any) -> Any:
    if isinstance(value, str):
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", value)
        if not match:
            raise ValueError("a duration such as 90s, 15m, 4h or 2d")
        return dt.timedelta(seconds=float(match[1]) * _UNITS[match[2]])
    return value


Duration = Annotated[dt.timedelta, BeforeValidator(_duration)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Throttle(_Model):
    """At most ``max_messages`` per employee and detector in ``window``; the rest of a
    storm is folded into one summary message when the window closes."""

    max_messages: int = Field(3, ge=1)
    window: Duration = dt.timedelta(hours=1)


class Route(_Model):
    name: str
    min_severity: Severity = "low"
    detectors: list[str] = Field([], description="Only alerts with one of these; [] = any.")
    sinks: list[str] = Field(min_length=1)
    throttle: Throttle | None = Throttle()
    reveal_staff: bool = Field(False, description="Name staff instead of their pseudonym.")


class Condition(_Model):
    """All given conditions must hold; a list matches any of its values."""

    severities: list[Severity] = []
    min_severity: Severity = "low"
    detectors: list[str] = []
    roles: list[str] = []
    min_score: float = Field(0, ge=0, le=100)


ActionType = Literal["suspend", "revoke_sessions", "notify"]


class ActionSpec(_Model):
    type: ActionType
    sinks: list[str] = Field([], description="For notify: the sinks to tell.")


def _action(value: Any) -> Any:
    return {"type": value} if isinstance(value, str) else value


class Playbook(_Model):
    name: str = Field(min_length=1)
    description: str = ""
    when: Condition = Condition()
    mode: Literal["auto", "approve", "dry-run"] = "approve"
    approvals: int = Field(1, ge=1, le=2, description="Distinct approvers needed (approve).")
    expires_after: Duration = dt.timedelta(hours=4)
    actions: list[Annotated[ActionSpec, BeforeValidator(_action)]] = Field(min_length=1)
    reveal_staff: bool = False


class ScimTarget(_Model):
    url: str
    token_env: str | None = None
    user_filter: str = 'userName eq "{employee_id}"'
    timeout_seconds: float = 10.0


class RevokeTarget(_Model):
    url: str
    secret_env: str | None = None
    timeout_seconds: float = 10.0


class _File(_Model):
    version: Literal[1] = 1
    sinks: dict[str, dict[str, Any]] = {}
    routes: list[Route] = []
    scim: ScimTarget | None = None
    revoke_sessions: RevokeTarget | None = None
    playbooks: list[Playbook] = []

    @model_validator(mode="after")
    def _unique_names(self) -> _File:
        for kind, items in (("route", self.routes), ("playbook", self.playbooks)):
            names = [i.name for i in items]
            if len(names) != len(set(names)):
                raise ValueError(f"two {kind}s share a name")
        return self


class ResponseConfig(_Model):
    """A validated response file; ``sinks`` holds each sink's own validated config."""

    source: str = "<code>"
    sinks: dict[str, SinkConfig] = {}
    routes: list[Route] = []
    scim: ScimTarget | None = None
    revoke_sessions: RevokeTarget | None = None
    playbooks: list[Playbook] = []

    def playbook(self, name: str) -> Playbook:
        for playbook in self.playbooks:
            if playbook.name == name:
                return playbook
        raise InsiderwatchError(f"{self.source}: no playbook named {name!r}")


def _sink_configs(raw: dict[str, Any], file: Path, lines: Lines) -> tuple[dict, list[str]]:
    out, problems = {}, []
    for name, spec in raw.items():
        at = ("sinks", name)
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind not in SINKS.names():
            known = ", ".join(SINKS.names())
            problems.append(
                problem(file, lines, (*at, "type"), f"unknown sink type {kind!r} (known: {known})")
            )
            continue
        config, found = validate(SINKS.get(kind).Config, spec, file, lines, at)
        problems += found
        if config is not None:
            out[name] = config
    return out, problems


def _references(parsed: _File, file: Path, lines: Lines) -> list[str]:
    """Names that must exist elsewhere in the file: sinks of routes and notify actions,
    the identity targets of suspend and revoke actions."""
    problems = []
    for i, route in enumerate(parsed.routes):
        for j, sink in enumerate(route.sinks):
            if sink not in parsed.sinks:
                problems.append(
                    problem(file, lines, ("routes", i, "sinks", j), f"no sink named {sink!r}")
                )
    for i, book in enumerate(parsed.playbooks):
        for j, action in enumerate(book.actions):
            at = ("playbooks", i, "actions", j)
            if action.type == "suspend" and parsed.scim is None:
                problems.append(problem(file, lines, at, "suspend needs a scim: target"))
            if action.type == "revoke_sessions" and parsed.revoke_sessions is None:
                problems.append(
                    problem(file, lines, at, "revoke_sessions needs a revoke_sessions: target")
                )
            if action.type == "notify" and not action.sinks:
                problems.append(problem(file, lines, at, "notify needs sinks"))
            for sink in action.sinks:
                if sink not in parsed.sinks:
                    problems.append(problem(file, lines, at, f"no sink named {sink!r}"))
    return problems


def load_config(path: Path) -> ResponseConfig:
    """The response file at ``path``; raises :class:`FileProblems` listing every problem."""
    data, lines = load(path)
    if not isinstance(data, dict):
        raise FileProblems([problem(path, lines, (), "expected a mapping at the top")])
    parsed, problems = validate(_File, data, path, lines)
    raw_sinks = data.get("sinks")
    configs, found = _sink_configs(raw_sinks if isinstance(raw_sinks, dict) else {}, path, lines)
    problems += found
    if parsed is None:
        raise FileProblems(problems)
    problems += _references(parsed, path, lines)
    if problems:
        raise FileProblems(problems)
    return ResponseConfig(
        source=str(path),
        sinks=configs,
        routes=parsed.routes,
        scim=parsed.scim,
        revoke_sessions=parsed.revoke_sessions,
        playbooks=parsed.playbooks,
    )
