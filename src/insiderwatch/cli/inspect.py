"""Commands that look into the store: stats, timeline."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from insiderwatch.app import timeline as employee_timeline
from insiderwatch.cli.app import (
    ConfigOption,
    DbOption,
    JsonOption,
    app,
    deployment_for,
    err,
    fail,
    out,
    parse_when,
    print_json,
    print_meanings,
    settings_for,
    shown,
)
from insiderwatch.errors import InsiderwatchError
from insiderwatch.store import open_store
from insiderwatch.store.stats import sparkline, store_stats


@app.command()
def stats(db: DbOption = None, config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Rows per table, the events' time span and events per day."""
    settings = settings_for(db, config)
    try:
        with open_store(settings, create=False, read_only=True) as store:
            result = store_stats(store)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    if as_json:
        print_json(result.as_dict())
        return
    table = Table(title=f"Store {settings.db}")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in result.tables.items():
        table.add_row(name, f"{n:,}")
    table.add_row("dead letters (open)", f"{result.dead_letters_open:,}")
    table.add_row("dead letters (resolved)", f"{result.dead_letters_resolved:,}")
    table.add_row("ingest batches", f"{result.batches:,}")
    table.add_row(
        "event segments", f"{result.segments:,} ({result.segment_bytes / 2**20:,.1f} MiB)"
    )
    out.print(table)
    if result.first_event:
        days = result.events_per_day
        out.print(
            f"events from {result.first_event:%Y-%m-%d %H:%M} to {result.last_event:%Y-%m-%d %H:%M} UTC"
        )
        out.print(
            f"events/day {days[0][0]:%m-%d} {sparkline([n for _, n in days])} {days[-1][0]:%m-%d}"
            f"  (min {min(n for _, n in days):,}, max {max(n for _, n in days):,})"
        )


@app.command()
def timeline(
    employee_id: Annotated[str, typer.Argument(help="Whose accesses to show.")],
    since: Annotated[str | None, typer.Option(help="From this time (ISO 8601).")] = None,
    until: Annotated[str | None, typer.Option(help="Up to this time (ISO 8601).")] = None,
    limit: Annotated[int, typer.Option(help="At most this many events (0 = all).")] = 200,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """An employee's accesses in time order, with the cases open for those customers."""
    deployment = deployment_for(db, config)
    start, end = parse_when(since, "--since"), parse_when(until, "--until")
    try:
        found = employee_timeline(
            deployment, employee_id, since=start, until=end, limit=limit or None
        )
    except InsiderwatchError as exc:
        raise fail(exc) from None
    entries, others = found.entries, found.other_names
    if others:
        err.print(
            f"no events for {shown(employee_id)}, but they may be kept under "
            f"{shown(', '.join(others))} (a log identity without a mapping keeps its "
            f"source prefix): try `insiderwatch timeline {shown(others[0])}`"
        )
    if as_json:
        print_json([e.as_dict() for e in entries])
        return
    table = Table(title=f"Timeline of {shown(employee_id)} ({len(entries)} events)")
    for name in (
        "time (UTC)",
        "action",
        "customers",
        "fields",
        "rows",
        "app",
        "case",
        "open cases",
        "where to",
        "why",
    ):
        table.add_column(name, overflow="fold")
    for e in entries:
        listed = ", ".join(e.customer_ids[:3]) + (
            f" +{len(e.customer_ids) - 3}" if len(e.customer_ids) > 3 else ""
        )
        covered = (
            shown(", ".join(e.open_cases))
            if e.open_cases
            else ("[yellow]none[/]" if e.customer_ids else "")
        )
        table.add_row(
            f"{e.time:%Y-%m-%d %H:%M:%S}",
            shown(e.action),
            shown(listed),
            shown(",".join(e.fields)),
            "?" if e.record_count is None else str(e.record_count),
            shown(e.app),
            shown(e.case_id),
            covered,
            shown(e.destination),
            shown(e.explanation) if e.explanation else "[yellow]nothing[/]",
        )
    out.print(table)
    print_meanings((e.explanation, e.explanation_meaning) for e in entries if e.explanation)
