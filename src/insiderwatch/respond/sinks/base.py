"""A sink: one kind of destination for notices, with its settings as a pydantic model.

Sinks are plug-ins in the ``sinks`` registry (entry points ``insiderwatch.sinks``); the
built-ins are registered there the same way. ``send`` either delivers or raises
:class:`DeliveryError`; retries, backoff and dead letters belong to the deliverer, so a
sink stays a formatter plus one network call.
"""

from __future__ import annotations

import os
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from insiderwatch.errors import ConfigError, InsiderwatchError
from insiderwatch.registry import Registry
from insiderwatch.respond.notice import Notice


class DeliveryError(InsiderwatchError):
    """A notice could not be delivered this time (the deliverer may try again)."""


class SinkConfig(BaseModel):
    """Settings every sink has; each sink extends it with its own."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    tries: int = 5
    backoff_seconds: float = 0.5
    timeout_seconds: float = 5.0


class Sink:
    """Base of every sink. Subclasses set ``kind``, ``description`` and ``Config``."""

    kind: ClassVar[str]
    description: ClassVar[str]
    Config: ClassVar[type[SinkConfig]] = SinkConfig

    def __init__(self, name: str, config: SinkConfig) -> None:
        self.name = name
        self.config = config

    def open(self) -> None:
        """Connect, when the sink keeps a connection (called once before sending)."""

    def send(self, notice: Notice) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release what ``open`` took."""


SINKS: Registry[type[Sink]] = Registry("sinks")


def secret_from_env(variable: str | None, what: str) -> bytes | None:
    """A secret named by an environment variable (never written in the file itself)."""
    if not variable:
        return None
    value = os.environ.get(variable)
    if not value:
        raise ConfigError(f"{what}: environment variable {variable} is not set")
    return value.encode()
