"""Commands that write our outputs in other systems' formats."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from insiderwatch.cli.app import app, err, fail
from insiderwatch.errors import InsiderwatchError
from insiderwatch.export.ocsf import OCSF_VERSION, read_alerts, write_findings

export_app = typer.Typer(help="Write alerts in other systems' formats.", no_args_is_help=True)
app.add_typer(export_app, name="export")


@export_app.command("ocsf")
def ocsf(
    alerts: Annotated[Path, typer.Argument(help="alerts.jsonl written by detection.")],
    out: Annotated[Path, typer.Option(help="OCSF Detection Findings, one JSON per line.")],
) -> None:
    """Alerts as OCSF Detection Findings, each validated against the OCSF schema."""
    if not alerts.exists():
        raise fail(f"not found: {alerts}")
    try:
        count = write_findings(read_alerts(alerts), out)
    except InsiderwatchError as exc:
        raise fail(exc) from None
    err.print(f"wrote {count} OCSF {OCSF_VERSION} Detection Finding(s) to {out}")
