"""Feedback from triage: dismissing an alert for a structured reason (a known business
reason, data quality, expected role behaviour) proposes a suppression of its detector
for that employee until a date, with what it would have done to the last 30 days of
alerts (the risk engine rerun over the same findings). A decider applies it (audited);
detection then reads the applied suppressions beside those of the rules file."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import msgspec

from insiderwatch.app.deployment import Deployment
from insiderwatch.contract import Alert
from insiderwatch.contract.console import (
    FEEDBACK_REASONS,
    SparedAlert,
    SuppressionPreview,
    SuppressionProposal,
)
from insiderwatch.detect.config import DetectionConfig, Suppression
from insiderwatch.detect.history import read_findings
from insiderwatch.detect.risk import score_findings
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from insiderwatch.store.ops import OpsStore, reads, workflow
from insiderwatch.store.ops import feedback as repo
from insiderwatch.store.ops.workflow import WorkflowError

PREVIEW_DAYS = 30
APPLIED_AUTHOR = "console:"  # marks a suppression that came from the ops store
LONGEST_DAYS = 366  # a suppression is a decision to revisit, not a permanent exemption


def _now(now: dt.datetime | None) -> dt.datetime:
    return now or dt.datetime.now(dt.UTC)


def _opened(history: list[Alert], start: dt.datetime, end: dt.datetime) -> dict[str, Alert]:
    """The latest line of each alert that opened in [start, end]."""
    latest: dict[str, Alert] = {}
    for line in history:
        if start <= line.opened_at <= end:
            latest[line.alert_id] = line
    return latest


def preview_suppression(
    store: Store,
    cfg: DetectionConfig,
    key: HashKey,
    suppression: Suppression,
    *,
    days: int = PREVIEW_DAYS,
) -> SuppressionPreview:
    """The alerts of the last ``days`` days up to the newest finding, as they are and as
    they would have been with ``suppression`` (same findings, same risk engine)."""
    findings = read_findings(store.con) if store.has_table("findings") else []
    end = max((f.detected_at for f in findings), default=_now(None))
    start = end - dt.timedelta(days=days)
    departs = dict(store.con.execute(
        "SELECT employee_id, departs_on FROM employees WHERE departs_on IS NOT NULL").fetchall())  # fmt: skip
    before, silenced_before = score_findings(findings, departs, cfg, key)
    with_it = msgspec.structs.replace(cfg, suppressions=[*cfg.suppressions, suppression])
    after, silenced_after = score_findings(findings, departs, with_it, key)
    now_open, then_open = _opened(before, start, end), _opened(after, start, end)
    spared = [
        SparedAlert(
            alert_id=a.alert_id,
            severity=a.severity,
            score=a.score,
            opened_at=a.opened_at,
            summary=a.summary,
        )  # fmt: skip
        for alert_id, a in sorted(now_open.items())
        if alert_id not in then_open
    ]
    return SuppressionPreview(
        window_start=start,
        window_end=end,
        days=days,
        alerts_before=len(now_open),
        alerts_after=len(then_open),
        spared=spared,
        findings_silenced=len(set(silenced_after) - set(silenced_before)),
    )


def propose_from_dismissal(
    ops: OpsStore,
    store: Store,
    cfg: DetectionConfig,
    key: HashKey,
    alert_id: str,
    *,
    reason: str,
    detector: str,
    until: dt.date,
    why: str,
    actor: str,
    now: dt.datetime | None = None,
) -> SuppressionProposal:
    """Close the alert with ``reason`` (when it is still open) and propose the
    suppression, with its preview; nothing changes in detection until it is applied."""
    now = _now(now)
    what = f"alert {alert_id}"
    if reason not in FEEDBACK_REASONS:
        raise WorkflowError(f"{what}: feedback needs one of {', '.join(FEEDBACK_REASONS)}")
    if not why.strip():
        raise WorkflowError(f"{what}: say why (it is kept with the suppression)")
    if not now.date() < until <= now.date() + dt.timedelta(days=LONGEST_DAYS):
        raise WorkflowError(
            f"{what}: 'until' must be after today and at most {LONGEST_DAYS} days ahead"
        )
    with ops.session() as s:
        alert = reads.dossier(s, alert_id).alert
    if detector != "*" and detector not in alert.detectors:
        raise WorkflowError(
            f"{what}: detector {detector!r} is not one of its detectors "
            f"({', '.join(alert.detectors)}) or '*'"
        )
    suppression = Suppression(employee_id=alert.employee_id, detector=detector, until=until,
                              reason=f"{reason}: {why}", author=actor)  # fmt: skip
    preview = preview_suppression(store, cfg, key, suppression)
    with ops.session() as s:
        if alert.state != "closed":
            workflow.move_alert(s, alert_id, "closed", actor=actor, why=why, close_reason=reason)
        return repo.propose(s, alert_id=alert_id, employee_id=alert.employee_id,
                            detector=detector, until=until, reason=reason, why=why,
                            actor=actor, preview=preview, at=now)  # fmt: skip


def decide_proposal(
    ops: OpsStore, proposal_id: int, to_status: str, *, actor: str, why: str = ""
) -> SuppressionProposal:
    with ops.session() as s:
        return repo.decide(s, proposal_id, to_status, actor=actor, why=why, at=_now(None))


def proposal(ops: OpsStore, proposal_id: int) -> SuppressionProposal:
    with ops.session() as s:
        return repo.proposal(s, proposal_id)


def proposals(ops: OpsStore, *, status: str | None = None) -> list[SuppressionProposal]:
    with ops.session() as s:
        return repo.proposals(s, status=status)


def applied_suppressions(ops: OpsStore) -> list[Suppression]:
    return [
        Suppression(
            employee_id=p.employee_id,
            detector=p.detector,
            until=p.until,
            reason=f"{p.reason}: {p.why}",
            author=APPLIED_AUTHOR + (p.decided_by or p.proposed_by),
        )  # fmt: skip
        for p in proposals(ops, status="applied")
    ]


def with_applied_suppressions(deployment: Deployment, ops: OpsStore) -> Deployment:
    """The deployment with the suppressions applied now (those applied before and since
    withdrawn are dropped) after those of its rules file."""
    cfg = deployment.detection
    from_file = [s for s in cfg.suppressions if not s.author.startswith(APPLIED_AUTHOR)]
    merged = list(dict.fromkeys([*from_file, *applied_suppressions(ops)]))
    return replace(deployment, detection=msgspec.structs.replace(cfg, suppressions=merged))
