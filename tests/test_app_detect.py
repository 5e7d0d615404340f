"""app.detect_step: events arriving in batches, the engine advanced after each, give the
same alert history as `analyze` on the whole dataset; each step returns what it added."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import msgspec
import pytest
from sqlalchemy import text

from detect_scenarios import ACT_DAY, INSIDER, at
from insiderwatch import app
from insiderwatch.contract import Alert
from sample_data import KEY_HEX
from test_alert_history import episode_company


def _deployment(folder):
    return app.load_deployment({"db": folder / "iw.duckdb", "hash_key": KEY_HEX})


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return episode_company().write(tmp_path_factory.mktemp("episode") / "dataset")


@pytest.fixture(scope="module")
def analyzed(dataset, tmp_path_factory) -> list[Alert]:
    out = tmp_path_factory.mktemp("analyze")
    analysis = app.analyze_dataset(_deployment(out), dataset, out)
    assert analysis.detection is not None and analysis.alerts_file is not None
    lines = Path(analysis.alerts_file).read_bytes().splitlines()
    return [msgspec.json.decode(line, type=Alert) for line in lines]


def _arrivals(dataset, cuts: list[dt.datetime]) -> list[list[str]]:
    """The access lines in time order, cut at ``cuts`` into batches."""
    lines = (dataset / "access.jsonl").read_text().splitlines()
    lines.sort(key=lambda line: json.loads(line)["time"])
    batches: list[list[str]] = [[] for _ in range(len(cuts) + 1)]
    for line in lines:
        when = dt.datetime.fromisoformat(json.loads(line)["time"])
        batches[sum(when >= cut for cut in cuts)].append(line)
    return batches


def test_live_steps_give_the_history_of_analyze(dataset, analyzed, tmp_path):
    assert any(a.employee_id == INSIDER for a in analyzed), "the insider must be caught"
    context = tmp_path / "context"
    shutil.copytree(dataset, context)
    (context / "access.jsonl").unlink()
    live = _deployment(tmp_path / "live")
    app.ingest_paths(live, [context])
    cuts = [at(ACT_DAY, 0), at(ACT_DAY, 9, 45), at(ACT_DAY, 12, 45)]
    returned: list[Alert] = []
    for k, batch in enumerate(_arrivals(dataset, cuts)):
        report = app.ingest_records(live, "access", batch, source="live", batch=str(k))
        assert report.totals.loaded == len(batch)
        returned += app.detect_step(live).new_lines
    history = app.alert_history(live)
    assert history == analyzed
    encoded = {msgspec.json.encode(a) for a in returned}
    assert all(msgspec.json.encode(a) in encoded for a in history)
    # The ops store, fed the lines of each step, holds the history of the replay.
    with live.open_ops() as ops, ops.engine.connect() as con:
        rows = con.execute(text("SELECT line FROM alert_lines WHERE superseded_at IS NULL"))
        recorded = [msgspec.json.decode(row.line, type=Alert) for row in rows]
    order = lambda a: (a.detected_at, a.alert_id, a.revision)  # noqa: E731
    assert sorted(recorded, key=order) == sorted(analyzed, key=order)


def test_a_step_with_nothing_new_returns_no_lines(dataset, tmp_path):
    deployment = _deployment(tmp_path)
    app.ingest_paths(deployment, [dataset])
    first = app.detect_step(deployment)
    assert first.new_lines == app.alert_history(deployment) and first.new_lines
    again = app.detect_step(deployment)
    assert again.new_lines == [] and again.summary.alerts == first.summary.alerts


def _live_until(dataset, folder, cut: dt.datetime):
    """A live deployment holding the context and the events before ``cut``, detected."""
    context = folder / "context"
    shutil.copytree(dataset, context)
    (context / "access.jsonl").unlink()
    live = _deployment(folder / "live")
    app.ingest_paths(live, [context])
    earlier, later = _arrivals(dataset, [cut])
    app.ingest_records(live, "access", earlier, source="live", batch="earlier")
    assert app.detect_step(live, max_days=1).caught_up
    return live, later


def test_a_step_across_midnight_publishes_the_new_days_alerts(dataset, analyzed, tmp_path):
    """The day before the insider's was left partial at noon; the next batch reaches
    11:30 on the insider's day. One step completes the earlier day and detects the new
    day's events: their alerts are among its lines, nothing waits for another step."""
    live, later = _live_until(dataset, tmp_path, at(ACT_DAY - 1, 12))
    now, rest = _arrivals_after(later, at(ACT_DAY, 11, 30))
    app.ingest_records(live, "access", now, source="live", batch="midnight")
    step = app.detect_step(live, max_days=1)
    day = at(ACT_DAY, 0).date()
    assert step.caught_up and step.summary.last_day == day
    today = [a for a in step.new_lines if a.detected_at.date() == day]
    assert INSIDER in {a.employee_id for a in today}
    assert today == [a for a in app.alert_history(live) if a.detected_at.date() == day]
    app.ingest_records(live, "access", rest, source="live", batch="rest")
    app.detect_step(live, max_days=1)
    assert app.alert_history(live) == analyzed


def test_a_backlog_after_a_partial_day_still_comes_a_day_at_a_time(dataset, analyzed, tmp_path):
    """With more than the next day waiting, the step that completes the partial day
    stops there, and each later step covers one day."""
    live, later = _live_until(dataset, tmp_path, at(ACT_DAY - 2, 12))
    app.ingest_records(live, "access", later, source="live", batch="backlog")
    for day in (ACT_DAY - 2, ACT_DAY - 1, ACT_DAY):
        step = app.detect_step(live, max_days=1)
        assert step.summary.steps == 1 and step.summary.last_day == at(day, 0).date()
        assert step.caught_up == (day == ACT_DAY)
    assert app.alert_history(live) == analyzed


def _arrivals_after(lines: list[str], cut: dt.datetime) -> tuple[list[str], list[str]]:
    """``lines`` before ``cut`` and from it on."""
    early = [dt.datetime.fromisoformat(json.loads(x)["time"]) < cut for x in lines]
    return [x for x, e in zip(lines, early, strict=True) if e], [
        x for x, e in zip(lines, early, strict=True) if not e
    ]
