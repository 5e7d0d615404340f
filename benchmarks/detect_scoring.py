"""Scoring ranked alerts against the simulator's ground truth, the same way for every
system in the detection benchmark (ours and the baselines)."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable

import numpy as np

from insiderwatch.contract import Alert

BUDGETS = (0.5, 1.0, 2.0, 5.0)  # alerts per 1,000 employee-days

# An alert as a ranking sees it: (employee, the moments it stood, earliest first).
Ranked = list[tuple[str, list[dt.datetime]]]


def rank_alert_lines(lines: Iterable[Alert]) -> Ranked:
    """Alerts best first from alerts.jsonl lines. Where the file is an alert history (one
    line per change), the lines of one ``alert_id`` are one alert, ranked by its highest
    score and standing from each line's ``detected_at`` on."""
    by_id: dict[str, tuple[str, float, list[dt.datetime]]] = {}
    for line in lines:
        emp, best, times = by_id.get(line.alert_id, (line.employee_id, 0.0, []))
        by_id[line.alert_id] = (emp, max(best, line.score), [*times, line.detected_at])
    order = sorted(by_id.items(), key=lambda kv: (-kv[1][1], min(kv[1][2]), kv[0]))
    return [(emp, sorted(times)) for _, (emp, _, times) in order]


def score(ranked: Ranked, insiders: dict[str, dict], employee_days: int) -> list[dict]:
    """Recall, precision and time-to-detect at each budget. The top ``budget x
    employee-days / 1000`` alerts are kept; one detects an insider when it stands at or
    after the insider's first malicious event (time-to-detect is measured from there)."""
    out = []
    for budget in BUDGETS:
        k = max(1, round(budget * employee_days / 1000))
        top = ranked[:k]
        caught: dict[str, float] = {}
        true_alerts = 0
        for emp, times in top:
            ins = insiders.get(emp)
            when = next((t for t in times if ins and t >= ins["first"]), None)
            if when is None:
                continue
            true_alerts += 1
            hours = (when - ins["first"]).total_seconds() / 3600
            caught[emp] = min(hours, caught.get(emp, hours))
        per_scenario: dict[str, list[int]] = {}
        for emp, ins in insiders.items():
            got = per_scenario.setdefault(ins["scenario"], [0, 0])
            got[0] += emp in caught
            got[1] += 1
        ttd = sorted(caught.values())
        out.append({
            "budget": budget, "alerts": len(top),
            "recall": len(caught) / len(insiders) if insiders else 0.0,
            "precision": true_alerts / len(top) if top else 0.0,
            "ttd_median_h": statistics.median(ttd) if ttd else None,
            "ttd_p90_h": float(np.percentile(ttd, 90)) if ttd else None,
            "per_scenario": per_scenario,  # scenario -> [caught, insiders]
        })  # fmt: skip
    return out
