"""web.live.LiveDetection: when the writer's detection duty is due, and how far a step goes."""

from __future__ import annotations

import time
from types import SimpleNamespace

import msgspec
import pytest

from detect_scenarios import ACT_DAY, at
from insiderwatch import app
from insiderwatch.alerts import read_alert_history
from insiderwatch.contract import Alert
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from insiderwatch.web import live
from insiderwatch.web.live import JsonlSink, LiveDetection
from insiderwatch.web.metrics import Metrics
from sample_data import KEY_HEX
from test_alert_history import detect_episode, episode_company


@pytest.fixture
def duty(monkeypatch) -> LiveDetection:
    def slow_step(deployment, **_kw):  # a step that takes 0.3 s
        time.sleep(0.3)
        return SimpleNamespace(caught_up=True)

    monkeypatch.setattr(live, "detect_step", slow_step)
    monkeypatch.setattr(LiveDetection, "publish", lambda self, store: None)
    waiting = Backlog()
    duty = LiveDetection(
        None, [], Metrics(), interval=0.01, after_events=100, backlog=lambda: waiting.loads
    )
    duty.waiting = waiting
    return duty


class Backlog:
    loads = 0  # loads waiting in the writer's queue


def test_nothing_is_due_without_new_events(duty):
    assert duty.due(time.monotonic()) is None


def test_first_events_after_a_quiet_spell_wait_only_the_interval(duty):
    duty.arrived(5)
    assert duty.due(time.monotonic()) <= 0.01


def test_while_loads_wait_a_step_waits_as_long_as_the_last_one_took(duty):
    duty.arrived(5)
    duty.run(store=None)
    duty.arrived(5)  # more came while it ran
    duty.waiting.loads = 3  # and more are queued for the writer
    wait = duty.due(time.monotonic())
    assert 0.25 < wait < 2  # about the 0.3 s it took, not the 0.01 s interval
    duty.arrived(100)  # enough events waiting: at once
    assert duty.due(time.monotonic()) == 0.0


def test_with_no_load_waiting_a_step_does_not_rest_after_a_slow_one(duty):
    """Resting lets queued loads in; with none queued it would only delay the alert."""
    duty.arrived(5)
    duty.run(store=None)
    duty.arrived(5)
    assert duty.due(time.monotonic()) <= 0.01


def test_a_backlog_of_days_is_detected_and_published_a_day_at_a_time(tmp_path, built_once):
    """Days of events waiting: each step covers one day and publishes its lines, the next
    is due at once, and the published history is the one a replay gives (the episode
    company's replay, made once per run for every module that compares with it)."""
    dataset = episode_company().write(tmp_path / "dataset")
    deployment = app.load_deployment({"db": tmp_path / "iw.duckdb", "hash_key": KEY_HEX})
    app.ingest_paths(deployment, [dataset])
    with Store(built_once("episode-detected", detect_episode) / "iw.duckdb", threads=1,
               read_only=True) as replayed:  # fmt: skip
        replay = read_alert_history(replayed)
    assert replay, "the replay should raise alerts"
    app.detect_step(deployment, until=at(2, 0))  # detected up to the start of day 2
    sink = JsonlSink(tmp_path / "published.jsonl")
    duty = LiveDetection(
        deployment, [sink], Metrics(), key=HashKey(bytes.fromhex(KEY_HEX)), interval=0.0
    )
    duty.arrived(1)
    steps = 0
    with deployment.open_store() as store:
        live.prepare(store)
        while duty.due(time.monotonic()) is not None:
            duty.run(store)
            steps += 1
            day_end = at(2 + steps, 0)
            assert all(line.detected_at < day_end for line in read_published(sink))
            if steps < ACT_DAY - 1:
                assert duty.due(time.monotonic()) <= 0, "the next day is due at once"
    assert steps == ACT_DAY - 1  # days 2 to ACT_DAY, one step each
    order = lambda a: (a.detected_at, a.alert_id, a.revision)  # noqa: E731
    assert sorted(read_published(sink), key=order) == replay


def read_published(sink: JsonlSink) -> list[Alert]:
    if not sink.path.exists():
        return []
    return [msgspec.json.decode(raw, type=Alert) for raw in sink.path.read_bytes().splitlines()]
