"""The Typer application and what every command shares (options, output, errors).

Exit codes: 0 done (rejected rows are reported, not fatal); 1 an error, a file that could
not be read, or ``--strict`` with any row rejected; 2 usage error.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from insiderwatch.app import Deployment, from_settings
from insiderwatch.contract.runs import EvidenceNote
from insiderwatch.errors import InsiderwatchError
from insiderwatch.settings import Settings, load_settings

app = typer.Typer(
    name="insiderwatch",
    help="Watch how the workforce uses customer personal data and catch misuse early.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
# Piped output (CI logs, `| less`) gets 120 columns instead of Rich's 80 so that counts
# in the summary tables are not cut short.
_WIDTH = shutil.get_terminal_size((120, 24)).columns
out = Console(width=_WIDTH)  # tables: stdout
err = Console(stderr=True, width=_WIDTH)  # progress and messages: stderr; stdout stays parseable

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="Store file (default: the `db` setting).", show_default=False),
]
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="TOML settings file.", show_default=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def settings_for(db: Path | None, config: Path | None, **flags) -> Settings:
    try:
        return load_settings({"db": db, **flags}, config_file=config)
    except InsiderwatchError as exc:
        raise fail(exc) from None


def deployment_for(db: Path | None, config: Path | None, **flags) -> Deployment:
    """The deployment from flags > env > config file > defaults; bad settings exit 1."""
    try:
        return from_settings(load_settings({"db": db, **flags}, config_file=config))
    except InsiderwatchError as exc:
        raise fail(exc) from None


# Control characters (ESC starts sequences that move the cursor, rewrite the screen or
# the window title) and bidirectional overrides, in text that comes from logs.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def shown(value: object) -> str:
    """Data as terminal text: unsafe characters written as \\xNN / \\uNNNN, and Rich
    markup escaped, so a value from a log can neither style nor rewrite the terminal."""
    text = "" if value is None else str(value)
    text = _UNSAFE.sub(lambda m: m[0].encode("unicode_escape").decode("ascii"), text)
    return escape(text)


def print_meanings(reasons) -> None:
    """What each explanation reason means, under a table that shows them by name alone:
    ``reasons`` holds (name, sentence) pairs, as the records carry them."""
    for name, meaning in sorted(set(reasons)):
        out.print(f"  {escape(name)}: {escape(meaning)}", highlight=False)


def note_aborted(aborted: list[int]) -> None:
    """Say when opening the store found batches of an earlier, killed run."""
    if aborted:
        ids = ", ".join(str(b) for b in aborted)
        err.print(
            f"[yellow]found {len(aborted)} batch(es) of an interrupted run "
            f"({ids}): marked aborted, their unlisted files removed; nothing of them "
            "was loaded, so ingest them again[/]"
        )


def note_evidence(note: EvidenceNote | None) -> None:
    """What sealing the evidence log after an ingest did."""
    if note is None:
        return
    if note.warning:
        err.print(f"[yellow]warning:[/] {escape(note.warning)}")
    if note.leaves:
        signed = "signed" if note.signed else "not signed yet (no key: `evidence keygen`)"
        err.print(f"evidence log: +{note.leaves:,} events, size {note.tree_size:,}, {signed}")


def print_struct(record) -> None:
    """A contract record as JSON on stdout (datetimes as ISO 8601)."""
    import msgspec

    print_json(msgspec.to_builtins(record))


def print_json(data) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def fail(exc: InsiderwatchError | str) -> typer.Exit:
    """Print the error (it already names file:row:field where known) and exit 1."""
    # Escaped: file and column names may hold brackets that Rich would take for markup.
    err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
    return typer.Exit(1)


def file_progress():
    """A byte progress bar per file read: ``(bar, start(key, label, size), advance(key,
    done))``, on stderr."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TransferSpeedColumn,
    )

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=err,
    )
    tasks: dict[object, int] = {}

    def start(key: object, label: str, size: int) -> None:
        tasks[key] = bar.add_task(escape(label), total=size)

    def advance(key: object, done: int) -> None:
        bar.update(tasks[key], completed=done)

    return bar, start, advance


def parse_when(value: str | None, option: str) -> datetime | None:
    """ISO 8601 time from an option; a naive time is UTC like everywhere else."""
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 time: {value!r}", param_hint=option) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
