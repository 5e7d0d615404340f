"""Alerts as the outside world sees them: the contract's Alert records."""

from insiderwatch.alerts.export import explained_share, read_alerts, write_alerts_jsonl

__all__ = ["explained_share", "read_alerts", "write_alerts_jsonl"]
