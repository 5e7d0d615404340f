"""A group large enough to learn from whose staff look customers up too seldom yet to learn
how many: when most of them look customers up, it learned nothing either way, and the next
level decides (here the group making the look-up's kind, or the group one's work
resembles, which calibrate lists too); when few of them do, its usual is none, and so
is a new group's with doers enough while its history is short. Golden cases on a
hand-built company, and the negative ones: the group where few look anyone up, the new
team, and a harvest past the borrowed allowance."""

from __future__ import annotations

import pytest

from detect_scenarios import Company, at, detect, explanations, lookups
from insiderwatch.detect import DetectionConfig
from insiderwatch.detect.calibrate import calibration

DAYS = 14
LEARNED = 8  # the first day after the learning window (7 days)
AGENTS = {f"ag{i}": 2 + i % 3 for i in range(6)}  # a look-up every few days each
# Three managers: two answer a colleague's question now and then (no case, nothing else);
# the third never looks anyone up. Too few doers to learn an amount, yet most of them.
MANAGERS = {"m0": (4, 11), "m1": (6, 12), "m2": ()}
# Six reviewers: two of them look a customer up now and then, the rest never do.
REVIEWERS = {f"rv{i}": ((5, 10) if i < 2 else ()) for i in range(6)}
# Three regional heads, one per team (each peer group of one), who work in the agents'
# tool like them: two answer a question now and then. Their role has staff enough but
# too few doers: the agents, whose work theirs resembles, lend their allowance.
HEADS = {"hd0": ("north-1", (5, 10)), "hd1": ("south-1", (6, 12)), "hd2": ("west-1", ())}
# A desk of three where one colleague looks a customer up now and then: alone, too few
# of the desk (one of three) for a usual; the insider's own look-ups lift the doers to
# two of three, and the desk borrows the kind's allowance (the known limit, pinned).
DESK = {"cl0": (3, 10), "cl1": (6, 11), "cl2": ()}
# A new team of three that joins on day 9 and all look customers up at once: doers
# enough, but its history is shorter than the learning window, so it has no allowance
# yet and borrows none.
NEW_TEAM = {f"nt{i}": range(9, DAYS + 1) for i in range(3)}
JOINS = 9
HARVESTER = "m0"
HARVEST_DAY = 13


def company() -> Company:
    c = Company()
    staff = [(e, "agent", "care-1") for e in AGENTS]
    staff += [(e, "manager", "ops-office") for e in MANAGERS]
    staff += [(e, "reviewer", "quality") for e in REVIEWERS]
    staff += [(e, "head", team) for e, (team, _) in HEADS.items()]
    staff += [(e, "clerk", "desk-1") for e in DESK]
    staff += [(e, "analyst", "new-1") for e in NEW_TEAM]
    for i, (e, role, team) in enumerate(staff):
        c.employees.append({"employee_id": e, "surname": f"Staff{i}", "role": role, "team": team,
                            "hired_on": "2020-01-01", "home_postcode": f"H{i} 1AA"})  # fmt: skip
    for i in range(600):
        c.customers.append({"customer_id": f"c{i:03d}", "surname": f"Cust{i}",
                            "postcode": f"PC{i % 40} 2BB", "is_vip": False})  # fmt: skip
    n = 0

    def lookup(e: str, day: int, minute: int, act: bool = False) -> None:
        nonlocal n
        n += 1
        c.event(e, at(day, 14, minute), "view", [f"c{n % 500:03d}"], ["name", "email"],
                app="crm", act=act)  # fmt: skip

    for k, (e, pace) in enumerate(AGENTS.items()):
        for day in range(1, DAYS + 1):
            c.event(e, at(day, 9, k), "view", [], ["name"], app="crm", record_count=0)
            if day % pace == 0:
                lookup(e, day, k)
    for k, (e, days) in enumerate({**MANAGERS, **REVIEWERS, **DESK, **NEW_TEAM}.items()):
        for day in range(JOINS if e in NEW_TEAM else 1, DAYS + 1):  # a login, no data
            c.event(e, at(day, 8, k), "login", [], [], app="sso")
        for day in days:
            lookup(e, day, 20 + k)
    for k, (e, (_, days)) in enumerate(HEADS.items()):
        for day in range(1, DAYS + 1):  # the agents' daily work, showing nobody in particular
            c.event(e, at(day, 9, 30 + k), "view", [], ["name"], app="crm", record_count=0)
        for day in days:
            lookup(e, day, 30 + k)
    for k in range(20):  # a manager's harvest in the agents' tool
        lookup(HARVESTER, HARVEST_DAY, 40 + k, act=True)
    return c


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    c = company()
    store = detect(c, tmp_path_factory.mktemp("few_doers"))
    yield c, store
    store.close()


