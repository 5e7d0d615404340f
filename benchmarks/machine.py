"""Describe the machine a benchmark ran on, so figures are never quoted without it."""

from __future__ import annotations

import os
import platform
from importlib.metadata import version


def describe() -> str:
    cpu = platform.processor() or "unknown cpu"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = "unknown"
    try:
        with open("/proc/meminfo") as fh:
            kib = int(fh.readline().split()[1])
            memory = f"{kib / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    libs = ", ".join(f"{n} {version(n)}" for n in ("duckdb", "pyarrow", "ibis-framework", "numpy"))
    return (
        f"{platform.system()} {platform.machine()}, {cpu}, {os.cpu_count()} cores, {memory} RAM, "
        f"Python {platform.python_version()}; {libs}"
    )
