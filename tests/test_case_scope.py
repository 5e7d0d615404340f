"""Golden cases for the learned limits of case-linked access and of the allowance.

A fraud team of five works its own investigations for two weeks: each day a case about
one customer, a search that returns the case's customer and a few others, views of three
of those results and of one linked account no search returned, every view showing the
full record under the case's id. Support agents look a customer up without a case every
few days in the CRM. On day ``ACT`` (after the learning window) an investigator skims
payment details of unrelated customers under an open case of their own, another opens
five unsearched customers under one case, and an agent pulls contact details through a
tool the agents never use without a case. Routine access stays explained by the same
reasons as before; each act loses exactly the reason it stretched.
"""

from __future__ import annotations

import pytest

from detect_scenarios import Company, at, detect, explanations
from insiderwatch.detect import DetectionConfig
from insiderwatch.detect.config import Allowance

DAYS = 14
ACT = 12
FULL = ["name", "email", "phone", "address", "payment", "orders", "notes"]
INVESTIGATORS = [f"fi{i}" for i in range(5)]
SKIMMER, WIDE = INVESTIGATORS[0], INVESTIGATORS[1]
AGENTS = {f"ag{i}": 2 + i % 3 for i in range(6)}
DRIPPER = "ag2"  # one of the least busy: well within the allowance
WIDE_CASE = f"case-{5 * (ACT - 1) + 2:04d}"  # the second investigator's case on day ACT


def company() -> Company:
    c = Company()
    staff = [(e, "investigator", "fraud-1") for e in INVESTIGATORS]
    staff += [(e, "agent", "care-1") for e in AGENTS]
    for i, (e, role, team) in enumerate(staff):
        c.employees.append({"employee_id": e, "surname": f"Staff{i}", "role": role, "team": team,
                            "hired_on": "2020-01-01", "home_postcode": f"H{i} 1AA"})  # fmt: skip
    for i in range(3000):
        c.customers.append({"customer_id": f"c{i:04d}", "surname": f"Cust{i}",
                            "postcode": f"PC{i % 97} 2BB"})  # fmt: skip
    n = 0
    for day in range(1, DAYS + 1):
        for k, e in enumerate(INVESTIGATORS):
            n += 1
            case = f"case-{n:04d}"
            base = 10 * n
            target, results = f"c{base:04d}", [f"c{base + j:04d}" for j in range(6)]
            c.cases.append({"case_id": case, "customer_id": target, "employee_id": e,
                            "opened_at": at(day, 8, k), "closed_at": at(day, 18)})  # fmt: skip
            c.event(e, at(day, 9, k), "search", results, ["name", "email", "phone"],
                    app="workbench", case_id=case)  # fmt: skip
            for j in range(1, 4):  # search results: the investigation going on
                c.event(e, at(day, 10 + j, k), "view", [results[j]], FULL,
                        app="workbench", case_id=case)  # fmt: skip
            # One linked account a day opened from the case's page, no search before.
            c.event(e, at(day, 14, k), "view", [f"c{base + 9:04d}"], FULL,
                    app="workbench", case_id=case)  # fmt: skip
    for k, (e, pace) in enumerate(AGENTS.items()):
        for day in range(1, DAYS + 1):
            c.event(e, at(day, 9, k), "view", [], ["name"], record_count=0)
            if day % pace == 0:
                n += 1
                c.event(e, at(day, 15, k), "view", [f"c{2000 + n:04d}"], ["name", "email"])
    skim_case = f"case-{5 * (ACT - 1) + 1:04d}"  # the skimmer's own open case that day
    for k in range(4):  # payment details of customers the case has nothing to do with
        c.event(SKIMMER, at(ACT, 16, k), "view", [f"c{2500 + k:04d}"], ["payment"],
                app="workbench", case_id=skim_case, act=True)  # fmt: skip
    for k in range(5):  # the usual fields, but five unsearched customers under one case
        c.event(WIDE, at(ACT, 16, k), "view", [f"c{2600 + k:04d}"], FULL,
                app="workbench", case_id=WIDE_CASE, act=True)  # fmt: skip
    # Contact details through the admin console: a tool agents never use without a case.
    c.event(DRIPPER, at(ACT, 11), "view", ["c2700"], ["email", "phone"], app="console", act=True)
    return c


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    c = company()
    store = detect(c, tmp_path_factory.mktemp("scope"))
    yield c, store
    store.close()


