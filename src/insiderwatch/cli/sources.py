"""Commands about source kinds: list them, check a mapping, the unmapped identities;
and the report of `ingest --source KIND`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from insiderwatch.cli.app import (
    ConfigOption,
    DbOption,
    JsonOption,
    app,
    err,
    fail,
    file_progress,
    out,
    print_json,
    settings_for,
)
from insiderwatch.contract.runs import LogReport
from insiderwatch.errors import InsiderwatchError
from insiderwatch.ingest import check_mapping, unmapped_identities
from insiderwatch.sources.kinds import SOURCES
from insiderwatch.sources.mapping import Mapping, shipped_mappings
from insiderwatch.store import open_store

sources_app = typer.Typer(
    help="Source kinds: the logs insiderwatch can read.", no_args_is_help=True
)
app.add_typer(sources_app, name="sources")


@sources_app.command("list")
def list_sources(as_json: JsonOption = False) -> None:
    """Every source kind that `ingest --source` accepts."""
    rows = [
        {"kind": name, "table": cls.table or "(all)", "description": cls.description}
        for name, cls in SOURCES
    ]
    mappings = [
        {"mapping": name, "table": m.table, "format": m.format, "description": m.description}
        for name, m in ((n, Mapping.load(p)) for n, p in shipped_mappings().items())
    ]
    if as_json:
        print_json({"kinds": rows, "mappings": mappings})
        return
    table = Table(title="Source kinds (ingest --source KIND)")
    for name in ("kind", "table", "description"):
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(row["kind"], row["table"], row["description"])
    out.print(table)
    shipped = Table(title="Shipped mappings (ingest --source mapped --mapping NAME)")
    for name in ("mapping", "table", "format", "description"):
        shipped.add_column(name, overflow="fold")
    for row in mappings:
        shipped.add_row(row["mapping"], row["table"], row["format"], row["description"])
    out.print(shipped)


def log_progress():
    bar, start, advance = file_progress()

    def on_file_start(path: Path, kind: str, size: int) -> None:
        start(path, path.name, size)

    return bar, on_file_start, advance


def print_log_report(report: LogReport) -> None:
    table = Table(title=f"Ingested {report.source} logs in {report.seconds:.1f} s")
    names = ("file", "from line", "read", "loaded", "duplicates", "rejected", "skipped")
    for name in names:
        table.add_column(name, justify="left" if name == "file" else "right")
    for r in report.files:
        skipped = ", ".join(
            f"{k} {v:,}" for k, v in sorted(r.skipped.items(), key=lambda item: -item[1])
        )
        table.add_row(
            escape(Path(r.path).name),
            f"{r.from_line:,}",
            "[red]failed[/]" if r.error else f"{r.rows_read:,}",
            f"{r.loaded:,}",
            f"{r.duplicates:,}",
            f"[yellow]{r.rejected:,}[/]" if r.rejected else "0",
            escape(skipped) or "0",
        )
    out.print(table)
    if report.reasons:
        why = ", ".join(f"{k} {v:,}" for k, v in _most_common(report.reasons))
        err.print(escape(f"rejected by reason (see `insiderwatch rejects`): {why}"))
    if report.unmapped_identities:
        who = ", ".join(f"{k} ({v:,} events)" for k, v in _most_common(report.unmapped_identities))
        err.print(escape(f"identities without a mapping, kept as their own: {who}"))
    for r in report.files:
        if r.restarted:
            err.print(
                f"[yellow]{escape(r.path)}: changed since the last run (rotated, "
                "truncated or replaced): read from the top[/]"
            )
    for r in report.files:
        if r.error:
            err.print(f"[bold red]error:[/] {escape(r.error)}")


def _most_common(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: -item[1])


@sources_app.command("check")
def check(
    mapping: Annotated[Path, typer.Argument(help="Mapping file (YAML).")],
    sample: Annotated[Path, typer.Argument(help="A sample of the log (JSON Lines or CSV).")],
    limit: Annotated[int, typer.Option(min=1, help="Records of the sample to map.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Map the first records of SAMPLE and show them, with every field that could not be
    mapped and what the contract would reject."""
    try:
        report = check_mapping(mapping, sample, limit)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    if as_json:
        print_json(report)
        return
    events = Table(title=f"First {len(report['records'])} mapped records of {sample.name}")
    names = list(report["records"][0]) if report["records"] else []
    for name in names:
        events.add_column(name, overflow="fold")
    for record in report["records"]:
        events.add_row(*(escape(str(record[n])) if record[n] is not None else "" for n in names))
    out.print(events)
    fields = Table(title="Fields")
    for name in ("column", "from", "absent", "values not in the map"):
        fields.add_column(name, overflow="fold")
    for target, info in report["fields"].items():
        absent = info["absent"]
        fields.add_row(
            target,
            escape(info["path"]),
            f"[yellow]{absent}[/]" if absent else "0",
            escape(", ".join(info["unmapped_values"])),
        )
    out.print(fields)
    for line, why, *_ in report["malformed"]:
        err.print(escape(f"{sample}:{line}: {why}"))
    for reason, n in report["problems"].items():
        err.print(escape(f"the contract would reject {n} record(s): {reason}"))


@sources_app.command("identities")
def identities(
    db: DbOption = None, config: ConfigOption = None, as_json: JsonOption = False
) -> None:
    """Log identities kept without a mapping (add them to the identity map)."""
    settings = settings_for(db, config)
    try:
        with open_store(settings, create=False, read_only=True) as store:
            rows = unmapped_identities(store)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    if as_json:
        print_json(rows)
        return
    table = Table(title="Identities without a mapping (setting identity_map)")
    for name in ("identity", "source", "first seen", "events"):
        table.add_column(name, justify="right" if name == "events" else "left")
    for row in rows:
        table.add_row(
            escape(row["identity"]), row["source"], row["first_seen"], f"{row['events']:,}"
        )
    out.print(table)
