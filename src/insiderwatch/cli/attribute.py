"""The attribute command: who could have leaked a list of customers found outside."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.markup import escape
from rich.table import Table

from insiderwatch.app import attribute as attribute_leak
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
)
from insiderwatch.contract import SuspectReport
from insiderwatch.errors import InsiderwatchError


@app.command()
def attribute(
    leak_file: Annotated[
        Path, typer.Argument(help="The list found outside: CSV or JSON Lines (may be .gz).")
    ],
    found_at: Annotated[
        str | None,
        typer.Option(help="When the list was found (ISO 8601); only earlier access counts."),
    ] = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Write suspects.json (the contract's report).")
    ] = None,
    top: Annotated[int, typer.Option(min=0, help="Suspects to list after the leakers.")] = 10,
    outside_sources: Annotated[
        Path | None,
        typer.Option(help="YAML file of partners and processors [setting outside_sources]."),
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Rank the staff who could have leaked a list of customer emails or phones.

    The list is matched through the keyed hashes (its raw values are never stored), then
    everyone who saw the leaked details before --found-at is weighed by a guilt model
    that allows for base rates, partial leaks, noise rows and several leakers, beside
    the outside sources that could hold the same customers: every seller (from orders),
    the lists imported with `outside import`, and the partners and processors of the
    outside sources file. An employee is named only when they beat all of those by the
    margin. Canary plans in the store are used automatically.
    """
    deployment = deployment_for(db, config, outside_sources=outside_sources)
    when = parse_when(found_at, "--found-at")
    try:
        report = attribute_leak(deployment, leak_file, found_at=when, top=top)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    encoded = msgspec.json.format(msgspec.json.encode(report), indent=2)
    if out_file is not None:
        out_file.write_bytes(encoded + b"\n")
        err.print(escape(f"wrote {out_file}"))
    if as_json:
        sys.stdout.write(encoded.decode() + "\n")
        return
    _print_rows(report)
    _print_suspects(report)
    _print_outside(report)
    if report.verdict is not None:
        v = report.verdict
        out.print(
            f"[bold]Verdict ({v.kind}, {v.probability:.1f}%):[/] {escape(v.summary)}",
            highlight=False,
        )


def _print_rows(report: SuspectReport) -> None:
    r = report.rows
    out.print(
        f"{r.read:,} rows read: {r.matched_one:,} matched one customer, "
        f"{r.matched_several:,} matched several, {r.matched_none:,} matched none, "
        f"{r.duplicates:,} duplicates, {r.junk:,} junk; "
        f"{report.customers_matched:,} customers matched"
        + (f", {len(report.canaries_found)} of them canaries" if report.canaries_found else ""),
        highlight=False,
    )
    if r.junk_reasons:
        reasons = ", ".join(f"{why} ({n:,})" for why, n in r.junk_reasons.items())
        err.print(escape(f"junk rows by field:reason: {reasons}"), highlight=False)
        for where in r.junk_locations[:5]:
            err.print(escape(f"  {where}"), highlight=False)


def _print_suspects(report: SuspectReport) -> None:
    table = Table(title=f"Suspects for {escape(Path(report.leak_file).name)}")
    for name in ("#", "employee", "leaker", "score %", "matched", "coverage", "exclusive",
                 "canaries", "reach", "seen (UTC)"):  # fmt: skip
        table.add_column(name, justify="left" if name in ("employee", "seen (UTC)") else "right")
    for s in report.suspects:
        span = (
            f"{s.first_exposure:%Y-%m-%d} .. {s.last_exposure:%Y-%m-%d}"
            if s.first_exposure and s.last_exposure
            else ""
        )
        table.add_row(
            str(s.rank),
            s.employee_id,
            "[bold red]yes[/]" if s.leaker else "",
            f"{s.score:.1f}",
            f"{len(s.matched_customers):,}",
            f"{s.coverage:.0%}",
            f"{s.exclusivity:.0%}",
            str(len(s.canaries)),
            f"{s.reach:,}",
            span,
        )
    out.print(table)
    for s in report.suspects:
        out.print(f"{s.rank}. {escape(s.employee_id)}: {escape(s.explanation)}", highlight=False)
    if report.unexplained_customers:
        out.print(
            f"{len(report.unexplained_customers):,} matched customers are explained by no "
            "leaker (noise, or seen outside the logs)."
        )


def _print_outside(report: SuspectReport) -> None:
    if not report.outside_sources:
        return
    table = Table(title="Outside sources holding leaked customers")
    for name in ("#", "source", "kind", "named", "score %", "matched", "coverage", "size"):
        table.add_column(name, justify="left" if name in ("source", "kind") else "right")
    for o in report.outside_sources:
        table.add_row(str(o.rank), escape(o.source), o.kind, "[bold]yes[/]" if o.named else "",
                      f"{o.score:.1f}", f"{o.matched:,}", f"{o.coverage:.0%}", f"{o.size:,}")  # fmt: skip
    out.print(table)
