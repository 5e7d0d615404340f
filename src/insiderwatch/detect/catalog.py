"""The detector catalogue's version lock: a detector's version is a hash of its content.

The content is what decides its findings: the query it renders (with every configuration
value the query embeds, shared helpers included) and the queries of the tables it learns
once a day (``Detector.daily``), its own configuration, and the revision
its author declares. Change any of them and the version changes, so the engine recomputes
that detector's stored findings instead of silently keeping ones an older detector made
(detection-rules' version lock, without a lock file to forget to bump).
"""

from __future__ import annotations

import datetime as dt
import hashlib

import msgspec

from insiderwatch.detect.base import DETECTORS, Detector, StepContext
from insiderwatch.detect.config import DetectionConfig, Risk

# Any fixed step renders the query: its times are parameters, not part of its text.
_DAY = dt.date(2000, 1, 3)
_START = dt.datetime(2000, 1, 3, tzinfo=dt.UTC)


def content_version(detector: Detector, cfg: DetectionConfig) -> str:
    """``<declared revision>-<hash of query text and configuration>``."""
    ctx = StepContext(
        day=_DAY,
        start=_START,
        end=_START + dt.timedelta(days=1),
        lookback_start=_START - dt.timedelta(days=1),
        baseline_start=_DAY - dt.timedelta(days=cfg.baseline_days),
        config=cfg,
    )
    own = cfg.detector_config(detector)
    parts = [detector.version, detector.sql(ctx, own), own]
    if daily := detector.daily(ctx, own):  # only where there are: other versions stay
        parts.append(daily)
    blob = msgspec.json.encode(parts)
    return f"{detector.version}-{hashlib.sha256(blob).hexdigest()[:12]}"


def shared_fingerprint(cfg: DetectionConfig) -> str:
    """The configuration every step's shared state (explanations, employee-days, the
    recorded histories) depends on. Per-detector settings are in each detector's version,
    except those that shape a recorded history (``Detector.history_settings``), which are
    here; risk and suppressions only shape alerts, which are recomputed from the findings
    after every run."""
    shared = msgspec.structs.replace(
        cfg, detectors={}, rule_paths=[], disabled=[], risk=Risk(), suppressions=[]
    )
    return hashlib.sha256(msgspec.json.encode([shared, history_settings(cfg)])).hexdigest()[:16]


def history_config(detector, cfg: DetectionConfig):
    """The settings a detector's recorded history is kept with: its configuration when
    it is enabled, its defaults when disabled. The engine records a disabled detector's
    history all the same, and its configuration (perhaps written for another version of
    a plug-in, the reason it was switched off) is never read, so it can neither fail a
    run nor change what is recorded."""
    if detector.id in cfg.disabled:
        return msgspec.convert({}, detector.Config)
    return cfg.detector_config(detector)


def history_settings(cfg: DetectionConfig) -> dict[str, dict]:
    """Every registered detector's settings that shape a recorded history, by detector
    id: as :func:`history_config` gives them (a disabled one's defaults)."""
    return {
        cls.id: {name: getattr(history_config(cls, cfg), name) for name in cls.history_settings}
        for _, cls in DETECTORS
        if cls.history_settings
    }
