"""Detection use cases: a live step, a run with its summary, analyze (ingest + detect),
calibration and the current alerts. The engine itself is :mod:`insiderwatch.detect`."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path

from insiderwatch.alerts import (
    explained_share,
    read_alert_history,
    read_alerts,
    write_alerts_jsonl,
)
from insiderwatch.app.alerts import record_detection, record_lines
from insiderwatch.app.deployment import Deployment
from insiderwatch.app.feedback import with_applied_suppressions
from insiderwatch.app.ingest import failed, ingest_paths
from insiderwatch.app.keys import existing_key
from insiderwatch.contract import Alert
from insiderwatch.contract.runs import (
    Analysis,
    DetectionReport,
    DetectionSummary,
    DetectStep,
)
from insiderwatch.detect import DetectionRun, run_detection
from insiderwatch.detect.calibrate import Calibration, calibration, policy_yaml
from insiderwatch.detect.engine import day_left_partial, live_marks, step_bound
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store

DetectProgress = Callable[[int, int, dt.date], None]  # (steps done, steps, day)
STORE_NAME = "insiderwatch.duckdb"  # the store analyze keeps in its output folder


def _run(
    store: Store,
    deployment: Deployment,
    until: dt.datetime | None,
    progress,
    key: HashKey | None = None,
) -> tuple[DetectionSummary, DetectionRun]:
    began = time.perf_counter()
    # Alert ids are keyed with the key the store was hashed with (never a fresh one).
    key = key or existing_key(deployment.settings, store)
    run = run_detection(store, deployment.detection, key, until=until, progress=progress)
    return _summary(run, time.perf_counter() - began), run


def _summary(run: DetectionRun, seconds: float) -> DetectionSummary:
    return DetectionSummary(
        first_day=run.first_day,
        last_day=run.last_day,
        steps=run.steps,
        events=run.events,
        findings=run.findings,
        alerts=run.alerts,
        rewound=run.rewound,
        seconds=seconds,
        employees=run.employees,
        explained=run.explained,
    )


def detect_step(
    deployment: Deployment,
    *,
    store: Store | None = None,
    until: dt.datetime | None = None,
    progress: DetectProgress | None = None,
    record: bool = True,
    key: HashKey | None = None,
    max_days: int | None = None,
) -> DetectStep:
    """Advance the engine over what has arrived; return the alert-history lines that
    are new or changed (a late event may rewrite lines already published).

    ``record=False`` leaves the lines out of the operational store: the service
    publishes them there itself, from the store it holds open, and retries until they
    are taken, so recording them here too would open that store on every step for
    nothing. ``key``: the hashing key when the caller holds it (the server), else the
    configured one. ``max_days``: cover at most that many days from the watermark (the
    rest waits for the next step; ``caught_up`` says so), so a backlog of several days is
    published day by day instead of all at the end. A step that completes the day the
    last one left partial goes on over the next day's events in the same call when
    nothing later waits (the first step after midnight): they would otherwise wait for
    one more step."""
    with deployment.using(store, create=False) as s:
        marks = live_marks(s) if max_days is not None else None  # one read for both
        partial = marks is not None and day_left_partial(s, marks)
        summary, run, caught_up = _bounded_run(s, deployment, until, progress, key, max_days, marks)
        new = run.changed_lines
        if partial and not caught_up and step_bound(s, max_days) is None:
            # Two runs, just as two calls would make them: the step-split property of
            # the engine holds for them unchanged. A backlog of more days still comes a
            # day at a time, the partial day's completion first.
            more, run, caught_up = _bounded_run(s, deployment, until, progress, key, max_days)
            summary, new = _summed(summary, more), _later_wins(new, run.changed_lines)
    # The engine rewrites only the lines of employees whose findings changed and says
    # which lines are new or differ: only those go to the ops store, as a replay's would.
    recorded = record_lines(deployment, new) if new and record else None
    return DetectStep(summary=summary, new_lines=new, recorded=recorded, caught_up=caught_up)


def _bounded_run(
    store: Store, deployment: Deployment, until, progress, key, max_days: int | None, marks=None
) -> tuple[DetectionSummary, DetectionRun, bool]:
    """A run up to ``until`` covering at most ``max_days`` days from the watermark, and
    whether it reached every event it was asked to. ``marks``: the engine's live marks
    when read since the last run (``live_marks``)."""
    bound = step_bound(store, max_days, marks) if max_days else None
    if bound is not None and (until is None or until > bound):
        until = bound
    else:
        bound = None
    summary, run = _run(store, deployment, until, progress, key)
    return summary, run, bound is None


def _summed(first: DetectionSummary, then: DetectionSummary) -> DetectionSummary:
    """What two consecutive runs did, as one step."""
    return DetectionSummary(
        first_day=first.first_day or then.first_day,
        last_day=then.last_day or first.last_day,
        steps=first.steps + then.steps,
        events=first.events + then.events,
        findings=first.findings + then.findings,
        alerts=then.alerts,
        rewound=first.rewound or then.rewound,
        seconds=first.seconds + then.seconds,
        employees=then.employees,
        explained=first.explained + then.explained,
    )


def _later_wins(lines: list[Alert], later: list[Alert]) -> list[Alert]:
    """Two runs' new or changed lines in history order; where the later run rewrote a
    line of the earlier one, its version."""
    merged = {(a.alert_id, a.revision): a for a in lines}
    merged.update({(a.alert_id, a.revision): a for a in later})
    return list(merged.values())


def detect(
    deployment: Deployment,
    *,
    until: dt.datetime | None = None,
    top: int = 10,
    alerts_out: Path | None = None,
    progress: DetectProgress | None = None,
    store: Store | None = None,
) -> DetectionReport:
    """Run detection from where the last run stopped, with the suppressions applied in
    the console; write the alert history to ``alerts_out`` when given."""
    with deployment.open_ops() as ops:
        deployment = with_applied_suppressions(deployment, ops)
    with deployment.using(store, create=False) as s:
        summary, _ = _run(s, deployment, until, progress)
        if alerts_out is not None:
            write_alerts_jsonl(read_alert_history(s), alerts_out)
        return DetectionReport(
            summary=summary,
            explained=explained_share(s),
            top_alerts=read_alerts(s, top),
            recorded=record_detection(deployment, s),
        )


def analyze_dataset(
    deployment: Deployment,
    dataset: Path,
    out_dir: Path,
    *,
    top: int = 10,
    progress: Callable[[Path, int], None] | None = None,
    on_file_start: Callable[[Path, str, int], None] | None = None,
    detect_progress: DetectProgress | None = None,
) -> Analysis:
    """Ingest ``dataset`` into a store in ``out_dir`` and detect; the alert history goes
    to ``out_dir/alerts.jsonl``. A file that cannot be read stops before detection."""
    here = deployment.with_store(out_dir / STORE_NAME)
    ingested = ingest_paths(here, [dataset], progress=progress, on_file_start=on_file_start)
    if failed(ingested):
        return Analysis(ingest=ingested, detection=None, alerts_file=None)
    alerts_file = out_dir / "alerts.jsonl"
    report = detect(here, top=top, alerts_out=alerts_file, progress=detect_progress)
    return Analysis(ingest=ingested, detection=report, alerts_file=str(alerts_file))


def calibrate(
    deployment: Deployment, *, store: Store | None = None, policy_out: Path | None = None
) -> Calibration:
    """Bring detection up to date, then report the learned routine and alerts per day
    (staff as keyed pseudonyms); with ``policy_out``, write the routine there as a policy
    file to review."""
    with deployment.using(store, create=False) as s:
        key = existing_key(deployment.settings, s)
        run_detection(s, deployment.detection, key)
        found = calibration(s, deployment.detection, key)
        if policy_out is not None:
            policy_out.write_text(policy_yaml(found, s, key))
        return found


def current_alerts(
    deployment: Deployment, limit: int | None = None, *, store: Store | None = None
) -> list[Alert]:
    """Each alert as it stands now (its last history line), highest score first."""
    with deployment.using(store, create=False, read_only=True) as s:
        return read_alerts(s, limit)


def alert_history(deployment: Deployment, *, store: Store | None = None) -> list[Alert]:
    """Every line of the alert history, in the order it happened."""
    with deployment.using(store, create=False, read_only=True) as s:
        return read_alert_history(s)
