"""Commands that make or load data: simulate, ingest, rejects."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
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
    shown,
)
from insiderwatch.cli.evidence import seal_after_ingest
from insiderwatch.errors import InsiderwatchError
from insiderwatch.ingest import IngestReport, ingest_dataset
from insiderwatch.privacy import load_or_create_key
from insiderwatch.sources import DatasetFile
from insiderwatch.store import open_store
from insiderwatch.store.rejects import export_letters, list_letters, reason_counts, replay


@app.command()
def simulate(
    out_dir: Annotated[Path, typer.Option("--out", help="Dataset folder to write.")],
    employees: Annotated[int, typer.Option(min=10, help="Workforce size.")] = 2000,
    days: Annotated[int, typer.Option(min=1, help="Days of activity.")] = 30,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same company.")] = 7,
    start: Annotated[str, typer.Option(help="First day (YYYY-MM-DD, UTC).")] = "2026-09-01",
    customers: Annotated[
        int | None, typer.Option(help="Customer accounts [default: 100 per employee].")
    ] = None,
    insider_rate: Annotated[float, typer.Option(min=0, max=0.5, help="Share of insiders.")] = 0.01,
    profile: Annotated[
        str, typer.Option(help="Kind of company: classic, us-marketplace, eu-telco ... (see docs).")
    ] = "classic",
    bad_rows: Annotated[
        float, typer.Option(min=0, max=0.5, help="Share of extra broken rows, to exercise ingest.")
    ] = 0.0,
    fmt: Annotated[
        str, typer.Option("--format", help="parquet, csv, jsonl or jsonl.gz.")
    ] = "parquet",
    truth: Annotated[
        Path | None, typer.Option(help="Ground truth JSON, kept outside the dataset.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Simulate a believable company (staff, customers, cases, accesses, insiders)."""
    from insiderwatch_sim import SimulationConfig, write_dataset, write_truth
    from insiderwatch_sim import simulate as run_simulation

    if fmt not in {"parquet", "csv", "jsonl", "jsonl.gz"}:
        raise typer.BadParameter("choose parquet, csv, jsonl or jsonl.gz", param_hint="--format")
    try:
        first_day = date.fromisoformat(start)
    except ValueError:
        raise typer.BadParameter(f"not a date: {start!r}", param_hint="--start") from None
    if truth is not None and truth.resolve().is_relative_to(out_dir.resolve()):
        raise typer.BadParameter("keep the ground truth outside the dataset", param_hint="--truth")
    try:
        config = SimulationConfig(
            employees=employees,
            days=days,
            seed=seed,
            start=first_day,
            customers=customers,
            insider_rate=insider_rate,
            bad_row_rate=bad_rows,
            profile=profile,
        )
    except ValueError as exc:  # out-of-range sizes, an unknown profile
        raise typer.BadParameter(str(exc)) from None
    began = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err
    ) as bar:
        task = bar.add_task("simulating", total=1.0)

        def progress(stage: str, fraction: float) -> None:
            bar.update(task, description=f"simulating: {stage}", completed=fraction)

        company = run_simulation(config, progress=progress)
        bar.update(task, description="writing dataset", completed=1.0)
        files = write_dataset(company, out_dir, fmt)
        if truth is not None:
            write_truth(company, truth)
    seconds = time.perf_counter() - began
    counts = {name: table.num_rows for name, table in company.tables.items()}
    if as_json:
        print_json(
            {
                "out": str(out_dir),
                "files": [str(f) for f in files],
                "rows": counts,
                "seconds": seconds,
            }
        )
        return
    table = Table(title=f"Simulated company in {out_dir} ({seconds:.1f} s)")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for name, n in counts.items():
        table.add_row(name, f"{n:,}")
    out.print(table)
    if truth is not None:
        insiders = company.truth.get("insiders", [])
        err.print(f"ground truth: {truth} ({len(insiders)} insiders)")


def _ingest_progress():
    bar, start, advance = file_progress()

    def on_file_start(file: DatasetFile) -> None:
        start(file.path, f"{file.table:<9} {file.path.name}", file.size)

    def progress(file: DatasetFile, done: int) -> None:
        advance(file.path, done)

    return bar, on_file_start, progress


def _print_report(report: IngestReport, seconds: float) -> None:
    table = Table(title=f"Ingested {report.root} in {seconds:.1f} s")
    for name in (
        "table",
        "file",
        "read",
        "loaded",
        "updated",
        "duplicates",
        "rejected",
        "fields dropped",
    ):
        table.add_column(name, justify="left" if name in ("table", "file") else "right")
    for r in report.files:
        c = r.counts
        if r.error:
            table.add_row(
                r.file.table, escape(r.file.path.name), "[red]unreadable[/]", "", "", "", "", ""
            )
            continue
        table.add_row(
            r.file.table,
            escape(r.file.path.name),
            f"{c.rows_read:,}",
            f"{c.loaded:,}",
            f"{c.updated:,}",
            f"{c.duplicates:,}",
            f"[yellow]{c.rejected:,}[/]" if c.rejected else "0",
            f"{c.fields_dropped:,}",
        )
    out.print(table)
    reasons = report.totals.reasons
    if reasons:
        why = Table(title="Rejected or dropped, by reason (see `insiderwatch rejects`)")
        why.add_column("field:reason")
        why.add_column("rows", justify="right")
        for reason, n in reasons.most_common():
            why.add_row(reason, f"{n:,}")
        out.print(why)
    for r in report.files:
        if r.unknown_columns:
            unknown = ", ".join(r.unknown_columns)
            err.print(escape(f"{r.file.path}: ignored unknown column(s): {unknown}"))
        if r.error:
            err.print(f"[bold red]error:[/] {escape(r.error)}")
    if report.ignored:
        names = ", ".join(str(p.relative_to(report.root)) for p in report.ignored[:10])
        more = f" and {len(report.ignored) - 10} more" if len(report.ignored) > 10 else ""
        err.print(escape(f"not contract files, ignored: {names}{more}"))


