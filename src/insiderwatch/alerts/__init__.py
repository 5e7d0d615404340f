"""Alerts as the outside world sees them: the contract's Alert records (a history)."""

from insiderwatch.alerts.export import (
    evidence_after_detection,
    explained_share,
    read_alert_history,
    read_alerts,
    write_alerts_jsonl,
)

__all__ = [
    "evidence_after_detection",
    "explained_share",
    "read_alert_history",
    "read_alerts",
    "write_alerts_jsonl",
]
