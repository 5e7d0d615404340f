"""The look-up allowance's fall-back levels on a hand-built company: a peer group too small
to learn one takes its role's (across teams), and staff whose role is too small too borrow
the allowance of the peer group whose work theirs resembles. Golden cases per level (the
routine look-ups explained, naming the level) and the harvester of the same group left
unexplained once the borrowed allowance is spent."""

from __future__ import annotations

import pytest

from detect_scenarios import Company, at, detect, explanations, lookups
from insiderwatch.detect import DetectionConfig
from insiderwatch.detect.calibrate import calibration

DAYS = 14
ACT = 12  # after the learning window (7 days)
# Support agents look a customer up without a case every few days (each at their own
# pace); four platform engineers and two mobile ones do the same in the admin console.
AGENTS = {f"ag{i}": 2 + i % 3 for i in range(6)}
PLATFORM = {f"pe{i}": 2 + i % 3 for i in range(4)}
MOBILE = {"me0": 4, "me1": 5}  # a peer group of two: too small on its own
LEAD = "lead"  # the only one of her role, working the agents' way
LOOKER = "qa"  # the only one of his role, working like no group
NEWCOMER = "ie0"  # the first engineer of a new team: his group has no history at all
JOINS = 10


def company() -> Company:
    c = Company()
    staff = [(e, "agent", "care-1", "crm") for e in AGENTS]
    staff += [(e, "engineer", "platform-1", "console") for e in PLATFORM]
    staff += [(e, "engineer", "mobile-1", "console") for e in MOBILE]
    staff += [(LEAD, "care_lead", "care-office", "crm"), (LOOKER, "auditor", "qa", "audit")]
    for i, (e, role, team, _) in enumerate(staff):
        c.employees.append({"employee_id": e, "surname": f"Staff{i}", "role": role, "team": team,
                            "hired_on": "2020-01-01", "home_postcode": f"H{i} 1AA"})  # fmt: skip
    for i in range(600):
        c.customers.append({"customer_id": f"c{i:03d}", "surname": f"Cust{i}",
                            "postcode": f"PC{i % 40} 2BB", "is_vip": i == 599})  # fmt: skip
    n = 0
    paces = {**AGENTS, **PLATFORM, **MOBILE, LEAD: 4, LOOKER: 3}
    for k, (e, _, _, app) in enumerate(staff):
        for day in range(1, DAYS + 1):
            # Their daily work shows nobody in particular; look-ups come every few days.
            c.event(e, at(day, 9, k), "view", [], ["name"], app=app, record_count=0)
            if day % paces[e] == 0:
                n += 1
                c.event(e, at(day, 14, k), "view", [f"c{n % 400:03d}"], ["name", "email"],
                        app=app)  # fmt: skip
    # Day ACT: the lead harvests twenty customers one by one, and looks a VIP up.
    for k in range(20):
        c.event(LEAD, at(ACT, 10, k), "view", [f"c{420 + k:03d}"], ["name", "email"],
                app="crm", act=True)  # fmt: skip
    c.event(LEAD, at(ACT, 11), "view", ["c599"], ["name"], app="crm", act=True)
    # The newcomer's first day: his work, and one look-up of the engineers' kind.
    c.employees.append({"employee_id": NEWCOMER, "surname": "Staff99", "role": "engineer",
                        "team": "infra-1", "hired_on": "2020-01-01", "home_postcode": "H99 1AA"})  # fmt: skip
    c.event(NEWCOMER, at(JOINS, 9), "view", [], ["name"], app="console", record_count=0)
    c.event(NEWCOMER, at(JOINS, 14), "view", ["c450"], ["name", "email"], app="console")
    return c


def routine_lookups(c: Company, staff) -> list[dict]:
    """Their usual look-ups after the learning window and before the act."""
    return [r for e in staff for r in lookups(c, e) if at(8, 0) <= r["time"] < at(ACT, 0)]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    c = company()
    store = detect(c, tmp_path_factory.mktemp("levels"))
    yield c, store
    store.close()


def test_each_level_explains_its_staffs_usual_lookups_and_names_itself(world):
    c, store = world
    why = explanations(store)

    def reasons(staff) -> set:
        return {why[r["event_id"]] for r in routine_lookups(c, staff)}

    # The busiest of a group go past its allowance (the third highest total): unexplained.
    for group in (AGENTS, PLATFORM):
        assert "allowance" in reasons(group) and reasons(group) <= {"allowance", None}
    assert reasons(MOBILE) == {"allowance:role"}  # the engineers' allowance, across teams
    assert reasons([LEAD]) == {"allowance:similar"}  # she works like the agents
    assert reasons([LOOKER]) == {None}  # like nobody: a reviewer's


def test_a_group_with_no_history_takes_its_roles_allowance_and_kinds(world):
    c, store = world
    why = explanations(store)
    (first,) = [r for r in lookups(c, NEWCOMER)]
    assert why[first["event_id"]] == "allowance:role"


def test_a_borrowed_allowance_is_spent_like_the_groups_and_never_covers_a_vip(world):
    c, store = world
    why = explanations(store)
    *harvest, vip = lookups(c, LEAD, acts=True)
    cal = calibration(store, DetectionConfig())
    (borrowed,) = cal.borrowed
    assert (borrowed.group, borrowed.similar_to, borrowed.staff) == (
        "care_lead:care-office", "agent:care", 1
    )  # fmt: skip
    allowed = [r for r in harvest if why[r["event_id"]] == "allowance:similar"]
    # That day the agents' allowance is 3 (their third highest total over days 1-11:
    # every third day), and she had used 2 (days 4 and 8): one left, spent first.
    assert allowed == harvest[:1]
    assert all(why[r["event_id"]] is None for r in harvest[1:])
    assert why[vip["event_id"]] is None
    later = [r for r in lookups(c, LEAD) if r["time"] > at(ACT, 11)]
    assert later and {why[r["event_id"]] for r in later} == {None}  # over the usual now


def test_calibrate_shows_each_level(world):
    _, store = world
    cal = calibration(store, DetectionConfig())
    levels = {(a.level, a.group): (a.doers, a.staff) for a in cal.allowances}
    assert levels[("peer", "agent:care")] == (6, 6)
    engineers = len(PLATFORM) + len(MOBILE) + 1  # the newcomer's look-up is in the window
    assert levels[("role", "engineer")] == (engineers, engineers)
    assert ("peer", "engineer:mobile") not in levels  # two cannot make their own
    assert not any(a.group.startswith("auditor") for a in cal.allowances)
    assert cal.borrowed[0].min_similarity > 0.99  # her work is the agents', app for app
