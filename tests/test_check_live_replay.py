"""benchmarks/check_live_replay.py: its default company seed is a documented choice that
a flag overrides, and never one of the seeds the detection benchmark keeps untuned (its
default seeds and the hold-out seeds from its first on, read from bench_detect itself: a
range written here went stale when the measurement moved to other seeds)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench_modules import bench_module

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "check_live_replay.py"


def _help() -> str:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, check=True
    ).stdout


def test_the_default_seed_is_documented_and_outside_the_reserved_seeds():
    bench_detect = bench_module("bench_detect")
    check_live_replay = bench_module("check_live_replay")
    seed = check_live_replay.DEFAULT_SEED
    # hold-out companies take seeds from HOLDOUT_SEED on, one per company added
    holdout = range(bench_detect.HOLDOUT_SEED, bench_detect.HOLDOUT_SEED + 16)
    assert seed not in {*bench_detect.DEFAULT_SEEDS, *holdout}
    assert f"``DEFAULT_SEED`` ({seed})" in check_live_replay.__doc__
    text = _help()
    assert f"(default {seed})" in text
    assert "--seed" in text
