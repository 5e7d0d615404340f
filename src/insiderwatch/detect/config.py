"""Detection settings: how access is explained, what counts as leaving the company, risk
scoring, and per-detector parameters.

Everything has a default that suits a retailer's support organisation; a TOML file
(``insiderwatch detect --rules-config FILE``) overrides any part. Times are minutes or
hours as named, so a file reads without units.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

import msgspec

from insiderwatch.errors import ConfigError


class Explanation(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """When a case or a policy makes an access legitimate."""

    # Slack before a case opens: set it when agents look customers up before the ticket
    # exists. An access is then judged with cases opened up to that long after it, so
    # live findings on the newest accesses may be withdrawn when the step is re-run.
    slack_before_minutes: int = 0
    # Agents finish notes after the case is closed.
    slack_after_minutes: int = 60
    # The customer rings back after the case was closed.
    callback_hours: int = 48
    # Supervisors review their reports' cases, often the day after.
    supervisor_after_hours: int = 24
    # Roles (or teams; a trailing '*' matches a prefix) whose cases are investigations: a
    # case id the tool captured explains every customer looked at under it, not only the
    # case's own customer.
    investigation_roles: list[str] = msgspec.field(
        default_factory=lambda: ["fraud_investigator", "fraud-*"]
    )
    # Roles that serve the buyers of particular sellers (seller support). A team's sellers
    # are learned from the team's own past cases, so no mapping needs to be maintained.
    portfolio_roles: list[str] = msgspec.field(default_factory=lambda: ["seller_support"])
    portfolio_min_cases: int = 3
    portfolio_history_days: int = 60
    # Role policies: identities whose every access is explained by what they are
    # (service accounts); their volume is still watched against their own baseline.
    policy_roles: list[str] = msgspec.field(default_factory=lambda: ["service_account"])
    # (role, app) pairs allowed bulk, customer-less queries (e.g. analysts in the warehouse).
    policy_apps: dict[str, list[str]] = msgspec.field(
        default_factory=lambda: {"data_analyst": ["warehouse-sql"]}
    )


class Destinations(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Where data may go without leaving the company's control."""

    internal: list[str] = msgspec.field(default_factory=lambda: ["local", "printer"])
    # cloud:/external: targets the company owns or has contracts with; '*' ends a prefix.
    allowed: list[str] = msgspec.field(
        default_factory=lambda: [
            "cloud:company-*",
            "cloud:dsar-portal",
            "external:partner-bank.example",
        ]
    )


class Risk(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """How findings become a score and alerts (see docs/detections.md for the formula)."""

    half_life_days: float = 7.0
    scale: float = 40.0  # points at which the score reaches 63 (1 - 1/e)
    alert_score: float = 50.0
    # An alert stays open, absorbing new findings, until the score decays below this.
    rearm_score: float = 20.0
    departing_weight: float = 1.5  # findings in the weeks before departs_on
    departing_window_days: int = 28


class Suppression(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Silence a detector (or all, '*') for an employee until a date, with a reason."""

    employee_id: str
    detector: str = "*"
    until: dt.date
    reason: str
    author: str = ""


class DetectionConfig(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    baseline_days: int = 28
    explanation: Explanation = Explanation()
    destinations: Destinations = Destinations()
    risk: Risk = Risk()
    suppressions: list[Suppression] = []
    # Per-detector parameters, validated by each detector's own Config model.
    detectors: dict[str, dict[str, Any]] = {}
    # Extra rule files (Sigma or native YAML) or folders of them.
    rule_paths: list[str] = []
    disabled: list[str] = []

    def detector_config(self, detector) -> Any:
        raw = self.detectors.get(detector.id, {})
        try:
            return msgspec.convert(raw, detector.Config, strict=False)
        except msgspec.ValidationError as exc:
            raise ConfigError(f"detectors.{detector.id}: {exc}") from None


def load_detection_config(path: Path | None) -> DetectionConfig:
    if path is None:
        return DetectionConfig()
    try:
        raw = tomllib.loads(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    try:
        return msgspec.convert(raw, DetectionConfig, strict=False)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{path}: {exc}") from None
