"""A group large enough to learn from whose staff look customers up too seldom yet to learn
how many: when most of them look customers up, it learned nothing either way, and the next
level decides (here the group making the look-up's kind); when few of them do, its usual
is none. Golden cases on a hand-built company, and the negative ones: the group where few
look anyone up, and a harvest past the borrowed allowance."""

from __future__ import annotations

import pytest

from detect_scenarios import Company, at, detect, explanations, lookups

DAYS = 14
LEARNED = 8  # the first day after the learning window (7 days)
AGENTS = {f"ag{i}": 2 + i % 3 for i in range(6)}  # a look-up every few days each
# Three managers: two answer a colleague's question now and then (no case, nothing else);
# the third never looks anyone up. Too few doers to learn an amount, yet most of them.
MANAGERS = {"m0": (4, 11), "m1": (6, 12), "m2": ()}
# Six reviewers: two of them look a customer up now and then, the rest never do.
REVIEWERS = {f"rv{i}": ((5, 10) if i < 2 else ()) for i in range(6)}
HARVESTER = "m0"
HARVEST_DAY = 13


def company() -> Company:
    c = Company()
    staff = [(e, "agent", "care-1") for e in AGENTS]
    staff += [(e, "manager", "ops-office") for e in MANAGERS]
    staff += [(e, "reviewer", "quality") for e in REVIEWERS]
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
    for k, (e, days) in enumerate({**MANAGERS, **REVIEWERS}.items()):
        for day in range(1, DAYS + 1):  # at work every day: a login, no access to data
            c.event(e, at(day, 8, k), "login", [], [], app="sso")
        for day in days:
            lookup(e, day, 20 + k)
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
