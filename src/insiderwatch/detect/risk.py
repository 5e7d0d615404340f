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
(a keyed hash of employee + opening time) is the same in every replay with the same key. Suppressed findings are kept,
marked, and bring no points. The computation is a pure function of each employee's
findings, so after a run it is redone for the employees whose findings changed
(:mod:`~insiderwatch.detect.history`): replay and live give the same history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from insiderwatch.contract import Alert, Finding
from insiderwatch.detect.config import DetectionConfig
from insiderwatch.detect.summary import summarise
from insiderwatch.privacy import HashKey

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


def suppression_of(
    cfg: DetectionConfig, employee_id: str, detector: str, detected_at: datetime
) -> str | None:
    """Why a finding of ``detector`` on ``employee_id`` at ``detected_at`` is suppressed
    (the first suppression that covers it), or None."""
    for s in cfg.suppressions:
        if (
            s.employee_id == employee_id
            and s.detector in ("*", detector)
            and detected_at.date() <= s.until
        ):
            return f"{s.reason} (until {s.until}{', ' + s.author if s.author else ''})"
    return None


def alert_id(key: HashKey, employee_id: str, opened_at: datetime) -> str:
    """``A-`` + 16 hex of the keyed hash of employee and opening time. Keyed, because a
    plain hash of the pair could be matched against the roster to tell whose alert an id
    is; with the deployment key, replay and live still give every alert the same id."""
    digest = key.digest("alert", f"{employee_id}|{opened_at.isoformat()}") or ""
    return f"A-{digest[:16]}"


class _Scorer:
    """Each employee's decaying risk and open episode, fed findings in time order."""

    def __init__(self, cfg: DetectionConfig, departs: dict[str, date], key: HashKey):
        self.r = cfg.risk
        self.key = key
        self.departs = departs
        self.decay_per_day = math.log(2) / self.r.half_life_days
        self.risk: dict[str, tuple[float, datetime]] = {}
        self.open: dict[str, Episode] = {}
        # Findings since the employee's last alert opened that no episode holds.
        self.recent: dict[str, list[Finding]] = {}

    def _decayed(self, points: float, since: datetime, at: datetime) -> float:
        days = max((at - since) / timedelta(days=1), 0.0)
        return points * math.exp(-self.decay_per_day * days)

    def _score(self, risk: float) -> float:
        return 100 * (1 - math.exp(-risk / self.r.scale))

    def _weight(self, f: Finding) -> float:
        leaving = self.departs.get(f.employee_id)
        if (
            leaving is not None
            and 0 <= (leaving - f.detected_at.date()).days <= self.r.departing_window_days
        ):
            return self.r.departing_weight
        return 1.0

    def add(self, f: Finding) -> Episode | None:
        """Score ``f``; the episode it opened or changed, if any."""
        emp, at = f.employee_id, f.detected_at
        risk, since = self.risk.get(emp, (0.0, at))
        risk = self._decayed(risk, since, at)
        if emp in self.open and self._score(risk) < self.r.rearm_score:
            del self.open[emp]  # the episode ended while the score decayed
        risk += self._weight(f) * f.points
        self.risk[emp] = (risk, at)
        score = self._score(risk)
        episode = self.open.get(emp)
        if episode:
            episode.absorb(f, score)
            return episode
        pending = self.recent.setdefault(emp, [])
        pending.append(f)
        if score < self.r.alert_score and not f.critical:
            return None
        # The alert carries the findings that still weigh in the score.
        live = [g for g in pending[:-1] if self._decayed(g.points, g.detected_at, at) >= 1]
        episode = self.open[emp] = Episode(alert_id(self.key, emp, at), emp, at)
        for g in [*live, f]:
            episode.absorb(g, score)
        self.recent[emp] = []
        return episode


def score_findings(
    findings: list[Finding], departs: dict[str, date], cfg: DetectionConfig, key: HashKey
) -> tuple[list[Alert], dict[str, str]]:
    """The alert history (lines in time order) and each finding's suppression, from
    findings in time order; ``key`` (the deployment's hashing key) makes the alert ids."""
    scorer = _Scorer(cfg, departs, key)
    history: list[Alert] = []
    suppressed: dict[str, str] = {}
    changed: dict[str, Episode] = {}
    for i, f in enumerate(findings):
        reason = suppression_of(cfg, f.employee_id, f.detector, f.detected_at)
        if reason:
            suppressed[f.finding_id] = reason
        elif (episode := scorer.add(f)) is not None:
            changed[episode.alert_id] = episode
        # One line per alert and instant: findings of the same moment change it once.
        if i + 1 == len(findings) or findings[i + 1].detected_at != f.detected_at:
            history.extend(changed[k].line(f.detected_at) for k in sorted(changed))
            changed.clear()
    return history, suppressed
