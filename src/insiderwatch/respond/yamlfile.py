"""Read a YAML file keeping the line of every value, so a validation error names
``file:line:field`` instead of a path into nested lists."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from insiderwatch.errors import ConfigError

Lines = dict[tuple[Any, ...], int]
M = TypeVar("M", bound=BaseModel)


class FileProblems(ConfigError):
    """Every problem of a configuration file, one ``file:line:field: message`` each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def _plain(node: yaml.Node, path: tuple[Any, ...], lines: Lines) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = yaml.safe_load(yaml.serialize(key_node))
            out[key] = _plain(value_node, (*path, key), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_plain(v, (*path, i), lines) for i, v in enumerate(node.value)]
    return yaml.safe_load(yaml.serialize(node))


def load(path: Path) -> tuple[Any, Lines]:
    """The file's data and the line of each value (by its path of keys and indexes)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    lines: Lines = {}
    return ({} if node is None else _plain(node, (), lines)), lines


def line_of(lines: Lines, path: tuple[Any, ...]) -> int:
    """The line of ``path``, or of its nearest parent that has one (a missing field)."""
    while path and path not in lines:
        path = path[:-1]
    return lines.get(path, 1)


def problem(file: Path, lines: Lines, path: tuple[Any, ...], message: str) -> str:
    field = ".".join(str(p) for p in path) or "(top)"
    return f"{file}:{line_of(lines, path)}:{field}: {message}"


def validate(
    model: type[M], data: Any, file: Path, lines: Lines, at: tuple[Any, ...] = ()
) -> tuple[M | None, list[str]]:
    """``model`` from ``data`` (found at ``at`` in the file), or the problems located."""
    try:
        return model.model_validate(data), []
    except ValidationError as exc:
        return None, [problem(file, lines, (*at, *err["loc"]), err["msg"]) for err in exc.errors()]
