"""app.process: the garbage-collector tuning `insiderwatch serve` and `insiderwatch
collect` both run under."""

from __future__ import annotations

import gc

from insiderwatch.app.process import GC_YOUNG_THRESHOLD, long_running_gc


def test_long_running_gc_freezes_what_exists_and_collects_the_young_less_often():
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    with long_running_gc():
        assert gc.get_freeze_count() > frozen_before
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
    # Left as found: the CLI tests run `collect` in this process.
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen_before


def test_long_running_gc_restores_when_the_block_fails():
    before, frozen_before = gc.get_threshold(), gc.get_freeze_count()
    try:
        with long_running_gc():
            raise KeyError("stop")
    except KeyError:
        pass
    assert gc.get_threshold() == before and gc.get_freeze_count() == frozen_before
