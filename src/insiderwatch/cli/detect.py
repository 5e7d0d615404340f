"""Detection commands: analyze (ingest + detect), detect, calibrate, alerts, detectors list."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from insiderwatch.alerts import (
    explained_share,
    read_alert_history,
    read_alerts,
    write_alerts_jsonl,
)
from insiderwatch.app.alerts import record_detection
from insiderwatch.app.ops import ops_url
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
    shown,
)
from insiderwatch.detect import DetectionRun, active_detectors, load_detection_config, run_detection
from insiderwatch.detect.calibrate import calibration, policy_yaml
from insiderwatch.detect.catalog import content_version
from insiderwatch.errors import InsiderwatchError
from insiderwatch.store import open_store
from insiderwatch.store.ops.db import redacted

RulesConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--rules-config",
        help="Detection settings (TOML): explanations, destinations, risk, suppressions.",
        show_default=False,
    ),
]

detectors_app = typer.Typer(help="The detection catalogue.", no_args_is_help=True)
app.add_typer(detectors_app, name="detectors")


def _detect(store, rules_config: Path | None, until: str | None) -> tuple[DetectionRun, float]:
    cfg = load_detection_config(rules_config)
    began = time.perf_counter()
    with Progress(
        TextColumn("detecting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=None)

        def progress(done: int, total: int, day) -> None:
            bar.update(task, completed=done, total=total, description=f"day {day}")

        run = run_detection(store, cfg, until=parse_when(until, "--until"), progress=progress)
    return run, time.perf_counter() - began


def _summary(store, run: DetectionRun, seconds: float, top: int) -> None:
    if run.rewound:
        err.print(f"[yellow]{escape(run.rewound)}[/]")
    rate = run.events / seconds if seconds else 0
    out.print(
        f"Detection: {run.steps} step(s), {run.events:,} events in {seconds:.1f} s "
        f"({rate:,.0f} events/s), {run.findings:,} findings, {run.alerts} alert(s) in total."
    )
    shares = explained_share(store)
    if shares:
        table = Table(title="Accesses explained by a business reason")
        for col in ("role", "accesses", "explained", "main reasons"):
            table.add_column(col, justify="right" if col in ("accesses", "explained") else "left")
        for s in shares:
            reasons = ", ".join(
                f"{k} {v / s.accesses:.0%}"
                for k, v in sorted(s.by_reason.items(), key=lambda x: -x[1])[:3]
            )
            table.add_row(s.role, f"{s.accesses:,}", f"{s.share:.1%}", reasons)
        total = sum(s.accesses for s in shares)
        explained = sum(s.explained for s in shares)
        table.add_row("all", f"{total:,}", f"{explained / total:.1%}" if total else "-", "")
        out.print(table)
    _print_alerts(read_alerts(store, top), title=f"Top {top} alerts")


def _record(settings, store) -> None:
    """Detection's history into the operational store, where triage happens."""
    report = record_detection(settings, store)
    out.print(
        f"Alert history recorded for triage: {report.recorded:,} new line(s), "
        f"{report.alerts_opened:,} new alert(s) ({redacted(ops_url(settings))})."
    )


def _print_alerts(alerts, title: str) -> None:
    table = Table(title=title, show_lines=True)
    for col in ("alert", "employee", "score", "severity", "last change", "summary", "evidence"):
        table.add_column(col)
    for a in alerts:
        table.add_row(
            f"{a.alert_id}\nrevision {a.revision}",
            shown(a.employee_id),
            f"{a.score:.0f}",
            a.severity,
            a.detected_at.strftime("%Y-%m-%d %H:%M"),
            escape(a.summary),
            f"{len(a.event_ids):,} events\n{len(a.customer_ids):,} customers",
        )
    out.print(table)


@app.command()
def analyze(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder in the contract format.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the store and alerts.jsonl.")],
    rules_config: RulesConfigOption = None,
    top: Annotated[int, typer.Option(help="Alerts to show.")] = 10,
    config: ConfigOption = None,
) -> None:
    """Ingest a dataset and run detection: OUT/alerts.jsonl (the alert history) and a summary."""
    from insiderwatch.cli.data import ingest as ingest_command

    if not dataset.exists():
        raise fail(f"dataset not found: {dataset}")
    db = out_dir / "insiderwatch.duckdb"
    ingest_command(paths=[dataset], db=db, config=config)
    settings = settings_for(db, config)
    try:
        with open_store(settings) as store:
            run, seconds = _detect(store, rules_config, None)
            write_alerts_jsonl(read_alert_history(store), out_dir / "alerts.jsonl")
            _summary(store, run, seconds, top)
            _record(settings, store)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    out.print(f"Alerts written to {out_dir / 'alerts.jsonl'}")


