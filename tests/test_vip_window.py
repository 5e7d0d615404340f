"""The ``vip`` detector's window (``detect/vipwindow.py``): the employee judged by how many
different VIPs they looked up with no case over the last days, against the peers' windows;
each VIP shared among the staff who looked them up."""

from __future__ import annotations

from pathlib import Path

from detect_scenarios import AGENTS, Company, at, base_company, detect
from insiderwatch.detect import DetectionConfig
from insiderwatch.detect.detectors.vip import Vip

# Under a fortnight: staff busy on every calendar day for longer look like machines.
DAYS = 13
SNOOP = AGENTS[1]
VIPS = [f"c{200 + k:03d}" for k in range(60)]  # no case, no quick look-up touches these


def _company() -> Company:
    c = base_company(days=DAYS)
    for row in c.customers:
        if row["customer_id"] in VIPS:
            row["is_vip"] = True
    return c


def _look(c: Company, employee: str, day: int, vip: str, minute: int = 0) -> str:
    return c.event(employee, at(day, 11, minute), "view", [vip], ["name", "phone"], act=True)


def _window_findings(store) -> list[dict]:
    cur = store.con.execute(
        "SELECT employee_id, points, event_ids, customer_ids FROM findings "
        "WHERE detector = 'vip' AND len(customer_ids) > 1 ORDER BY time"
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def test_several_different_vips_over_days_make_one_window_finding_citing_them(tmp_path: Path):
    """One VIP a day on three days: each day alone is a single look-up; the window holds
    two on the second day, which no peer's window ever did: the window's weight in full
    at once, and nothing more for the third."""
    c = _company()
    looked = [_look(c, SNOOP, day, vip) for day, vip in zip((9, 11, 13), VIPS[:3], strict=True)]
    store = detect(c, tmp_path)
    found = _window_findings(store)
    store.close()
    (finding,) = found
    assert finding["employee_id"] == SNOOP
    assert finding["event_ids"] == looked[:2]
    assert finding["customer_ids"] == VIPS[:2]
    assert finding["points"] == DetectionConfig().detector_config(Vip()).window_points


def test_vip_calls_as_many_as_the_peers_take_are_no_window_finding_five_are(tmp_path: Path):
    """Every agent takes two VIPs' calls a week with no case: two VIPs in a week is the
    peers' routine. The snoop's five in a week is not."""
    c = _company()
    for i, e in enumerate(AGENTS[2:]):
        for n, day in enumerate(
            d
            for start in range(1, DAYS + 1, 7)
            for d in (start + i % 4, start + 3 + i % 3)
            if d <= DAYS
        ):
            _look(c, e, day, VIPS[10 + 4 * i + n], minute=30)  # nobody else's
    for k, day in enumerate((9, 10, 11, 12, 13)):
        _look(c, SNOOP, day, VIPS[k])
    store = detect(c, tmp_path)
    flagged = {f["employee_id"] for f in _window_findings(store)}
    store.close()
    assert flagged == {SNOOP}


def test_a_vip_everyone_looks_up_counts_for_little(tmp_path: Path):
    """Everyone opened VIP 0 (a famous caller): an agent who also opened one VIP of their
    own holds barely more than one VIP in the window; one who opened two of their own
    holds two."""
    c = _company()
    for i, e in enumerate(AGENTS):
        _look(c, e, 3 + i % 5, VIPS[0], minute=40)
    _look(c, AGENTS[2], 10, VIPS[0], minute=10)
    _look(c, AGENTS[2], 11, VIPS[1])
    _look(c, SNOOP, 10, VIPS[2])
    _look(c, SNOOP, 11, VIPS[3])
    store = detect(c, tmp_path)
    flagged = {f["employee_id"] for f in _window_findings(store)}
    store.close()
    assert flagged == {SNOOP}
