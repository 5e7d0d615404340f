"""The risk engine: findings become a per-employee score with decay, and the alert history.

Each finding brings ``points`` (times ``departing_weight`` in the weeks before the
employee's departure date). Points decay with a half-life in days, so the employee's
risk at time t is

    R(t) = sum_i w_i * points_i * 2 ** (-(t - t_i) / half_life)
    score(t) = 100 * (1 - exp(-R(t) / scale))

An alert opens when the score reaches ``alert_score`` or a critical finding arrives;
while it is open (the employee's *episode*), every new finding of that employee joins it
instead of opening another. The episode ends once the score has decayed below
``rearm_score``; a later rise opens a new alert.

The output is a history, not a snapshot: one line when the alert opens and one each time
later findings change it, every line stamped with the time of the findings that made it.
A line therefore never cites evidence later than its own ``detected_at``, and the alert id
(employee + opening time) is the same in every replay. Suppressed findings are kept,
marked, and bring no points. The computation is a pure function of the findings, so it
is simply redone after every run: replay and live give the same history.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from insiderwatch.contract import Alert, Finding
from insiderwatch.detect.config import DetectionConfig
from insiderwatch.detect.summary import summarise

SEVERITY_BANDS = ((85.0, "critical"), (70.0, "high"), (50.0, "medium"), (0.0, "low"))
_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}


def severity_for(score: float, critical: bool = False) -> str:
    if critical:
        return "critical"
    return next(name for bound, name in SEVERITY_BANDS if score >= bound)


@dataclass
class Episode:
    """An open alert: the findings it holds so far and the lines it has written."""

    alert_id: str
    employee_id: str
    opened_at: datetime
    score: float = 0.0
    severity: str = "low"
    findings: list[Finding] = field(default_factory=list)
    events: dict[str, None] = field(default_factory=dict)
    customers: dict[str, None] = field(default_factory=dict)
    revision: int = -1

    def absorb(self, f: Finding, score: float) -> None:
        self.findings.append(f)
        self.events.update(dict.fromkeys(f.event_ids))
        self.customers.update(dict.fromkeys(f.customer_ids))
        self.score = max(self.score, score)
        sev = severity_for(self.score, f.critical)
        self.severity = max(self.severity, sev, key=_RANK.__getitem__)

    def line(self, at: datetime) -> Alert:
        """The alert as it stands at ``at``, the time of its latest findings."""
        self.revision += 1
        reasons, summary = summarise(self.findings, len(self.customers))
        return Alert(
            alert_id=self.alert_id,
            revision=self.revision,
            employee_id=self.employee_id,
            score=round(self.score, 1),
            severity=self.severity,
            detected_at=at,
            opened_at=self.opened_at,
            first_seen=min(f.window_start for f in self.findings),
            last_seen=max(f.detected_at for f in self.findings),
            summary=summary,
            detectors=list(dict.fromkeys(f.detector for f in self.findings)),
            reasons=reasons,
            event_ids=list(self.events),
            customer_ids=list(self.customers),
            finding_ids=[f.finding_id for f in self.findings],
        )


def _suppression(cfg: DetectionConfig, f: Finding) -> str | None:
    for s in cfg.suppressions:
        if (
            s.employee_id == f.employee_id
            and s.detector in ("*", f.detector)
            and f.detected_at.date() <= s.until
        ):
            return f"{s.reason} (until {s.until}{', ' + s.author if s.author else ''})"
    return None


def alert_id(employee_id: str, opened_at: datetime) -> str:
    digest = hashlib.sha256(f"{employee_id}|{opened_at.isoformat()}".encode()).hexdigest()
    return f"A-{digest[:16]}"


def score_findings(
    findings: list[Finding], departs: dict[str, object], cfg: DetectionConfig
) -> tuple[list[Alert], dict[str, str]]:
    """The alert history (lines in time order) and each finding's suppression, from
    findings in time order."""
    r = cfg.risk
    decay_per_day = math.log(2) / r.half_life_days
    state: dict[str, tuple[float, datetime]] = {}
    current: dict[str, Episode] = {}
    recent: dict[str, list[Finding]] = {}
    suppressed: dict[str, str] = {}
    history: list[Alert] = []
    changed: dict[str, Episode] = {}  # alerts changed by the findings of one instant

    def decayed(emp: str, at: datetime) -> float:
        risk, since = state.get(emp, (0.0, at))
        days = (at - since) / timedelta(days=1)
        return risk * math.exp(-decay_per_day * max(days, 0.0))

    def flush(at: datetime) -> None:
        history.extend(changed[k].line(at) for k in sorted(changed))
        changed.clear()

    for i, f in enumerate(findings):
        emp, at = f.employee_id, f.detected_at
        reason = _suppression(cfg, f)
        if reason:
            suppressed[f.finding_id] = reason
        else:
            risk = decayed(emp, at)
            episode = current.get(emp)
            if episode and 100 * (1 - math.exp(-risk / r.scale)) < r.rearm_score:
                del current[emp]
                episode = None
            weight = 1.0
            leaving = departs.get(emp)
            if leaving is not None and 0 <= (leaving - at.date()).days <= r.departing_window_days:
                weight = r.departing_weight
            risk += weight * f.points
            state[emp] = (risk, at)
            score = 100 * (1 - math.exp(-risk / r.scale))
            pending = recent.setdefault(emp, [])
            pending.append(f)
            if episode:
                episode.absorb(f, score)
                changed[episode.alert_id] = episode
            elif score >= r.alert_score or f.critical:
                # The alert carries the findings that still weigh in the score.
                live = [
                    g for g in pending[:-1]
                    if g.points * math.exp(-decay_per_day * (at - g.detected_at) / timedelta(days=1)) >= 1
                ] + [f]  # fmt: skip
                episode = Episode(alert_id(emp, at), emp, at)
                for g in live:
                    episode.absorb(g, score)
                current[emp] = changed[episode.alert_id] = episode
                recent[emp] = []
        if i + 1 == len(findings) or findings[i + 1].detected_at != at:
            flush(at)
    return history, suppressed
