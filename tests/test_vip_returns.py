"""The vip detector's returns: a figure the employee already looked up with no case on an
earlier day of the window weighs ``return_weight`` times a first look-up, whether or not
that day had a finding (here it is inside the learning window, when no detector judges);
an earlier look-up the same day is no return, in one replay or in a live run's earlier
step."""

from __future__ import annotations

from pathlib import Path

import msgspec

from detect_scenarios import ACT_DAY, INSIDER, at, detect, scenario
from insiderwatch.detect import DetectionConfig, run_detection
from insiderwatch.detect.base import DETECTORS
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from sample_data import KEY_HEX

VIP = DETECTORS.get("vip")()


def _mine(store, customer: str) -> list[dict]:
    cur = store.con.execute(
        "SELECT points, reason, event_ids, first_time, time FROM findings "
        "WHERE detector = 'vip' AND employee_id = ? AND customer_ids = [?] ORDER BY time",
        [INSIDER, customer],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _event_times(store, event_ids: list[str]) -> list:
    return [store.con.execute("SELECT time FROM access WHERE event_id = ?", [e]).fetchone()[0]
            for e in event_ids]  # fmt: skip


def _config(**settings) -> DetectionConfig:
    return msgspec.convert({"detectors": {"vip": settings}}, DetectionConfig)


def test_a_return_to_a_figure_on_another_day_weighs_return_weight_times(tmp_path: Path):
    c = scenario("vip")  # the insider opens VIP c001 with no case on ACT_DAY
    c.event(INSIDER, at(ACT_DAY - 2, 11), "view", ["c001"], ["name", "orders"], act=True)
    store = detect(c, tmp_path)
    (back,) = _mine(store, "c001")  # the earlier day is in the learning window
    # It cites the earlier day's look-up and today's, and its window starts there.
    times = _event_times(store, back["event_ids"])
    store.close()
    assert sorted(times) == [at(ACT_DAY - 2, 11), at(ACT_DAY, 11)]
    assert back["first_time"] == at(ACT_DAY - 2, 11) and back["time"] == at(ACT_DAY, 11)
    cfg = DetectionConfig().detector_config(VIP)
    assert cfg.return_weight > 1
    assert back["points"] == cfg.return_weight * cfg.points
    assert "back to them after 1 earlier day of looking them up with no case" in back["reason"]


def test_the_return_weight_is_a_setting(tmp_path: Path):
    c = scenario("vip")
    c.event(INSIDER, at(ACT_DAY - 2, 11), "view", ["c001"], ["name", "orders"], act=True)
    store = detect(c, tmp_path, _config(return_weight=3.0))
    (back,) = _mine(store, "c001")
    store.close()
    assert back["points"] == 3.0 * DetectionConfig().detector_config(VIP).points
    assert "weighs 3" in back["reason"]


def test_an_earlier_look_up_the_same_day_is_no_return(tmp_path: Path):
    c = scenario("vip")  # ... at 11:00, after this one at 09:00
    c.event(INSIDER, at(ACT_DAY, 9), "view", ["c001"], ["name", "orders"], act=True)
    store = detect(c, tmp_path)
    (today,) = _mine(store, "c001")
    assert _event_times(store, today["event_ids"]) == [at(ACT_DAY, 9)]
    store.close()
    assert today["points"] == DetectionConfig().detector_config(VIP).points
    assert "back to them" not in today["reason"]


def test_a_look_up_earlier_the_same_day_in_an_earlier_step_is_no_return(tmp_path: Path):
    """A live run records the day's look-ups as it goes: the 09:00 look-up is in
    revisit_days when the step holding 11:00 runs, and still no return, as in a replay."""
    c = scenario("vip")
    c.event(INSIDER, at(ACT_DAY, 9), "view", ["c001"], ["name", "orders"], act=True)
    c.write(tmp_path / "dataset")
    key = HashKey(bytes.fromhex(KEY_HEX))
    with Store(tmp_path / "iw.duckdb", threads=1) as store:
        ingest_dataset(store, tmp_path / "dataset", key)
        run_detection(store, DetectionConfig(), key, until=at(ACT_DAY, 10))
        run_detection(store, DetectionConfig(), key)
        (today,) = _mine(store, "c001")
        assert _event_times(store, today["event_ids"]) == [at(ACT_DAY, 9)]
    assert today["points"] == DetectionConfig().detector_config(VIP).points
    assert "back to them" not in today["reason"]
