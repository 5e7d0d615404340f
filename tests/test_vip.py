"""The vip detector's weighting: a targeted, sensitive look-up of a famous customer (a
name search, then the record opened with contact or payment fields), a second opening of
the same one, and a VIP after earlier VIP findings weigh more; the peers' routine stays
quiet however it is done (tests/test_detect.py)."""

from __future__ import annotations

from pathlib import Path

from detect_scenarios import ACT_DAY, AGENTS, INSIDER, at, base_company, detect
from insiderwatch.detect import DetectionConfig
from insiderwatch.detect.base import DETECTORS

CFG = DetectionConfig().detector_config(DETECTORS.get("vip")())


def vip_findings(store, employee: str = INSIDER) -> list[dict]:
    cur = store.con.execute(
        "SELECT time, points, reason, event_ids, customer_ids FROM findings "
        "WHERE detector = 'vip' AND employee_id = ? ORDER BY time, finding_id",
        [employee],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def test_opening_the_same_vip_again_is_a_second_finding_at_the_second_opening(tmp_path: Path):
    c = base_company()
    first = c.event(INSIDER, at(ACT_DAY, 11), "view", ["c001"], ["name", "orders"], act=True)
    again = c.event(INSIDER, at(ACT_DAY, 11, 3), "view", ["c001"], ["name", "orders"], act=True)
    c.event(INSIDER, at(ACT_DAY, 12), "view", ["c002"], ["name", "orders"], act=True)
    store = detect(c, tmp_path)
    found = vip_findings(store)
    c001 = [f for f in found if f["customer_ids"] == ["c001"]]
    # One finding at the first opening, one at the second, citing nothing later.
    assert [f["time"] for f in c001] == [at(ACT_DAY, 11), at(ACT_DAY, 11, 3)]
    assert c001[0]["event_ids"] == [first] and sorted(c001[1]["event_ids"]) == [first, again]
    assert c001[1]["points"] == CFG.repeat_share * c001[0]["points"] > 0
    assert c001[1]["reason"].startswith("opened again")
    # Opened once: one finding.
    assert len([f for f in found if f["customer_ids"] == ["c002"]]) == 1
    store.close()


def test_a_vip_after_earlier_vip_findings_weighs_escalation_times_more(tmp_path: Path):
    c = base_company()
    c.event(INSIDER, at(ACT_DAY - 1, 17), "view", ["c001"], ["name", "orders"], act=True)
    c.event(INSIDER, at(ACT_DAY, 11), "view", ["c002"], ["name", "orders"], act=True)
    c.event(AGENTS[1], at(ACT_DAY, 11), "view", ["c002"], ["name", "orders"])  # no history
    store = detect(c, tmp_path)
    earlier, later = vip_findings(store)
    (other,) = vip_findings(store, AGENTS[1])
    # Both VIPs are the insider's first in a group that never looks them up: full weight,
    # the second escalated by the first; a colleague with no VIP findings before is not.
    assert earlier["points"] == CFG.points
    assert later["points"] == CFG.escalation * CFG.points > CFG.points
    assert "days before" not in other["reason"] and other["points"] <= CFG.points
    assert f"VIP findings in the {CFG.window_days} days before" in later["reason"]
    store.close()
