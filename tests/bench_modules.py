"""Modules of benchmarks/ for the tests that check them: the folder is on ``sys.path`` only
while one is imported, so their plain names (``holdout``, ``reliability``) stay out of the
way of every other test's imports."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def bench_module(name: str) -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCHMARKS))
