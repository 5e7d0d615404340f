"""Commands about insiderwatch itself: contract, settings, plugins."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from insiderwatch.cli.app import (
    ConfigOption,
    DbOption,
    JsonOption,
    app,
    err,
    out,
    print_json,
    settings_for,
)
from insiderwatch.contract.jsonschema import contract_schemas, write_schemas
from insiderwatch.report.customers import CUSTOMER_SYSTEMS
from insiderwatch.respond.actions import RESPONSE_ACTIONS
from insiderwatch.respond.sinks.base import SINKS
from insiderwatch.settings import SETTINGS
from insiderwatch.sources.kinds import SOURCES
from insiderwatch.sources.readers import READERS

# Every registry of plug-ins, by kind; later stages add theirs here.
PLUGIN_REGISTRIES = (READERS, SOURCES, CUSTOMER_SYSTEMS, SINKS, RESPONSE_ACTIONS)


@app.command()
def contract(
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Write one <table>.schema.json per record here.")
    ] = None,
) -> None:
    """Export the interchange contract as JSON Schema (for producers in other languages)."""
    if out_dir is None:
        print_json(contract_schemas())
        return
    for path in write_schemas(out_dir):
        err.print(f"wrote {path}")


@app.command()
def settings(db: DbOption = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Every setting with its value and where the value came from."""
    resolved = settings_for(db, config)
    rows = [
        {
            "name": s.name,
            "value": "***" if s.secret and resolved[s.name] else resolved[s.name],
            "source": resolved.source(s.name),
            "env": s.env_var,
            "help": s.help,
        }
        for s in SETTINGS
    ]
    if as_json:
        print_json(rows)
        return
    table = Table(title="Settings (flag > env > file > default)")
    for name in ("name", "value", "source", "env", "help"):
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(
            *(
                str(row[k]) if row[k] is not None else ""
                for k in ("name", "value", "source", "env", "help")
            )
        )
    out.print(table)


@app.command()
def plugins(as_json: JsonOption = False) -> None:
    """Loaded plug-ins of every kind, built-in and third-party alike."""
    rows = []
    for registry in PLUGIN_REGISTRIES:
        for name, _item in registry:
            rows.append({"kind": registry.kind, "name": name, "origin": registry.origin(name)})
    if as_json:
        print_json(rows)
        return
    table = Table(title="Plug-ins")
    for name in ("kind", "name", "origin"):
        table.add_column(name)
    for row in rows:
        table.add_row(row["kind"], row["name"], row["origin"])
    out.print(table)
