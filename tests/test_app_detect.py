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
