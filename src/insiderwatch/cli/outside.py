"""The outside commands: lists of customers held outside the staff, for attribution."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from insiderwatch.app.keys import existing_key
from insiderwatch.cli.app import (
    ConfigOption,
    DbOption,
    JsonOption,
    app,
    err,
    fail,
    out,
    parse_when,
    print_json,
    settings_for,
)
from insiderwatch.errors import InsiderwatchError
from insiderwatch.investigate.outside_lists import LIST_KINDS, ImportedList, import_list
from insiderwatch.investigate.outside_lists import imported_lists as stored_lists
from insiderwatch.store import open_store

outside_app = typer.Typer(
    help="Lists of customers held outside the staff (earlier breaches, public by choice, "
    "partners), weighed beside the staff when a leak is attributed.",
    no_args_is_help=True,
)
app.add_typer(outside_app, name="outside")


@outside_app.command("import")
def import_(
    list_file: Annotated[Path, typer.Argument(help="CSV or JSON Lines of emails/phones.")],
    name: Annotated[str, typer.Option(help="Name shown in reports; re-importing replaces it.")],
    kind: Annotated[str, typer.Option(help=f"One of: {', '.join(LIST_KINDS)}.")] = "breach",
    known_since: Annotated[
        str | None,
        typer.Option(
            help="When the list first circulated (ISO 8601); leaks found earlier "
            "cannot come from it."
        ),  # fmt: skip
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import a list (e.g. an earlier public breach) as an outside source.

    The file is read like a leak: the same cleaning, normalisation and keyed hashing.
    Only the hashes are kept, never a raw value.
    """
    settings = settings_for(db, config)
    since = parse_when(known_since, "--known-since")
    try:
        with open_store(settings, create=False) as store:
            key = existing_key(settings, store)
            done = import_list(store, key, list_file, name=name, kind=kind, known_since=since,
                               phone_region=settings.phone_region)  # fmt: skip
    except InsiderwatchError as exc:
        raise fail(exc) from None
    if as_json:
        print_json(vars(done))
        return
    err.print(
        escape(
            f"{done.name} ({done.kind}): {done.rows_read:,} rows read, {done.rows_kept:,} kept "
            f"as hashes, {done.junk:,} junk, {done.duplicates:,} duplicates; matches "
            f"{done.customers:,} customers"
        ),
        highlight=False,
    )


@outside_app.command("list")
def list_(db: DbOption = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """The imported outside lists and how many customers each holds."""
    settings = settings_for(db, config)
    try:
        with open_store(settings, create=False, read_only=True) as store:
            lists = stored_lists(store)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    if as_json:
        print_json([vars(i) for i in lists])
        return
    _print_lists(lists)


def _print_lists(lists: list[ImportedList]) -> None:
    table = Table(title="Imported outside lists")
    for column in ("name", "kind", "file", "known since", "rows", "kept", "customers"):
        table.add_column(
            column, justify="right" if column in ("rows", "kept", "customers") else "left"
        )
    for i in lists:
        since = f"{i.known_since:%Y-%m-%d}" if i.known_since else ""
        table.add_row(escape(i.name), i.kind, escape(i.file), since, f"{i.rows_read:,}",
                      f"{i.rows_kept:,}", f"{i.customers:,}")  # fmt: skip
    out.print(table)