def _after_learning(c: Company, employees) -> list[dict]:
    return [r for r in c.access if r["employee_id"] in employees and r["action"] == "view"
            and r["customer_ids"] and r["event_id"] not in c.act
            and at(8, 0) <= r["time"] < at(DAYS + 1, 0)]  # fmt: skip


def test_investigators_routine_case_work_stays_explained_by_the_case(world):
    c, store = world
    why = explanations(store)
    views = _after_learning(c, INVESTIGATORS)
    assert views and {why[r["event_id"]] for r in views} <= {"case_linked", "case_search"}
    # The daily unsearched linked account is within the learned breadth (one a case-day).
    linked = [r for r in views if r["time"].hour == 14]
    assert linked and {why[r["event_id"]] for r in linked} == {"case_linked"}


def test_payment_details_the_group_never_shows_under_cases_are_not_explained_by_the_case(
    world,
):
    c, store = world
    why = explanations(store)
    skim = [r for r in c.access if r["employee_id"] == SKIMMER and r["event_id"] in c.act]
    assert len(skim) == 4
    assert all(not (why[r["event_id"]] or "").startswith("case_") for r in skim)


def test_unsearched_customers_past_the_peers_breadth_lose_the_case(world):
    c, store = world
    why = explanations(store)
    wide = sorted((r for r in c.access if r["employee_id"] == WIDE and r["event_id"] in c.act),
                  key=lambda r: r["time"])  # fmt: skip
    assert len(wide) == 5
    # The day's usual linked account under that case (14:00) took the one the peers open
    # a case-day, and stays explained; the five after it are beyond the breadth.
    usual = [r for r in c.access if r["employee_id"] == WIDE and r["case_id"] == WIDE_CASE
             and r["time"].hour == 14]  # fmt: skip
    assert [why[r["event_id"]] for r in usual] == ["case_linked"]
    assert all(not (why[r["event_id"]] or "").startswith("case_") for r in wide)


def test_case_mismatch_judges_an_investigators_views_beyond_the_case_scope(world):
    c, store = world
    rows = store.con.execute(
        "SELECT employee_id, event_ids FROM findings WHERE detector = 'case_mismatch'"
    ).fetchall()
    flagged = {e for e, _ in rows}
    assert {SKIMMER, WIDE} <= flagged
    assert flagged <= {SKIMMER, WIDE}
    cited = {ev for e, evs in rows if e == SKIMMER for ev in evs}
    assert cited and cited <= set(c.act)


def test_the_allowance_covers_only_the_kinds_of_lookup_the_group_makes_without_a_case(world):
    c, store = world
    why = explanations(store)
    routine = [r for r in _after_learning(c, AGENTS)
               if r["time"] < at(ACT, 0) and r["customer_ids"]]  # fmt: skip
    assert "allowance" in {why[r["event_id"]] for r in routine}
    drip = [r for r in c.access if r["employee_id"] == DRIPPER and r["event_id"] in c.act]
    assert [why[r["event_id"]] for r in drip] == [None]


def test_without_kinds_the_same_lookup_is_allowed(tmp_path):
    """The kind rule is what takes the allowance away (the amount alone would allow it)."""
    c = company()
    cfg = DetectionConfig(allowance=Allowance(by_kind=False))
    store = detect(c, tmp_path, cfg)
    try:
        why = explanations(store)
        drip = [r for r in c.access if r["employee_id"] == DRIPPER and r["event_id"] in c.act]
        assert [why[r["event_id"]] for r in drip] == ["allowance"]
    finally:
        store.close()
