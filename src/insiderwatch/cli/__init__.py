"""The ``insiderwatch`` command line: thin wrappers over library functions."""

from insiderwatch.cli import (  # noqa: F401  (registers the commands)
    attribute,
    breach,
    canary,
    collect,
    data,
    detect,
    evidence,
    export,
    inspect,
    meta,
    ops,
    outside,
    respond,
    serve,
    sources,
    store,
    unmask,
)
from insiderwatch.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
