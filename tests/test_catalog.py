"""The version lock: a detector's version is a hash of its query and configuration, and
a changed detector has its stored findings recomputed while the others stay as stored."""

from __future__ import annotations

import pytest

from detect_scenarios import ACT_DAY, AGENTS, at, replayed_copy, scenario
from insiderwatch.detect import DetectionConfig, active_detectors, run_detection
from insiderwatch.detect.base import DETECTORS
from insiderwatch.detect.catalog import content_version, history_config, shared_fingerprint
from insiderwatch.detect.config import ConfigError
from insiderwatch.detect.detectors.fixation import Fixation
from insiderwatch.detect.detectors.own_copies import OwnCopies
from insiderwatch.detect.history import read_findings
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from sample_data import KEY_HEX

KEY = HashKey(bytes.fromhex(KEY_HEX))
LOWER_FLOOR = DetectionConfig(detectors={"volume": {"floor": 4}})


def versions(cfg: DetectionConfig) -> dict[str, str]:
    return {d.id: content_version(d, cfg) for d in active_detectors(cfg)}


def test_a_config_value_changes_only_that_detectors_version():
    before, after = versions(DetectionConfig()), versions(LOWER_FLOOR)
    assert before == versions(DetectionConfig())  # a pure function of the content
    assert {d for d in before if before[d] != after[d]} == {"volume"}


def test_a_setting_that_shapes_a_recorded_history_changes_the_shared_fingerprint():
    """own_copies records its history with its window: a changed window must rebuild the
    recorded days (a full replay), where its other settings change its version alone."""
    base = shared_fingerprint(DetectionConfig())
    window = DetectionConfig(detectors={"own_copies": {"window_days": 7}})
    tail = DetectionConfig(detectors={"own_copies": {"max_tail": 0.01}})
    assert shared_fingerprint(window) != base
    assert shared_fingerprint(tail) == base


def test_a_disabled_detectors_configuration_never_shapes_the_recorded_history():
    """A plug-in switched off with a configuration it no longer accepts neither fails the
    fingerprint nor changes it: its history is recorded with its defaults."""
    bad = {"own_copies": {"window_days": "a fortnight", "no_such_setting": 1}}
    off = DetectionConfig(detectors=bad, disabled=["own_copies"])
    assert shared_fingerprint(off) == shared_fingerprint(DetectionConfig())
    assert history_config(OwnCopies, off).window_days == OwnCopies.Config().window_days
    seven = DetectionConfig(detectors={"own_copies": {"window_days": 7}})
    assert history_config(OwnCopies, seven).window_days == 7
    with pytest.raises(ConfigError):  # enabled, the same configuration is an error
        shared_fingerprint(DetectionConfig(detectors=bad))


def test_history_settings_name_settings_of_the_detector():
    for _, cls in DETECTORS:
        fields = set(cls.Config.__struct_fields__)
        assert set(cls.history_settings) <= fields, cls.id


def test_a_query_change_changes_the_version(monkeypatch):
    volume = DETECTORS.get("volume")
    before = content_version(volume(), DetectionConfig())
    original = volume.sql
    monkeypatch.setattr(volume, "sql", lambda self, ctx, c: original(self, ctx, c) + " LIMIT 1000")
    assert content_version(volume(), DetectionConfig()) != before


def company():
    """The volume scenario, and a look-up the next morning: the act's day is complete, so
    a later run has no reason to redo it except a changed detector."""
    c = scenario("volume")
    c.event(AGENTS[1], at(ACT_DAY + 1, 8), "view", ["c100"], ["name"])
    return c


@pytest.fixture
def detected(tmp_path, built_once):
    """The company detected with the default settings: a copy of one shared replay."""
    store = replayed_copy(company(), tmp_path, built_once)
    yield store
    store.close()


def stored_rows(store: Store) -> dict[str, tuple]:
    """finding id -> (detector, version, rowid): a rowid changes when a row is rewritten."""
    rows = store.con.execute("SELECT finding_id, detector, detector_version, rowid FROM findings")
    return {r[0]: r[1:] for r in rows.fetchall()}


def from_scratch(tmp_path, cfg: DetectionConfig):
    company().write(tmp_path / "scratch")
    store = Store(tmp_path / "scratch.duckdb", threads=1)
    ingest_dataset(store, tmp_path / "scratch", KEY)
    run_detection(store, cfg, KEY)
    found = read_findings(store.con)
    store.close()
    return found


def test_a_changed_config_recomputes_that_detectors_findings_only(detected, tmp_path):
    before = stored_rows(detected)
    assert {r[0] for r in before.values()} > {"volume"}, "other detectors should have findings"
    run = run_detection(detected, LOWER_FLOOR, KEY)
    assert run.rewound and "volume" in run.rewound
    after = stored_rows(detected)
    # Every other detector's findings are the very same rows; volume's were rewritten
    # with the new version, and match what a replay from scratch finds.
    others = {k: v for k, v in before.items() if v[0] != "volume"}
    assert {k: after[k] for k in others} == others
    new_version = content_version(DETECTORS.get("volume")(), LOWER_FLOOR)
    assert {v[1] for v in after.values() if v[0] == "volume"} == {new_version}
    assert read_findings(detected.con) == from_scratch(tmp_path, LOWER_FLOOR)
    assert run.per_detector.get("volume", 0) > 0


def test_a_changed_query_recomputes_that_detectors_findings(detected, monkeypatch):
    before = stored_rows(detected)
    volume = DETECTORS.get("volume")
    original = volume.sql
    monkeypatch.setattr(volume, "sql", lambda self, ctx, c: original(self, ctx, c) + " LIMIT 1000")
    run_detection(detected, DetectionConfig(), KEY)
    after = stored_rows(detected)
    assert set(after) == set(before)  # the same findings ...
    for fid, (detector, version, rowid) in before.items():
        if detector == "volume":  # ... volume's rewritten under the new version
            assert after[fid][1] != version and after[fid][2] != rowid
        else:
            assert after[fid] == (detector, version, rowid)


def test_a_disabled_detector_leaves_no_findings(detected):
    run_detection(detected, DetectionConfig(disabled=["volume"]), KEY)
    assert detected.scalar("SELECT count(*) FROM findings WHERE detector = 'volume'") == 0
    assert detected.scalar("SELECT count(*) FROM findings") > 0


def test_a_detectors_daily_queries_are_part_of_its_version():
    class Other(Fixation):
        def daily(self, ctx, config):
            return {k: v + " LIMIT 1" for k, v in super().daily(ctx, config).items()}

    cfg = DetectionConfig()
    assert content_version(Other(), cfg) != content_version(Fixation(), cfg)


def test_a_disabled_detectors_bad_configuration_never_stops_a_run(tmp_path):
    """The engine records own_copies' history while it is disabled, with its defaults:
    a configuration it never reads can't stop detection."""
    bad = {"own_copies": {"window_days": "a fortnight", "no_such_setting": 1}}
    off = DetectionConfig(detectors=bad, disabled=["own_copies"])
    found = from_scratch(tmp_path, off)
    assert found and {f.detector for f in found} - {"own_copies"}
    (tmp_path / "on").mkdir()
    assert from_scratch(tmp_path / "on", DetectionConfig(disabled=["own_copies"])) == found
