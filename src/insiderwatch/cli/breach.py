"""The breach commands: exact scope, customer notices, regulator report."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from rich.markup import escape
from rich.table import Table

from insiderwatch.app.keys import existing_key
from insiderwatch.cli.app import (
    ConfigOption,
    DbOption,
    JsonOption,
    app,
    err,
    fail,
    out,
    parse_when,
    settings_for,
)
from insiderwatch.contract.breach import ScopeSummary
from insiderwatch.errors import InsiderwatchError
from insiderwatch.report.breach import (
    CustomerSystemSpec,
    LeakSpec,
    breach_notices,
    regulator_report,
    scope_breach,
)
from insiderwatch.report.config import BreachConfig, load_struct
from insiderwatch.report.scope import ScopeQuery, query_for_alert
from insiderwatch.store import open_store

breach_app = typer.Typer(
    help="After a leaker is found: exact scope, customer notices, regulator report.",
    no_args_is_help=True,
)
app.add_typer(breach_app, name="breach")

CustomersOption = Annotated[
    str | None,
    typer.Option(
        "--customers",
        help="The customer system: an export (CSV, JSON Lines, Parquet) or a SQLAlchemy URL.",
        show_default=False,
    ),
]
CustomersQueryOption = Annotated[
    str | None,
    typer.Option(
        help="SQL for a URL --customers (default: SELECT * FROM customers).", show_default=False
    ),
]
BreachConfigOption = Annotated[
    Path, typer.Option("--breach-config", help="Company, contacts, measures (YAML or TOML).")
]
TemplatesOption = Annotated[
    Path | None,
    typer.Option(
        "--templates",
        help="Folder of templates that replace the shipped ones by name.",
        show_default=False,
    ),
]


@breach_app.command("scope")
def scope(
    employee: Annotated[
        list[str] | None, typer.Option("--employee", help="Employee id (repeatable).")
    ] = None,
    alert: Annotated[
        str | None, typer.Option("--alert", help="Take employee and start from this alert.")
    ] = None,
    start: Annotated[str | None, typer.Option("--from", help="First time (ISO 8601).")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last time, inclusive.")] = None,
    include_explained: Annotated[
        bool, typer.Option(help="Keep access a case or policy explains.")
    ] = False,
    leak: Annotated[
        Path | None,
        typer.Option("--leak", help="A list found outside, attributed to the employee: proof."),
    ] = None,
    contained_at: Annotated[
        str | None, typer.Option(help="When the employee's access was cut (ISO 8601).")
    ] = None,
    customers: CustomersOption = None,
    customers_query: CustomersQueryOption = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Write scope.parquet, scope.csv, summary.json.")
    ] = None,
    db: DbOption = None,
    config: ConfigOption = None,
    as_json: JsonOption = False,
) -> None:
    """Whose data, which fields, viewed or taken out: read from the events themselves.

    Access a business reason explains is left out unless --include-explained. With
    --customers, counts by jurisdiction use where the customer system says customers live.
    """
    if alert is not None and employee:
        raise fail("give --employee or --alert, not both (the alert names its employee)")
    settings = settings_for(db, config)
    window = {
        "start": parse_when(start, "--from"),
        "end": parse_when(end, "--to"),
        "include_explained": include_explained,
        "contained_at": parse_when(contained_at, "--contained-at"),
    }
    try:
        with open_store(settings, create=False, read_only=True) as store:
            if alert is not None:
                query = query_for_alert(store, alert, **window)
            else:
                query = ScopeQuery(employees=list(employee or []), **window)
            key_leak = (
                LeakSpec(leak, existing_key(settings, store), settings.phone_region)
                if leak is not None
                else None
            )
            system = CustomerSystemSpec(customers, customers_query) if customers else None
            _, summary = scope_breach(store, query, out_dir, key_leak, system)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    if out_dir is not None:
        err.print(escape(f"wrote scope.parquet, scope.csv and summary.json to {out_dir}"))
    if as_json:
        sys.stdout.write(msgspec.json.format(msgspec.json.encode(summary), indent=2).decode())
        sys.stdout.write("\n")
        return
    _print_summary(summary)


def _print_summary(s: ScopeSummary) -> None:
    out.print(
        f"{', '.join(s.employees)}: {s.customers:,} customers exposed "
        f"({s.customers_taken_out:,} with data taken out, {s.customers_viewed_only:,} viewed "
        f"only) in {s.events:,} events; {s.events_explained_excluded:,} explained events left "
        f"out ({s.customers_explained_only:,} customers seen only there: --include-explained "
        "adds them)"
        + (
            f", {s.events_never_explained:,} not yet judged by detection"
            if s.events_never_explained
            else ""
        ),
        highlight=False,
    )
    for title, counts in (("field", s.by_field), ("jurisdiction", s.by_jurisdiction)):
        table = Table(title=f"Customers by {title}")
        for name in (title, "viewed only", "taken out"):
            table.add_column(name, justify="left" if name == title else "right")
        for key, c in counts.items():
            table.add_row(escape(key), f"{c.viewed:,}", f"{c.taken_out:,}")
        out.print(table)
    channels = ", ".join(f"{c} {n:,}" for c, n in s.by_channel.items())
    out.print(f"Customers by channel: {escape(channels)}", highlight=False)
    t = s.timeline

    def when(value) -> str:
        return f"{value:%Y-%m-%d %H:%M} UTC" if value else "-"

    out.print(
        f"Timeline: first access {when(t.first_access)}, last {when(t.last_access)}, "
        f"detected {when(t.detected_at)}, contained "
        f"{when(t.contained_at) if t.contained_at else 'unknown'}",
        highlight=False,
    )
    if s.leak is not None:
        out.print(
            f"Leak {escape(s.leak.file)}: {s.leak.customers_matched:,} customers matched, "
            f"{s.leak.customers_in_scope:,} seen by the employee (taken out), "
            f"{s.leak.customers_not_seen:,} not seen",
            highlight=False,
        )


@breach_app.command("notices")
def notices(
    scope_dir: Annotated[Path, typer.Argument(help="Folder written by `breach scope --out`.")],
    customers: CustomersOption = None,
    customers_query: CustomersQueryOption = None,
    breach_config: BreachConfigOption = ...,
    template: Annotated[
        str,
        typer.Option(
            help="auto (customer's locale; California headings for US-CA), "
            "en, de, fr, es or california."
        ),
    ] = "auto",
    templates: TemplatesOption = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Write notices.csv, eml/, missing.csv.")
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Print counts and three samples only.")] = False,
) -> None:
    """A notice per customer in scope naming exactly the data exposed and not exposed.

    Names, emails and addresses come from the customer system (--customers) at this
    moment, joined in memory by customer id; they are never stored.
    """
    if customers is None:
        raise fail("--customers is required: where names and emails come from")
    if out_dir is None and not dry_run:
        raise fail("give --out DIR, or --dry-run")
    try:
        cfg = load_struct(breach_config, BreachConfig)
        run = breach_notices(
            scope_dir,
            CustomerSystemSpec(customers, customers_query),
            cfg,
            None if dry_run else out_dir,
            template,
            templates,
        )
    except InsiderwatchError as exc:
        raise fail(exc) from None
    by_template: dict[str, int] = {}
    for n in run.notices:
        by_template[n.template] = by_template.get(n.template, 0) + 1
    out.print(
        f"{len(run.notices):,} notices ({', '.join(f'{k} {v:,}' for k, v in by_template.items())}); "
        f"{run.without_email:,} without an email (post only); {len(run.missing):,} customers "
        "not in the customer system",
        highlight=False,
    )
    if dry_run:
        for n in run.notices[:3]:
            out.rule(escape(f"{n.customer_id} ({n.template}): {n.subject}"))
            out.print(escape(n.body), highlight=False)
    else:
        err.print(escape(f"wrote notices.csv, eml/ and missing.csv to {out_dir}"))


@breach_app.command("report")
def report(
    scope_dir: Annotated[Path, typer.Argument(help="Folder written by `breach scope --out`.")],
    breach_config: BreachConfigOption = ...,
    out_dir: Annotated[
        Path, typer.Option("--out", help="Write report.html, report.pdf, register.json/.csv.")
    ] = ...,
    aware_at: Annotated[
        str | None, typer.Option(help="When the company became aware (default: first alert).")
    ] = None,
    high_risk: Annotated[
        bool | None,
        typer.Option(
            "--high-risk/--not-high-risk",
            help="Likely high risk to people (default: yes if data was taken out).",
            show_default=False,
        ),
    ] = None,
    rules: Annotated[
        Path | None, typer.Option(help="Deadline rules (YAML) instead of the shipped ones.")
    ] = None,
    sector: Annotated[
        list[str] | None, typer.Option(help="Sector rules on top, e.g. hipaa (repeatable).")
    ] = None,
    templates: TemplatesOption = None,
) -> None:
    """Deadlines per jurisdiction with citations, HTML and PDF report, Art. 33(5) entry."""
    try:
        cfg = load_struct(breach_config, BreachConfig)
        result, _ = regulator_report(
            scope_dir,
            cfg,
            out_dir,
            parse_when(aware_at, "--aware-at"),
            high_risk,
            rules,
            tuple(sector or ()),
            templates,
        )
    except InsiderwatchError as exc:
        raise fail(exc) from None
    table = Table(title=f"Deadlines from {result.entry.aware_at:%Y-%m-%d %H:%M} UTC")
    for name in ("jurisdiction", "notify", "applies", "due (UTC)", "basis", "people"):
        table.add_column(name, justify="right" if name == "people" else "left")
    for d in result.deadlines:
        due = f"{d.due:%Y-%m-%d %H:%M}" if d.due else "no fixed period"
        table.add_row(
            escape(d.jurisdiction),
            escape(d.to),
            d.applies.replace("_", " "),
            due,
            escape(d.citation),
            f"{d.customers:,}",
        )
    out.print(table)
    err.print(escape(f"wrote report.html, report.pdf, register.json, register.csv to {out_dir}"))