def after_learning(c: Company, who) -> list[dict]:
    return [r for e in who for r in lookups(c, e) if r["time"] >= at(LEARNED, 0)]


def test_a_group_most_of_which_looks_up_too_seldom_borrows_the_next_level(world):
    c, store = world
    why = explanations(store)
    managers = after_learning(c, MANAGERS)
    assert managers
    # Their look-ups are the agents' kind, and they have no work to resemble anyone by:
    # the group making the kind lends its allowance, and the reason names the level.
    assert {why[r["event_id"]] for r in managers} == {"allowance:kind"}


def test_a_group_where_few_look_anyone_up_still_has_none(world):
    c, store = world
    why = explanations(store)
    reviewers = after_learning(c, REVIEWERS)
    assert reviewers and {why[r["event_id"]] for r in reviewers} == {None}


def test_a_harvest_spends_the_borrowed_allowance(world):
    c, store = world
    why = explanations(store)
    harvest = [why[r["event_id"]] for r in lookups(c, HARVESTER, acts=True)]
    assert harvest.count(None) > len(harvest) / 2  # most of it stays for the detectors


def test_a_role_most_of_which_looks_up_too_seldom_borrows_the_resembled_groups(world):
    c, store = world
    why = explanations(store)
    heads = after_learning(c, HEADS)
    assert heads and {why[r["event_id"]] for r in heads} == {"allowance:similar"}


def test_calibrate_lists_the_borrowed_allowances_the_engine_lends(world):
    c, store = world
    why = explanations(store)
    lent = {f"head:{team.split('-')[0]}" for e, (team, _) in HEADS.items()
            for r in after_learning(c, [e]) if why[r["event_id"]] == "allowance:similar"}  # fmt: skip
    assert lent  # the two heads who look customers up
    borrowed = calibration(store, DetectionConfig()).borrowed
    # Every head's group resembles the agents (the third's too: calibrate lists the
    # group, whoever in it looks customers up); the role, too few doers, decides nothing.
    assert lent <= {b.group for b in borrowed}
    assert {(b.group, b.similar_to) for b in borrowed} == {
        (f"head:{team.split('-')[0]}", "agent:care") for team, _ in HEADS.values()
    }


def test_an_insiders_own_lookups_can_make_a_group_of_three_borrow(world):
    """The known limit (docs/detections.md): one colleague of three looks customers up, too
    few for a usual; the insider's own look-ups make two of three, most of the desk, and
    the desk borrows the kind's allowance for both of them. Pinned so that changing it
    is deliberate; the borrowed amount bounds it (the harvest test)."""
    c, store = world
    why = explanations(store)
    desk = after_learning(c, DESK)
    assert desk and {why[r["event_id"]] for r in desk} == {"allowance:kind"}


def test_a_new_team_with_doers_enough_borrows_nothing_while_it_learns(world):
    c, store = world
    why = explanations(store)
    # From its second day the team is a group of three doers with no allowance yet.
    new = [r for e in NEW_TEAM for r in lookups(c, e) if r["time"] >= at(JOINS + 1, 0)]
    assert new and {why[r["event_id"]] for r in new} == {None}
