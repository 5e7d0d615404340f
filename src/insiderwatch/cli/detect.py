"""Detection commands: analyze (ingest + detect), detect, calibrate, alerts, detectors list."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from insiderwatch.app import analyze_dataset, current_alerts
from insiderwatch.app import calibrate as calibrate_routine
from insiderwatch.app import detect as run_detect
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
    shown,
)
from insiderwatch.cli.learned_view import print_learned
from insiderwatch.contract.runs import DetectionReport
from insiderwatch.detect import active_detectors
from insiderwatch.detect.catalog import content_version
from insiderwatch.errors import InsiderwatchError

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


def _detect_progress():
    """A transient bar of the detection steps (days), on stderr."""
    bar = Progress(
        TextColumn("detecting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    task = bar.add_task("", total=None)

    def progress(done: int, total: int, day) -> None:
        bar.update(task, completed=done, total=total, description=f"day {day}")

    return bar, progress


def _summary(report: DetectionReport, top: int) -> None:
    run = report.summary
    if run.rewound:
        err.print(f"[yellow]{escape(run.rewound)}[/]")
    seconds = run.seconds
    rate = run.events / seconds if seconds else 0
    out.print(
        f"Detection: {run.steps} step(s), {run.events:,} events in {seconds:.1f} s "
        f"({rate:,.0f} events/s), {run.findings:,} findings, {run.alerts} alert(s) in total."
    )
    shares = report.explained
    if shares:
        table = Table(title="Accesses explained by a business reason")
        for col in ("role", "accesses", "explained", "main reasons"):
            table.add_column(col, justify="right" if col in ("accesses", "explained") else "left")
        for s in shares:
            reasons = ", ".join(f"{k} {s.by_reason[k] / s.accesses:.0%}" for k in _main(s))
            table.add_row(s.role, f"{s.accesses:,}", f"{s.share:.1%}", reasons)
        total = sum(s.accesses for s in shares)
        explained = sum(s.explained for s in shares)
        table.add_row("all", f"{total:,}", f"{explained / total:.1%}" if total else "-", "")
        out.print(table)
        print_meanings((k, s.meanings[k]) for s in shares for k in _main(s))
    _print_alerts(report.top_alerts, title=f"Top {top} alerts")
    if report.recorded is not None:
        out.print(
            f"Alert history recorded for triage: {report.recorded.recorded:,} new line(s), "
            f"{report.recorded.alerts_opened:,} new alert(s)."
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
    from insiderwatch.cli.data import ingest_bars, print_ingest

    deployment = deployment_for(None, config, rules_config=rules_config)
    files_bar, on_file_start, advance = ingest_bars()
    steps_bar, step = _detect_progress()

    def progress(done: int, total: int, day) -> None:
        if files_bar.live.is_started:  # one live display at a time: files, then steps
            files_bar.stop()
            steps_bar.start()
        step(done, total, day)

    files_bar.start()
    try:
        analysis = analyze_dataset(
            deployment,
            dataset,
            out_dir,
            top=top,
            progress=advance,
            on_file_start=on_file_start,
            detect_progress=progress,
        )
    except InsiderwatchError as exc:
        raise fail(exc) from None
    finally:
        files_bar.stop()
        steps_bar.stop()
    print_ingest(analysis.ingest, as_json=False)
    if analysis.detection is None:
        raise typer.Exit(1)
    _summary(analysis.detection, top)
    out.print(f"Alerts written to {analysis.alerts_file}")


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
    deployment = deployment_for(db, config, rules_config=rules_config)
    when = parse_when(until, "--until")
    bar, progress = _detect_progress()
    try:
        with bar:
            report = run_detect(
                deployment, until=when, top=top, alerts_out=alerts_out, progress=progress
            )
    except InsiderwatchError as exc:
        raise fail(exc) from None
    _summary(report, top)


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
    deployment = deployment_for(db, config, rules_config=rules_config)
    try:
        found = calibrate_routine(deployment, policy_out=policy_out)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    if policy_out is not None:
        err.print(f"Policy written to {policy_out}: review it, commit it, then set "
                  "[routine] policy_file in the detection settings.")  # fmt: skip
    if as_json:
        import msgspec

        print_json(msgspec.to_builtins(found))
        return
    _print_routine(found)


def _main(share) -> list[str]:
    """A role's three reasons that explained most of its accesses, most first."""
    return sorted(share.by_reason, key=lambda k: -share.by_reason[k])[:3]


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
    if found.resemblances:
        alike = Table(title="Groups too small to learn from, and whom they work like, as of "
                      + str(found.day))  # fmt: skip
        alike.add_column("peer group")
        alike.add_column("works like (routine but sending out, allowance, casework)")
        for r in found.resemblances:
            alike.add_row(escape(f"{r.group} ({r.staff} staff)"),
                          escape(f"{r.similar_to} (cosine >= {r.min_similarity:.2f})"))  # fmt: skip
        out.print(alike)
    if found.investigating or found.investigating_similar or found.portfolios:
        work = Table(title="Casework learned as of " + str(found.day))
        work.add_column("learned")
        work.add_column("peer group / team")
        work.add_column("what it explains")
        for group in found.investigating:
            work.add_row("investigates", escape(group),
                         "every customer looked at under the employee's own case")  # fmt: skip
        for v in found.investigating_similar:
            work.add_row("investigates (similar)", escape(f"{v.group} ({v.staff} staff)"),
                         escape(f"as {v.similar_to} does: its work is theirs "
                                f"(cosine >= {v.min_similarity:.2f})"))  # fmt: skip
        for p in found.portfolios:
            sellers = ", ".join(p.sellers[:5]) + (
                f" (+{len(p.sellers) - 5})" if len(p.sellers) > 5 else ""
            )
            work.add_row("portfolio", escape(p.team), escape(f"buyers of {sellers}"))
        out.print(work)
    if found.allowances:
        allowed = Table(title="Case-less look-ups allowed per group as of " + str(found.day))
        allowed.add_column("level")
        allowed.add_column("peer group / role")
        allowed.add_column("doers", justify="right")
        allowed.add_column("allowance per employee in the window", justify="right")
        allowed.add_column("or per access of work", justify="right")
        for a in found.allowances:
            allowed.add_row(a.level, escape(a.group), f"{a.doers} of {a.staff}",
                            f"{a.allowance:,}", "-" if a.pace is None else f"{a.pace:.2f}")  # fmt: skip
        for b in found.borrowed:
            allowed.add_row("similar", escape(f"{b.group} ({b.staff} staff)"),
                            escape(f"works like {b.similar_to} (cosine >= {b.min_similarity:.2f})"),
                            f"{b.allowance:,}", "")  # fmt: skip
        out.print(allowed)
    print_learned(out, found.learned, found.day)
    if found.reasons:
        why = Table(title="Reasons that explained access in the window as of " + str(found.day))
        for col in ("reason", "what it means", "accesses"):
            why.add_column(col, justify="right" if col == "accesses" else "left")
        for r in found.reasons:
            why.add_row(escape(r.name), escape(r.meaning), f"{r.accesses:,}")
        out.print(why)
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
    deployment = deployment_for(db, config)
    try:
        found = current_alerts(deployment, limit)
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
        cfg = deployment_for(None, None, rules_config=rules_config).detection
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
