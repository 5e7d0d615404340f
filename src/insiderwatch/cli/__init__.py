"""The ``insiderwatch`` command line: thin wrappers over library functions."""

from insiderwatch.cli import attribute, canary, data, inspect, meta, sources  # noqa: F401  (registers the commands)
from insiderwatch.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
