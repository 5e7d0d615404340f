"""web.live.LiveDetection: when the writer's detection duty is due."""

from __future__ import annotations

import time

import pytest

from insiderwatch.web import live
from insiderwatch.web.live import LiveDetection
from insiderwatch.web.metrics import Metrics


@pytest.fixture
def duty(monkeypatch) -> LiveDetection:
    def slow_step(deployment, **_kw):  # a step that takes 0.3 s
        time.sleep(0.3)

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
