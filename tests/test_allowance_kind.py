"""The look-up allowance of staff with no behaviour yet, on a hand-built company: the only
one of a role whose first access in the window is a look-up takes the allowance of the
group that makes that kind of look-up (``allowance:kind``); from the next day their own
accesses decide (``allowance:similar``). Staff whose only accesses are such look-ups now
and then (no work to resemble anyone by) keep taking the kind's allowance. Golden cases,
and the negative ones: a kind no group makes, staff with work that resembles nobody, and a
harvest past the borrowed allowance."""

from __future__ import annotations

import pytest

from detect_scenarios import Company, at, detect, explanations, lookups

FIRST = 10  # after the learning window (7 days)
# The company ends on the last day judged (the head's second look-up): detection never
# reads a later day, so days after it would only cost time.
DAYS = FIRST + 2
AGENTS = {f"ag{i}": 2 + i % 3 for i in range(6)}  # a look-up every few days each
CLERKS = {f"cl{i}": 3 for i in range(4)}  # another group, looking up in its own tool
HEAD = "head"  # the only one of her role; silent until FIRST, then the agents' kind
AUDITOR = "aud"  # the only one of his role; silent until FIRST, then a kind nobody makes
LOOKER = "qa"  # the only one of his role, with history resembling no group
HARVESTER = "dir"  # the only one of his role; silent until FIRST, then twenty at once
OCCASIONAL = "ops"  # the only one of his role; a search on day 3, an agents' look-up later


def company() -> Company:
    c = Company()
    staff = [(e, "agent", "care-1") for e in AGENTS] + [(e, "clerk", "billing-1") for e in CLERKS]
    staff += [(HEAD, "care_head", "care-office"), (AUDITOR, "auditor", "audit"),
              (LOOKER, "reviewer", "quality"), (HARVESTER, "director", "board"),
              (OCCASIONAL, "ops_head", "ops-office")]  # fmt: skip
    for i, (e, role, team) in enumerate(staff):
        c.employees.append({"employee_id": e, "surname": f"Staff{i}", "role": role, "team": team,
                            "hired_on": "2020-01-01", "home_postcode": f"H{i} 1AA"})  # fmt: skip
    for i in range(600):
        c.customers.append({"customer_id": f"c{i:03d}", "surname": f"Cust{i}",
                            "postcode": f"PC{i % 40} 2BB", "is_vip": False})  # fmt: skip
    n = 0

    def lookup(e: str, day: int, minute: int, app: str, fields=("name", "email"), act=False):
        nonlocal n
        n += 1
        c.event(e, at(day, 14, minute), "view", [f"c{n % 500:03d}"], list(fields), app=app,
                act=act)  # fmt: skip

    for k, e in enumerate([*AGENTS, *CLERKS, LOOKER]):
        app = {"ag": "crm", "cl": "billing"}.get(e[:2], "audit-tool")
        pace = {**AGENTS, **CLERKS}.get(e, 2)
        for day in range(1, DAYS + 1):
            c.event(e, at(day, 9, k), "view", [], ["name"], app=app, record_count=0)
            if day % pace == 0:
                lookup(e, day, k, app)
    lookup(HEAD, FIRST, 30, "crm")  # a colleague's question, in the agents' tool
    lookup(HEAD, FIRST + 2, 30, "crm")  # and another two days later: she has history now
    lookup(AUDITOR, FIRST, 31, "vault", fields=("name", "payment"))  # nobody's kind
    for k in range(20):  # a first day that is a harvest in the agents' tool
        lookup(HARVESTER, FIRST, 32 + k, "crm", act=True)
    # Once in the learning window in a search tool nobody else uses (a mix like no group's),
    # then a colleague's question in the agents' tool: look-ups are all he ever does.
    lookup(OCCASIONAL, 3, 40, "desk-search")
    lookup(OCCASIONAL, FIRST + 1, 40, "crm")
    return c


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    c = company()
    store = detect(c, tmp_path_factory.mktemp("kind"))
    yield c, store
    store.close()


def test_a_first_lookup_takes_the_allowance_of_the_group_making_its_kind(world):
    c, store = world
    why = explanations(store)
    first, second = lookups(c, HEAD)
    assert why[first["event_id"]] == "allowance:kind"
    # The next time, her own accesses (the agents' tool) make her one of them by behaviour.
    assert why[second["event_id"]] == "allowance:similar"


def test_earlier_lookups_alone_are_no_behaviour_to_resemble_anyone_by(world):
    c, store = world
    why = explanations(store)
    first, later = lookups(c, OCCASIONAL)
    assert why[first["event_id"]] is None  # the learning window: nothing is usual yet
    # His history is one look-up in a tool no group uses: he resembles no group, and the
    # agents' kind of look-up takes the agents' allowance, spent like theirs.
    assert why[later["event_id"]] == "allowance:kind"


def test_a_kind_no_group_makes_stays_unexplained(world):
    c, store = world
    why = explanations(store)
    (only,) = lookups(c, AUDITOR)
    assert why[only["event_id"]] is None


def test_staff_with_history_never_fall_back_to_the_kind(world):
    c, store = world
    why = explanations(store)
    judged = [r for r in lookups(c, LOOKER) if r["time"] >= at(8, 0)]
    assert judged and {why[r["event_id"]] for r in judged} == {None}


def test_a_first_day_harvest_spends_the_borrowed_allowance_and_no_more(world):
    c, store = world
    why = explanations(store)
    harvest = lookups(c, HARVESTER, acts=True)
    allowed = [r for r in harvest if why[r["event_id"]] == "allowance:kind"]
    # The agents' allowance on that day is small (a look-up every few days each): the first
    # few are within it, in time order, and the rest of the twenty are left to the detectors.
    assert allowed and allowed == harvest[: len(allowed)]
    assert len(allowed) <= 5 and why[harvest[-1]["event_id"]] is None
