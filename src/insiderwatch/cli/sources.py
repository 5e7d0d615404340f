"""Commands about source kinds: list them, check a mapping, ingest logs through one."""

from __future__ import annotations

import time
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
    note_aborted,
    out,
    print_json,
    settings_for,
)
from insiderwatch.cli.evidence import seal_after_ingest
from insiderwatch.errors import InsiderwatchError
from insiderwatch.ingest_sources import (
    SourceReport,
    check_mapping,
    ingest_logs,
    log_files,
    source_options,
    unmapped_identities,
)
from insiderwatch.privacy import load_or_create_key
from insiderwatch.settings import Settings
from insiderwatch.sources.kinds import SOURCES, source_for
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


def _progress():
    bar, start, advance = file_progress()

    def on_file_start(path: Path) -> None:
        start(path, path.name, path.stat().st_size)

    def progress(path: Path, done: int) -> None:
        advance(path, done)

    return bar, on_file_start, progress


def _print_report(report: SourceReport, seconds: float) -> None:
    table = Table(title=f"Ingested {report.kind} logs in {seconds:.1f} s")
    names = ("file", "from line", "read", "loaded", "duplicates", "rejected", "skipped")
    for name in names:
        table.add_column(name, justify="left" if name == "file" else "right")
    for r in report.files:
        c = r.counts
        skipped = ", ".join(f"{k} {v:,}" for k, v in r.skipped.most_common())
        table.add_row(
            escape(r.path.name),
            f"{r.start_line + 1:,}",
            "[red]failed[/]" if r.error else f"{c.rows_read:,}",
            f"{c.loaded:,}",
            f"{c.duplicates:,}",
            f"[yellow]{c.rejected:,}[/]" if c.rejected else "0",
            escape(skipped) or "0",
        )
    out.print(table)
    if report.totals.reasons:
        why = ", ".join(f"{k} {v:,}" for k, v in report.totals.reasons.most_common())
        err.print(escape(f"rejected by reason (see `insiderwatch rejects`): {why}"))
    if report.unmapped:
        who = ", ".join(f"{k} ({v:,} events)" for k, v in report.unmapped.most_common())
        err.print(escape(f"identities without a mapping, kept as their own: {who}"))
    for r in report.files:
        if r.restarted:
            err.print(
                f"[yellow]{escape(str(r.path))}: changed since the last run (rotated, "
                "truncated or replaced): read from the top[/]"
            )
    for r in report.errors:
        err.print(f"[bold red]error:[/] {escape(r.error or '')}")


def ingest_with_source(
    settings: Settings,
    kind: str,
    paths: list[Path],
    *,
    mapping: Path | None,
    from_start: bool,
    strict: bool,
    as_json: bool,
) -> None:
    """``ingest --source KIND``: the command body for every kind but ``dataset``."""
    began = time.perf_counter()
    try:
        options = source_options(settings, mapping)
        # Checked before the store is opened, so a mistake leaves no empty store behind.
        source_for(kind, options)
        log_files(paths)
        key = load_or_create_key(settings.secret_path, settings.hash_key)
        with open_store(settings) as store:
            note_aborted(store)
            bar, on_file_start, progress = _progress()
            with bar:
                report = ingest_logs(
                    store,
                    kind,
                    paths,
                    key,
                    options,
                    phone_region=settings.phone_region,
                    from_start=from_start,
                    progress=progress,
                    on_file_start=on_file_start,
                )
            seal_after_ingest(store, settings)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    seconds = time.perf_counter() - began
    totals = report.totals
    if as_json:
        print_json(
            {
                "source": kind,
                "seconds": seconds,
                "totals": totals.as_dict(),
                "reasons": dict(totals.reasons),
                "unmapped_identities": dict(report.unmapped),
                "files": [
                    {
                        "path": str(r.path),
                        "table": r.table,
                        "from_line": r.start_line + 1,
                        "restarted": r.restarted,
                        "batch_id": r.batch_id,
                        "error": r.error,
                        "skipped": dict(r.skipped),
                        **r.counts.as_dict(),
                    }
                    for r in report.files
                ],
            }
        )
    else:
        _print_report(report, seconds)
    if report.errors or (strict and totals.rejected):
        raise typer.Exit(1)


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
