"""``insiderwatch store``: upkeep of the analytics store (compacting event segments)."""

from __future__ import annotations

from typing import Annotated

import typer

from insiderwatch.app.compact import compact
from insiderwatch.cli.app import (
    ConfigOption,
    DbOption,
    JsonOption,
    app,
    deployment_for,
    err,
    fail,
    print_struct,
)
from insiderwatch.errors import InsiderwatchError

store_app = typer.Typer(help="Upkeep of the analytics store.", no_args_is_help=True)
app.add_typer(store_app, name="store")


@store_app.command("compact")
def compact_command(
    min_segments: Annotated[
        int | None,
        typer.Option(
            min=2,
            help="Merge once this many small segments of one size have accumulated "
            "[default: setting compact_min_segments].",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Merge small event segments (one per HTTP request or NATS fetch) into larger ones.

    `insiderwatch serve` does this by itself; run it after `insiderwatch collect` and a
    detection run (only segments detection has read are merged). Stop the server first:
    the store admits one writing process."""
    deployment = deployment_for(db, config)
    try:
        report = compact(deployment, min_segments=min_segments)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    if as_json:
        print_struct(report)
        return
    err.print(
        f"{report.table}: {report.segments_before:,} segments -> {report.segments_after:,} "
        f"({report.merged:,} merged into {report.written:,}, {report.rows:,} events rewritten)"
    )
    if report.waiting:
        err.print(
            f"{report.waiting:,} small segments wait for detection to read them "
            "(`insiderwatch detect`), then merge"
        )
