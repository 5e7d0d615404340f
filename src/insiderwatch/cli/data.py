"""Commands that make or load data: simulate, ingest, rejects."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from insiderwatch.app import Deployment, failed, from_settings, ingest_paths, replay_rejects
from insiderwatch.cli.app import (
    ConfigOption,
    DbOption,
    JsonOption,
    app,
    deployment_for,
    err,
    fail,
    file_progress,
    note_aborted,
    note_evidence,
    out,
    print_json,
    print_struct,
    settings_for,
    shown,
)
from insiderwatch.contract.runs import DatasetReport, LogReport
from insiderwatch.errors import InsiderwatchError
from insiderwatch.store import open_store
from insiderwatch.store.rejects import export_letters, list_letters, reason_counts


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


def ingest_bars():
    """Progress bars for the files of a dataset: (bar, on_file_start, progress)."""
    bar, start, advance = file_progress()

    def on_file_start(path: Path, table: str, size: int) -> None:
        start(path, f"{table:<9} {path.name}", size)

    return bar, on_file_start, advance


def _print_report(report: DatasetReport) -> None:
    table = Table(title=f"Ingested {report.dataset} in {report.seconds:.1f} s")
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
        name = escape(Path(r.path).name)
        if r.error:
            table.add_row(r.table, name, "[red]unreadable[/]", "", "", "", "", "")
            continue
        table.add_row(
            r.table,
            name,
            f"{r.rows_read:,}",
            f"{r.loaded:,}",
            f"{r.updated:,}",
            f"{r.duplicates:,}",
            f"[yellow]{r.rejected:,}[/]" if r.rejected else "0",
            f"{r.fields_dropped:,}",
        )
    out.print(table)
    if report.reasons:
        why = Table(title="Rejected or dropped, by reason (see `insiderwatch rejects`)")
        why.add_column("field:reason")
        why.add_column("rows", justify="right")
        for reason, n in sorted(report.reasons.items(), key=lambda item: -item[1]):
            why.add_row(reason, f"{n:,}")
        out.print(why)
    for r in report.files:
        if r.unknown_columns:
            unknown = ", ".join(r.unknown_columns)
            err.print(escape(f"{r.path}: ignored unknown column(s): {unknown}"))
        if r.error:
            err.print(f"[bold red]error:[/] {escape(r.error)}")
    if report.ignored:
        root = Path(report.dataset)
        names = ", ".join(str(Path(p).relative_to(root)) for p in report.ignored[:10])
        more = f" and {len(report.ignored) - 10} more" if len(report.ignored) > 10 else ""
        err.print(escape(f"not contract files, ignored: {names}{more}"))


def run_ingest(
    deployment: Deployment,
    paths: list[Path],
    *,
    source: str = "dataset",
    mapping: Path | None = None,
    from_start: bool = False,
    as_json: bool = False,
) -> DatasetReport | LogReport:
    """Ingest with progress bars, then the report (a table, or JSON)."""
    from insiderwatch.cli.sources import log_progress

    bar, on_file_start, progress = ingest_bars() if source == "dataset" else log_progress()
    try:
        with bar:
            report = ingest_paths(
                deployment,
                paths,
                source=source,
                mapping=mapping,
                from_start=from_start,
                progress=progress,
                on_file_start=on_file_start,
            )
    except InsiderwatchError as exc:
        raise fail(exc) from None
    print_ingest(report, as_json=as_json)
    return report


def print_ingest(report: DatasetReport | LogReport, *, as_json: bool) -> None:
    """The notes on stderr, then the report as a table or JSON."""
    from insiderwatch.cli.sources import print_log_report

    note_aborted(report.interrupted)
    note_evidence(report.evidence)
    if as_json:
        # The notes went to stderr; stdout keeps the report's shape.
        print_struct(msgspec.structs.replace(report, interrupted=[], evidence=None))
    elif isinstance(report, DatasetReport):
        _print_report(report)
    else:
        print_log_report(report)


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
    deployment = deployment_for(db, config, identity_map=identity_map)
    report = run_ingest(
        deployment, paths, source=source, mapping=mapping, from_start=from_start,
        as_json=as_json,
    )  # fmt: skip
    if failed(report) or (strict and report.totals.rejected):
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
                replayed = replay_rejects(from_settings(settings), store=store)
                note_evidence(replayed.evidence)
                if as_json:
                    print_struct(replayed.results)
                else:
                    for r in replayed.results:
                        out.print(
                            f"{r.table} from {r.source}: {r.letters} replayed, "
                            f"{r.loaded} loaded, {r.rejected} still rejected"
                        )
                    if not replayed.results:
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
