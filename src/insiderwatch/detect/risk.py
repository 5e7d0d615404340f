"""The risk engine: findings become a per-employee score with decay, and alerts.

Each finding brings ``points`` (times ``departing_weight`` in the weeks before the
employee's departure date). Points decay with a half-life in days, so the employee's
risk at time t is

    R(t) = sum_i w_i * points_i * 2 ** (-(t - t_i) / half_life)
    score(t) = 100 * (1 - exp(-R(t) / scale))

An alert opens when the score reaches ``alert_score`` or a critical finding arrives;
while it is open, every new finding of that employee merges into it (score, reasons,
evidence) instead of opening another. It closes for merging once the score has decayed
below ``rearm_score``; a later rise opens a new alert. Suppressed findings are kept,
marked, and bring no points. The whole computation is a pure function of the findings,
so it is simply redone after every run: replay and live give the same alerts.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from insiderwatch.detect.config import DetectionConfig

SEVERITY_BANDS = ((85.0, "critical"), (70.0, "high"), (50.0, "medium"), (0.0, "low"))
_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}


def severity_for(score: float, critical: bool = False) -> str:
    if critical:
        return "critical"
    return next(name for bound, name in SEVERITY_BANDS if score >= bound)


@dataclass
class OpenAlert:
    alert_id: str
    employee_id: str
    detected_at: datetime
    first_seen: datetime
    last_seen: datetime
    score: float
    severity: str
    findings: list[dict] = field(default_factory=list)
    open: bool = True

    def absorb(self, f: dict, score: float) -> None:
        self.findings.append(f)
        self.first_seen = min(self.first_seen, f["first_time"])
        self.last_seen = max(self.last_seen, f["time"])
        self.score = max(self.score, score)
        sev = severity_for(self.score, f["critical"])
        self.severity = max(self.severity, sev, key=_RANK.__getitem__)

    def row(self) -> dict:
        def union(key: str) -> list[str]:
            seen: dict[str, None] = {}
            for f in self.findings:
                seen.update(dict.fromkeys(f[key]))
            return list(seen)

        return {
            "alert_id": self.alert_id,
            "employee_id": self.employee_id,
            "status": "open" if self.open else "closed",
            "score": round(self.score, 1),
            "severity": self.severity,
            "detected_at": self.detected_at,
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "updated_at": self.last_seen,
            "detectors": list(dict.fromkeys(f["detector"] for f in self.findings)),
            "reasons": [f["reason"] for f in self.findings],
            "event_ids": union("event_ids"),
            "customer_ids": union("customer_ids"),
            "finding_ids": [f["finding_id"] for f in self.findings],
        }


def _suppression(cfg: DetectionConfig, f: dict) -> str | None:
    for s in cfg.suppressions:
        if (
            s.employee_id == f["employee_id"]
            and s.detector in ("*", f["detector"])
            and f["time"].date() <= s.until
        ):
            return f"{s.reason} (until {s.until}{', ' + s.author if s.author else ''})"
    return None


def score_findings(findings: list[dict], departs: dict[str, object], cfg: DetectionConfig):
    """Alerts (as rows) and each finding's suppression, from findings in time order."""
    r = cfg.risk
    decay_per_day = math.log(2) / r.half_life_days
    state: dict[str, tuple[float, datetime]] = {}
    alerts: list[OpenAlert] = []
    current: dict[str, OpenAlert] = {}
    recent: dict[str, list[dict]] = {}
    suppressed: dict[str, str] = {}

    def decayed(emp: str, at: datetime) -> float:
        risk, since = state.get(emp, (0.0, at))
        days = (at - since) / timedelta(days=1)
        return risk * math.exp(-decay_per_day * max(days, 0.0))

    for f in findings:
        emp, at = f["employee_id"], f["time"]
        reason = _suppression(cfg, f)
        if reason:
            suppressed[f["finding_id"]] = reason
            continue
        risk = decayed(emp, at)
        alert = current.get(emp)
        if alert and 100 * (1 - math.exp(-risk / r.scale)) < r.rearm_score:
            alert.open = False
            del current[emp]
            alert = None
        weight = 1.0
        leaving = departs.get(emp)
        if leaving is not None and 0 <= (leaving - at.date()).days <= r.departing_window_days:
            weight = r.departing_weight
        risk += weight * f["points"]
        state[emp] = (risk, at)
        score = 100 * (1 - math.exp(-risk / r.scale))
        pending = recent.setdefault(emp, [])
        pending.append(f)
        if alert:
            alert.absorb(f, score)
        elif score >= r.alert_score or f["critical"]:
            # The alert carries the findings that still weigh in the score.
            live = [
                g for g in pending
                if g["points"] * math.exp(-decay_per_day * (at - g["time"]) / timedelta(days=1)) >= 1
            ]  # fmt: skip
            digest = hashlib.sha256(f"{emp}|{f['finding_id']}".encode()).hexdigest()[:16]
            alert = OpenAlert(
                alert_id=f"A-{digest}",
                employee_id=emp,
                detected_at=at,
                first_seen=min(g["first_time"] for g in live),
                last_seen=at,
                score=score,
                severity=severity_for(score, f["critical"]),
            )
            for g in live:
                alert.absorb(g, score)
            alerts.append(alert)
            current[emp] = alert
            recent[emp] = []
    return [a.row() for a in alerts], suppressed
