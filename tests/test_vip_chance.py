"""`vip` weighs a day's n-th figure by the chance of meeting that many among the
employee's own case-less look-ups of the day so far, not only by the peers' days.

A counter where every agent looks up walk-ins with no case all day meets a VIP now and
then: one a day among each of the peers' eighty walk-ins. A busy agent who meets all three of the
company's VIPs among the day's walk-ins was two full findings (no peer ever met two in a
day), an alert; at the peers' rate per look-up, three among that many walk-ins is no
rarity. A snoop of the same counter who opens the three first thing in the morning, before
any walk-in, is as rare as before and still alerts.
"""

from __future__ import annotations

import pytest

from detect_scenarios import ACT_DAY, AGENTS, at, base_company, continued
from insiderwatch.detect import DetectionConfig
from insiderwatch.detect.base import DETECTORS

VIPS = ["c000", "c001", "c002"]  # the base company's flagged VIPs
WALK_INS = [f"c{i:03d}" for i in range(200, 350)]  # never anyone's case
PER_DAY = 80  # walk-ins each agent looks up with no case a day
BUSY = AGENTS[1]


def _counter(snoop: bool):
    """The base company's agents working a counter: PER_DAY case-less walk-ins a day each,
    one of them a VIP; on the act day BUSY meets the three VIPs among its walk-ins (the
    last after all of them), or (``snoop``) opens them before its first walk-in."""
    c = base_company()
    for day in range(1, ACT_DAY + 1):
        for n, e in enumerate(AGENTS):
            if day == ACT_DAY and e == BUSY:
                continue
            for k in range(PER_DAY):
                customer = WALK_INS[(day * 7 + n * 13 + k) % len(WALK_INS)]
                if k == 40:
                    customer = VIPS[(day + n) % len(VIPS)]
                c.event(e, at(day, 8, k // 2, 30 * (k % 2)), "view", [customer], ["name"])
    start = 9 if snoop else 8  # the snoop's walk-ins begin after the VIPs
    for k in range(PER_DAY):
        c.event(BUSY, at(ACT_DAY, start, k // 2, 30 * (k % 2)), "view",
                [WALK_INS[(k * 3) % len(WALK_INS)]], ["name"])  # fmt: skip
    for k, vip in enumerate(VIPS):
        # After the 30th, 60th and 80th walk-in, or at 08:0k before the first.
        when = at(ACT_DAY, 8, k) if snoop else at(ACT_DAY, 8, (15, 30, 39)[k], 45)
        c.event(BUSY, when, "view", [vip], ["name"], act=snoop)
    return c


def _vip_points(store, employee: str) -> float:
    return store.scalar(
        "SELECT coalesce(sum(points), 0) FROM findings WHERE detector = 'vip' "
        "AND employee_id = ? AND day = ?",
        [employee, at(ACT_DAY, 0).date()],
    )


def _alerted(store, employee: str) -> bool:
    return store.scalar("SELECT count(*) FROM alerts WHERE employee_id = ?", [employee]) > 0


@pytest.fixture(scope="module")
def full_points() -> float:
    return DetectionConfig().detector_config(DETECTORS.get("vip")()).points


def test_three_vips_among_a_busy_counters_walk_ins_are_no_alert(built_once, full_points):
    store = continued(_counter(snoop=False), built_once)
    # The peers never met two VIPs in a day: by their days alone, the second and third
    # weighed in full. Among eighty walk-ins at the peers' rate, three are chance.
    assert _vip_points(store, BUSY) < full_points
    assert not _alerted(store, BUSY)
    (reason,) = store.con.execute(
        "SELECT arg_max(reason, points) FROM findings WHERE detector = 'vip' AND employee_id = ?",
        [BUSY],
    ).fetchone()
    assert "look-up(s) with no case today" in reason
    store.close()


def test_the_same_vips_opened_before_any_walk_in_still_alert(built_once, full_points):
    store = continued(_counter(snoop=True), built_once)
    # Nothing looked up before them but each other: no chance to meet them by.
    assert _vip_points(store, BUSY) >= 2 * full_points
    assert _alerted(store, BUSY)
    store.close()
