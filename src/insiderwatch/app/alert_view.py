"""The alert page's use case: the alert as triage holds it (reading it is audited),
detection's latest line, the baselines its findings crossed with the days around them,
and its evidence events with their explanations."""

from __future__ import annotations

import datetime as dt

import msgspec

from insiderwatch.app.alerts import show
from insiderwatch.contract.console import AlertView, BaselineMove, DayValue
from insiderwatch.investigate import alert_story
from insiderwatch.store import Store
from insiderwatch.store.ops import OpsStore

EVIDENCE_SHOWN = 200  # events listed on the page; the count says how many there are


def alert_view(
    ops: OpsStore, store: Store, alert_id: str, *, actor: str, baseline_days: int
) -> AlertView:
    """Raises ``WorkflowError`` when the ops store has no such alert."""
    dossier = show(ops, alert_id, actor=actor, why="opened the alert page")
    line = dossier.revisions[-1] if dossier.revisions else {}
    employee = dossier.alert.employee_id
    first_seen = _time(line.get("first_seen")) or dossier.alert.opened_at
    last_seen = _time(line.get("last_seen")) or dossier.alert.detected_at
    found = alert_story.findings(store, list(line.get("finding_ids", [])))
    baselines = []
    for f in found:
        if not f.measure:
            continue
        end = f.detected_at.date()
        start = end - dt.timedelta(days=baseline_days)
        group, days = alert_story.measure_days(store, employee, f.measure, start, end)
        # The alert's day: what detection saw when the finding fired, and the line.
        days.append(DayValue(day=end, own=f.observed or 0.0, line=f.threshold))
        baselines.append(
            BaselineMove(
                detector=f.detector,
                measure=f.measure,
                meaning=alert_story.measure_meaning(f.measure),
                observed=f.observed,
                threshold=f.threshold,
                own_usual=f.own_usual,
                peer_usual=f.peer_usual,
                peer_group=group,
                window_start=start,
                window_end=end,
                days=days,
            )
        )
    event_ids = list(line.get("event_ids", []))
    window = (first_seen, dossier.alert.detected_at)
    return AlertView(
        dossier=dossier,
        reasons=list(line.get("reasons", [])),
        detectors=list(line.get("detectors", [])),
        first_seen=first_seen,
        last_seen=last_seen,
        baselines=baselines,
        evidence=alert_story.evidence(store, employee, event_ids, window, EVIDENCE_SHOWN),
        evidence_total=len(event_ids),
    )


def _time(value: str | None) -> dt.datetime | None:
    return msgspec.convert(value, dt.datetime) if value else None
