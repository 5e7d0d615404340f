"""The look-up allowance grows with the employee's own work: golden cases on a hand-built
branch whose tellers look each walk-in customer up without a case and then post their
transaction. The busiest teller, with twice the group's work at the group's pace, is
explained; a teller with a usual day's work who adds look-ups gets nothing more than the
fixed amount gave, and is still caught; a group whose look-ups do not follow its work
gets no pace; switched off, the busiest teller is past the usual again."""

from __future__ import annotations

import msgspec
import pytest

from detect_scenarios import Company, at, detect, explanations, lookups
from insiderwatch.detect import DetectionConfig
from insiderwatch.detect.calibrate import calibration
from insiderwatch.detect.config import Allowance

DAYS = 14
LEARNED = 8  # the first day after the learning window (7 days)
HARVEST = range(9, DAYS + 1)
# Walk-ins each teller serves a day: each one a look-up, then a transaction posted.
TELLERS = {f"t{i}": 8 + i % 5 for i in range(8)}
BUSY = "t0"
TELLERS[BUSY] = 24  # twice the group's usual work, and more than anyone else's
HARVESTER = "t2"  # a usual day's work (ten walk-ins), and thirty look-ups more from day 9
EXTRA = 30
# Analysts check a record behind a report every few days, whatever their other work.
ANALYSTS = {f"an{i}": (2 + i % 3, 5 + 10 * i) for i in range(6)}  # (every, reports a day)
OFF = DetectionConfig(allowance=msgspec.structs.replace(Allowance(), per_work=False))


def company() -> Company:
    c = Company()
    staff = [(e, "teller", "branch-1") for e in TELLERS]
    staff += [(e, "analyst", "reporting") for e in ANALYSTS]
    for i, (e, role, team) in enumerate(staff):
        c.employees.append({"employee_id": e, "surname": f"Staff{i}", "role": role, "team": team,
                            "hired_on": "2020-01-01", "home_postcode": f"H{i} 1AA"})  # fmt: skip
    for i in range(3000):
        c.customers.append({"customer_id": f"c{i:04d}", "surname": f"Cust{i}",
                            "postcode": f"PC{i % 40} 2BB"})  # fmt: skip
    n = 0
    for k, (e, walkins) in enumerate(TELLERS.items()):
        for day in range(1, DAYS + 1):
            for w in range(walkins):
                n += 1
                cust = [f"c{n % 2000:04d}"]
                when = at(day, 9, 2 * w, k)
                c.event(e, when, "view", cust, ["name", "address"], app="branch")
                c.event(e, at(day, 9, 2 * w + 1, k), "update", cust, ["payment"], app="branch")
            if e == HARVESTER and day in HARVEST:
                for h in range(EXTRA):
                    c.event(e, at(day, 15, h, k), "view", [f"c{2000 + EXTRA * day + h:04d}"],
                            ["name", "address"], app="branch", act=True)  # fmt: skip
    for k, (e, (every, reports)) in enumerate(ANALYSTS.items()):
        for day in range(1, DAYS + 1):
            for r in range(reports):  # their work: reports over many customers at once
                c.event(e, at(day, 10, r % 60, k), "view", [], ["orders"], app="bi",
                        record_count=500)  # fmt: skip
            if day % every == 0:
                n += 1
                c.event(e, at(day, 14, k), "view", [f"c{n % 2000:04d}"], ["name"], app="bi")
    return c


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    c = company()
    on = detect(c, tmp_path_factory.mktemp("per-work"))
    off = detect(c, tmp_path_factory.mktemp("fixed-amount"), OFF)
    yield c, on, off
    on.close()
    off.close()


def learned_lookups(c: Company, employee: str) -> list[dict]:
    """The employee's walk-in look-ups (not the transactions) after the learning window."""
    return [
        r for r in lookups(c, employee) if r["action"] == "view" and r["time"] >= at(LEARNED, 0)
    ]


def detectors_on(store, employee: str) -> set[str]:
    rows = store.con.execute(
        "SELECT DISTINCT detector FROM findings WHERE employee_id = ? AND day >= ?",
        [employee, at(HARVEST[0], 0).date()],
    ).fetchall()
    return {d for (d,) in rows}


def test_the_busiest_teller_is_explained_at_the_groups_pace(worlds):
    c, on, off = worlds
    busy = learned_lookups(c, BUSY)
    assert busy and {explanations(on)[r["event_id"]] for r in busy} == {"allowance"}
    # A fixed amount per group leaves most of them to the detectors: the test shows the
    # work, not a lenient amount, explains them.
    unexplained = [r for r in busy if explanations(off)[r["event_id"]] is None]
    assert len(unexplained) > len(busy) / 2


def test_a_harvester_with_a_usual_days_work_gets_nothing_more(worlds):
    c, on, off = worlds
    harvest = lookups(c, HARVESTER, acts=True)
    why_on, why_off = explanations(on), explanations(off)
    allowed = {r["event_id"] for r in harvest if why_on[r["event_id"]] is not None}
    fixed = {r["event_id"] for r in harvest if why_off[r["event_id"]] is not None}
    # What the fixed amount allowed, and at most the one access of work ahead more.
    assert fixed <= allowed and len(allowed) <= len(fixed) + 1
    assert len(allowed) < len(harvest) / 2
    last = [r for r in harvest if r["time"] >= at(DAYS, 0)]
    assert last and {why_on[r["event_id"]] for r in last} == {None}
    # The detectors that caught him with a fixed allowance still do.
    caught = detectors_on(off, HARVESTER)
    assert caught and caught <= detectors_on(on, HARVESTER)


def test_a_group_whose_lookups_do_not_follow_its_work_has_no_pace(worlds):
    c, on, _ = worlds
    cal = calibration(on, DetectionConfig())
    paces = {a.group: a.pace for a in cal.allowances if a.level == "peer"}
    assert paces["teller:branch"] == pytest.approx(1.0)  # one look-up per transaction
    assert "analyst:reporting" in paces and paces["analyst:reporting"] is None
    assert {a.pace for a in calibration(on, OFF).allowances} == {None}
