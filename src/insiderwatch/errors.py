"""One error type for the whole project, carrying where the problem is."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where a problem was found: file, 1-based row (or line) and field, as far as known."""

    file: str | None = None
    row: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts = [self.file or "<input>"]
        if self.row is not None:
            parts.append(str(self.row))
        if self.field:
            parts.append(self.field)
        return ":".join(parts)


class InsiderwatchError(Exception):
    """A problem the user can act on. The message names the place (file:row:field)."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        self.message = message
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class UnreadableFileError(InsiderwatchError):
    """A whole file could not be read (missing, wrong format, missing required columns)."""


class ConfigError(InsiderwatchError):
    """A setting has an invalid value or the configuration file is malformed."""