@app.command()
def ingest(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Dataset folder (or one contract file); with --source, log files or folders.",
            show_default=False,
        ),
    ],
    source: Annotated[
        str, typer.Option(help="Source kind (see `insiderwatch sources list`).")
    ] = "dataset",
    mapping: Annotated[
        Path | None, typer.Option(help="Mapping file (YAML) for --source mapped.")
    ] = None,
    identity_map: Annotated[
        Path | None,
        typer.Option(help="CSV mapping log identities to employees [setting identity_map]."),
    ] = None,
    from_start: Annotated[
        bool,
        typer.Option(
            help="Read logs from the top, not from where the last run stopped "
            "(events already stored still count once)."
        ),
    ] = False,
    strict: Annotated[bool, typer.Option(help="Exit 1 when any row is rejected.")] = False,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Load a dataset in the contract format, or logs through a source kind; bad rows go
    to the dead letters."""
    settings = settings_for(db, config, identity_map=identity_map)
    if source != "dataset":
        from insiderwatch.cli.sources import ingest_with_source

        ingest_with_source(
            settings,
            source,
            paths,
            mapping=mapping,
            from_start=from_start,
            strict=strict,
            as_json=as_json,
        )
        return
    if len(paths) != 1:
        raise fail("a dataset is one folder or file; several paths need --source")
    dataset = paths[0]
    if not dataset.exists():
        # Checked before the store is opened, so a mistyped path leaves no empty store.
        raise fail(f"dataset not found: {dataset}")
    began = time.perf_counter()
    try:
        key = load_or_create_key(settings.secret_path, settings.hash_key)
        with open_store(settings) as store:
            note_aborted(store)
            bar, on_file_start, progress = _ingest_progress()
            with bar:
                report = ingest_dataset(
                    store,
                    dataset,
                    key,
                    phone_region=settings.phone_region,
                    batch_rows=settings.batch_rows,
                    max_line_bytes=settings.max_line_bytes,
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
                "dataset": str(report.root),
                "seconds": seconds,
                "totals": totals.as_dict(),
                "reasons": dict(totals.reasons),
                "files": [
                    {
                        "path": str(r.file.path),
                        "table": r.file.table,
                        "format": r.file.format,
                        "batch_id": r.batch_id,
                        "error": r.error,
                        "unknown_columns": r.unknown_columns,
                        **r.counts.as_dict(),
                    }
                    for r in report.files
                ],
                "ignored": [str(p) for p in report.ignored],
            }
        )
    else:
        _print_report(report, seconds)
    if report.errors or (strict and totals.rejected):
        raise typer.Exit(1)


@app.command()
def rejects(
    table: Annotated[str | None, typer.Option(help="Only this table.")] = None,
    reason: Annotated[str | None, typer.Option(help="Only this field:reason.")] = None,
    include_resolved: Annotated[
        bool, typer.Option("--all", help="Include letters already resolved.")
    ] = False,
    limit: Annotated[int, typer.Option(help="Rows to show (0 = all).")] = 20,
    export: Annotated[
        Path | None, typer.Option(help="Write all matching letters to FILE (.jsonl or .csv).")
    ] = None,
    do_replay: Annotated[
        bool, typer.Option("--replay", help="Re-validate open letters (e.g. after a roster fix).")
    ] = False,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """List, export or replay the rows ingest rejected (the dead letters)."""
    settings = settings_for(db, config)
    try:
        with open_store(settings, create=False) as store:
            if do_replay:
                key = load_or_create_key(settings.secret_path, settings.hash_key)
                store.bind_key(key)
                results = replay(store, key, phone_region=settings.phone_region)
                seal_after_ingest(store, settings)
                if as_json:
                    print_json(
                        [
                            {
                                "table": r.table,
                                "source": r.source,
                                "letters": r.letters,
                                **r.counts.as_dict(),
                            }
                            for r in results
                        ]
                    )
                else:
                    for r in results:
                        out.print(
                            f"{r.table} from {r.source}: {r.letters} replayed, "
                            f"{r.counts.loaded} loaded, {r.counts.rejected} still rejected"
                        )
                    if not results:
                        out.print("nothing to replay")
                return
            letters = list_letters(
                store,
                table=table,
                reason=reason,
                include_resolved=include_resolved,
                limit=None if export else (limit or None),
            )
            if export:
                export_letters(letters, export)
                err.print(f"wrote {len(letters)} letters to {export}")
                return
            if as_json:
                print_json(letters)
                return
            summary = reason_counts(store, include_resolved)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    by_reason = Table(title="Dead letters by reason" + ("" if include_resolved else " (open)"))
    for name in ("table", "field:reason", "rows"):
        by_reason.add_column(name, justify="right" if name == "rows" else "left")
    for tbl, why, n in summary:
        by_reason.add_row(tbl, shown(why), f"{n:,}")
    out.print(by_reason)
    rows = Table(title=f"First {len(letters)} letters" if letters else "No letters")
    for name in ("where", "reason", "key", "record"):
        rows.add_column(name, overflow="fold")
    for letter in letters:
        where = f"{letter['source']}:{letter['row_no']}:{letter['field']}"
        record = (letter["record"] or "")[:120]
        rows.add_row(
            shown(where),
            shown("; ".join(letter["problems"] or [])),
            shown(letter["record_key"]),
            shown(record),
        )
    out.print(rows)
