"""Exports of alerts in other systems' formats. Staff leave as their keyed pseudonym (the
one alert messages and the console carry), with the employee id in the summary and
reasons replaced and any email or phone redacted, unless the operator asks to name them."""

from __future__ import annotations

from pathlib import Path

from insiderwatch.app.deployment import Deployment
from insiderwatch.app.keys import configured_key
from insiderwatch.export.ocsf import read_alerts, write_findings
from insiderwatch.respond.notice import shown_alert


def export_ocsf(
    deployment: Deployment, alerts_file: Path, out: Path, *, reveal_staff: bool = False
) -> int:
    """OCSF Detection Findings of every line of ``alerts_file`` into ``out``; how many."""
    key = configured_key(deployment.settings)
    alerts = (shown_alert(a, key, reveal_staff) for a in read_alerts(alerts_file))
    return write_findings(alerts, out)
