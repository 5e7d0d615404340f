"""Commands that write our outputs in other systems' formats."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from insiderwatch.app.export import export_ocsf
from insiderwatch.cli.app import ConfigOption, app, deployment_for, err, fail
from insiderwatch.errors import InsiderwatchError
from insiderwatch.export.ocsf import OCSF_VERSION

export_app = typer.Typer(help="Write alerts in other systems' formats.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("ocsf")
def ocsf(
    alerts: Annotated[Path, typer.Argument(help="alerts.jsonl written by detection.")],
    out: Annotated[Path, typer.Option(help="OCSF Detection Findings, one JSON per line.")],
    reveal_staff: Annotated[
        bool,
        typer.Option("--reveal-staff", help="Name staff by employee id instead of pseudonym."),
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Alerts as OCSF Detection Findings, each validated against the OCSF schema; staff
    as their keyed pseudonym (the deployment's hashing key) unless --reveal-staff."""
    if not alerts.exists():
        raise fail(f"not found: {alerts}")
    try:
        deployment = deployment_for(None, config)
        count = export_ocsf(deployment, alerts, out, reveal_staff=reveal_staff)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    err.print(f"wrote {count} OCSF {OCSF_VERSION} Detection Finding(s) to {out}")
