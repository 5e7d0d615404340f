"""The simulator stays out of the runtime: nothing in ``insiderwatch`` imports
``insiderwatch_sim``, except the ``simulate`` command, lazily, inside its own function."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import insiderwatch

PACKAGE = Path(insiderwatch.__file__).parent
SIM = "insiderwatch_sim"
# (module path relative to the package, enclosing function): the only allowed import sites.
ALLOWED = {("cli/data.py", "simulate")}


def _imported_modules(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        return [node.module]
    if (  # importlib.import_module("insiderwatch_sim...") or __import__(...)
        isinstance(node, ast.Call)
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
        and getattr(node.func, "attr", getattr(node.func, "id", ""))
        in ("import_module", "__import__")
    ):
        return [node.args[0].value]
    return []


def sim_imports(tree: ast.AST) -> list[tuple[int, str | None]]:
    """(line, enclosing function or None) of every import of the simulator in ``tree``."""
    found: list[tuple[int, str | None]] = []

    def walk(node: ast.AST, function: str | None) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        for name in _imported_modules(node):
            if name == SIM or name.startswith(SIM + "."):
                found.append((node.lineno, function))  # type: ignore[attr-defined]
        for child in ast.iter_child_nodes(node):
            walk(child, function)

    walk(tree, None)
    return found


def test_the_checker_finds_every_kind_of_import() -> None:
    source = (
        "import insiderwatch_sim\n"
        "from insiderwatch_sim.vocab import APPS\n"
        "def simulate():\n    from insiderwatch_sim import simulate\n"
        "import importlib\nimportlib.import_module('insiderwatch_sim.core')\n"
        "import insiderwatch_simulator_other\n"
    )
    assert sim_imports(ast.parse(source)) == [(1, None), (2, None), (4, "simulate"), (6, None)]


def test_no_runtime_module_imports_the_simulator() -> None:
    offending = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        for line, function in sim_imports(ast.parse(path.read_text(), str(path))):
            if (relative, function) not in ALLOWED:
                offending.append(f"insiderwatch/{relative}:{line} (in {function or 'module'})")
    assert offending == [], "the runtime imports the simulator: " + ", ".join(offending)


def test_the_allowed_import_site_exists() -> None:
    # If the simulate command moved, ALLOWED must follow it rather than silently allow nothing.
    for relative, function in ALLOWED:
        tree = ast.parse((PACKAGE / relative).read_text())
        assert function in {f for _, f in sim_imports(tree)}, f"{relative}:{function}"


@pytest.mark.parametrize(
    "module",
    ["insiderwatch.cli", "insiderwatch.detect", "insiderwatch.investigate", "insiderwatch.canary.plan",
     "insiderwatch.ingest", "insiderwatch.app", "insiderwatch.store"],
)  # fmt: skip
def test_importing_the_runtime_does_not_load_the_simulator(module: str) -> None:
    code = f"import sys, {module}; print({SIM!r} in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
