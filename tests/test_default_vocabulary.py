"""No shipped default may know the simulator's world.

Our simulator is not the world: a default that names one simulated company's role, team,
app or destination works on that company and nowhere else. Every profile's vocabulary is
checked against every default the runtime ships: the detection configuration, the
settings, the shipped rules and log mappings, and the literals of the detection SQL
(explanations and detectors).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

import insiderwatch
from insiderwatch.detect import DetectionConfig
from insiderwatch.settings import SETTINGS
from insiderwatch_sim import PROFILES

PACKAGE = Path(insiderwatch.__file__).parent
VOCABULARY = sorted(set().union(*(p.vocabulary() for _, p in PROFILES)))


def strings(value: Any) -> Iterator[str]:
    """Every string in a nested structure, dictionary keys included; a struct's field
    names are the configuration's own words (``risk``), not a company's."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            yield from strings(getattr(value, name))
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(k)
            yield from strings(v)
    elif isinstance(value, list | tuple | set):
        for v in value:
            yield from strings(v)


def simulator_names_in(text: str) -> list[str]:
    """The simulator names a default string names: itself (a destination without its
    ``cloud:``/``external:`` kind), or, for a ``*`` pattern, any name it would match."""
    bare = text.split(":", 1)[1] if re.match(r"^(cloud|external):", text) else text
    if "*" in bare:
        stem = bare.split("*", 1)[0].rstrip("-_.")
        return [v for v in VOCABULARY if stem and v.startswith(stem)]
    return [v for v in VOCABULARY if v == bare]


def sql_literals(path: Path) -> Iterator[str]:
    """Quoted literals inside the string constants of a module (its SQL), docstrings and
    comments aside: they describe, they do not decide."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in docstrings
        ):
            sql = re.sub(r"--[^\n]*", "", node.value)
            yield from re.findall(r"'([^'\n]*)'", sql)
            yield node.value.strip()


def shipped_defaults() -> dict[str, list[str]]:
    out = {
        "detect/config.py DetectionConfig()": list(strings(DetectionConfig())),
        "settings.py SETTINGS": [s for setting in SETTINGS for s in strings(setting.default)],
    }
    for folder, pattern in (("detect/rules", "*.yml"), ("sources/mappings", "*.yaml")):
        for path in sorted((PACKAGE / folder).glob(pattern)):
            out[f"{folder}/{path.name}"] = list(strings(yaml.safe_load(path.read_text())))
    for path in sorted(
        [*(PACKAGE / "detect").glob("*.py"), *(PACKAGE / "detect/detectors").glob("*.py")]
    ):
        out[path.relative_to(PACKAGE).as_posix()] = list(sql_literals(path))
    return out


DEFAULTS = shipped_defaults()


def test_the_check_sees_names_patterns_and_destinations() -> None:
    classic = PROFILES.get("classic")
    assert simulator_names_in(classic.apps["warehouse-sql"]) == [classic.apps["warehouse-sql"]]
    assert simulator_names_in(classic.destinations["cloud:company-warehouse"])
    assert simulator_names_in("cloud:company-*") and simulator_names_in("fraud-*")
    assert not simulator_names_in("personal_email") and not simulator_names_in("view")


def test_sql_literals_skip_docstrings_and_comments(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        '"""Mentions \'crm\' in prose."""\n'
        "SQL = \"SELECT * FROM t WHERE app = 'crm-search' -- not 'okta'\"\n"
    )
    found = list(sql_literals(module))
    assert "crm-search" in found and "crm" not in found and "okta" not in found


@pytest.mark.parametrize("source", list(DEFAULTS))
def test_no_default_names_a_simulated_company(source: str) -> None:
    hits = {text: names for text in DEFAULTS[source] if (names := simulator_names_in(text))}
    assert not hits, f"{source} names simulated companies' vocabulary: {hits}"
