"""The departing detector's sends: one to a destination the leaver's peer group has as a
routine flow weighs ``routine_weight`` of one elsewhere; how far it went beyond the
routine is exfiltration's to judge."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from detect_scenarios import at, detect
from insiderwatch.detect import DetectionConfig
from insiderwatch.detect.base import DETECTORS
from test_routine import ACT, by, company

DEPARTING = DETECTORS.get("departing")()


@pytest.fixture(scope="module")
def leavers(tmp_path_factory):
    """The routine company, where an1 (who exports far more than usual to the group's
    lake) and an3 (who exports a harvest to a cloud nobody in the group uses) both leave
    ten days after acting."""
    c = company()
    leaving = (at(ACT, 0) + dt.timedelta(days=10)).date().isoformat()
    for row in c.employees:
        if row["employee_id"] in ("an1", "an3"):
            row["departs_on"] = leaving
    store = detect(c, tmp_path_factory.mktemp("leavers"))
    yield c, store
    store.close()


def _departing(store, event_id: str) -> tuple[float, str, str]:
    (row,) = store.con.execute(
        "SELECT points, severity, reason FROM findings WHERE detector = 'departing' "
        "AND list_contains(event_ids, ?)",
        [event_id],
    ).fetchall()
    return row


def test_a_leavers_send_where_the_group_routinely_sends_weighs_routine_weight(leavers):
    c, store = leavers
    (wide,) = by(c, "an1", record_count=100_000)
    points, severity, reason = _departing(store, wide["event_id"])
    cfg = DetectionConfig().detector_config(DEPARTING)
    assert 0 < cfg.routine_weight < 1
    assert points == pytest.approx(cfg.outbound_points * cfg.routine_weight)
    assert severity == "low"
    assert "where the peer group routinely sends" in reason


def test_a_leavers_send_elsewhere_keeps_its_full_weight(leavers):
    c, store = leavers
    (send,) = by(c, "an3", destination="cloud:other")
    points, severity, reason = _departing(store, send["event_id"])
    assert points == DetectionConfig().detector_config(DEPARTING).outbound_points
    assert severity == "high" and "routinely" not in reason


def test_an_unknown_departure_date_makes_no_departing_finding(tmp_path: Path):
    store = detect(company(), tmp_path)
    n = store.scalar("SELECT count(*) FROM findings WHERE detector = 'departing'")
    store.close()
    assert n == 0