@app.command()
def detect(
    until: Annotated[
        str | None, typer.Option(help="Process events up to this ISO time (default: all).")
    ] = None,
    alerts_out: Annotated[
        Path | None,
        typer.Option("--out", help="Also write the alert history as JSON Lines here."),
    ] = None,
    rules_config: RulesConfigOption = None,
    top: Annotated[int, typer.Option(help="Alerts to show.")] = 10,
    db: DbOption = None,
    config: ConfigOption = None,
) -> None:
    """Run detection on the store from where the last run stopped."""
    settings = settings_for(db, config)
    try:
        with open_store(settings, create=False) as store:
            run, seconds = _detect(store, rules_config, until)
            if alerts_out is not None:
                write_alerts_jsonl(read_alert_history(store), alerts_out)
            _summary(store, run, seconds, top)
            _record(settings, store)
    except InsiderwatchError as exc:
        raise fail(exc) from None


@app.command()
def calibrate(
    policy_out: Annotated[
        Path | None,
        typer.Option("--out", help="Write the learned routine here as a policy file (YAML)."),
    ] = None,
    rules_config: RulesConfigOption = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the learned routine per peer group and the alerts per day; write a policy file."""
    settings = settings_for(db, config)
    try:
        with open_store(settings, create=False) as store:
            run_detection(store, load_detection_config(rules_config))
            found = calibration(store)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    if policy_out is not None:
        policy_out.write_text(policy_yaml(found))
        err.print(f"Policy written to {policy_out}: review it, commit it, then set "
                  "[routine] policy_file in the detection settings.")  # fmt: skip
    if as_json:
        import msgspec

        print_json(msgspec.to_builtins(found))
        return
    _print_routine(found)


def _print_routine(found) -> None:
    table = Table(title=f"Routine learned as of {found.day} ({len(found.flows)} flows)")
    for col in ("group", "flow", "doers", "employee-days", "median / max records", "hours"):
        table.add_column(col, justify="right" if col in ("doers", "employee-days") else "left")
    for f in found.flows:
        dest = f" -> {f.destination}" if f.destination else ""
        doers = f"{f.doers} of {f.staff}" if f.doers is not None else "reviewed"
        median = f"{f.median_records:,.0f}" if f.median_records is not None else "-"
        hours = f"{min(f.hours):02d}-{max(f.hours):02d} UTC" if f.hours else "-"
        table.add_row(escape(f.group), escape(f"{f.action} {f.app}{dest}"), doers,
                      f"{f.employee_days or '-'}", f"{median} / {f.max_records:,}", hours)  # fmt: skip
    out.print(table)
    days = Table(title="Alerts a deployment would have opened per day")
    for col in ("day", "alerts", "critical", "high", "medium", "low"):
        days.add_column(col, justify="left" if col == "day" else "right")
    for d in found.alerts_per_day:
        days.add_row(str(d.day), *(str(v) for v in (d.alerts, d.critical, d.high, d.medium, d.low)))
    out.print(days)


# A group that still lists when called alone: its sub-commands (cli/ops.py) record the
# alerts in the operational store and triage them.
alerts_app = typer.Typer()
app.add_typer(alerts_app, name="alerts")


@alerts_app.callback(invoke_without_command=True)
def alerts(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="Alerts to show, highest score first.")] = 20,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """List alerts as they stand now (the last line of each), with their summaries; the
    sub-commands record them in the operational store and triage them."""
    if ctx.invoked_subcommand is not None:
        return
    settings = settings_for(db, config)
    try:
        with open_store(settings, create=False, read_only=True) as store:
            found = read_alerts(store, limit)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    if as_json:
        import msgspec

        print_json(msgspec.to_builtins(found))
    else:
        _print_alerts(found, title=f"{len(found)} alert(s)")


@detectors_app.command("list")
def detectors_list(
    rules_config: RulesConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Every detector and rule: id, version (a hash of its query and settings), what it catches."""
    try:
        cfg = load_detection_config(rules_config)
        rows = [
            {"id": d.id, "version": content_version(d, cfg), "title": d.title,
             "description": d.description}
            for d in active_detectors(cfg)
        ]  # fmt: skip
    except InsiderwatchError as exc:
        raise fail(exc) from None
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{len(rows)} detectors")
    for col in ("id", "version", "title", "description"):
        table.add_column(col)
    for r in rows:
        table.add_row(*(escape(str(r[c])) for c in ("id", "version", "title", "description")))
    out.print(table)
