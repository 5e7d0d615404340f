"""Golden cases for the learned limits of case-linked access and of the allowance.

A fraud team of five works its own investigations for two weeks: each day a case about
one customer, a search that returns the case's customer and a few others, views of three
of those results and of one linked account no search returned, every view showing the
full record under the case's id. The team's two leads do the same every other day: too
few case-days to learn a scope of their own. Support agents look a customer up without a
case every few days in the CRM and never work cases. From day ``SKIM_FROM`` an
investigator skims payment details of unrelated customers under open cases of their
own, a few a day; on day ``ACT`` (after the learning window) another opens five
unsearched customers under one case, a lead opens unrelated customers' contact details
under his open case, an agent logs look-ups under an investigator's open case about
someone else, and an agent pulls contact details through a tool the agents never use
without a case. The other lead follows a ring his search turned up that day. Routine
access stays explained by the same reasons as before; each act loses exactly the reason
it stretched.
"""

from __future__ import annotations

import pytest

from detect_scenarios import Company, at, detect, explanations
from insiderwatch.detect import DetectionConfig
from insiderwatch.detect.calibrate import calibration
from insiderwatch.detect.config import Allowance

DAYS = 14
ACT = 12
FULL = ["name", "email", "phone", "address", "payment", "orders", "notes"]
SKIM_FROM = 9
INVESTIGATORS = [f"fi{i}" for i in range(5)]
SKIMMER, WIDE = INVESTIGATORS[0], INVESTIGATORS[1]
LEADS = ["lead0", "lead1"]  # the team's two leads: a group too small to learn a scope
LEAD_SKIMMER, RING_LEAD = LEADS
AGENTS = {f"ag{i}": 2 + i % 3 for i in range(6)}
DRIPPER = "ag2"  # one of the least busy: well within the allowance
COVER = "ag4"  # logs look-ups under an investigator's case
WIDE_CASE = f"case-{5 * (ACT - 1) + 2:04d}"  # the second investigator's case on day ACT
PROFILE = ["name", "email", "phone", "address"]


def company() -> Company:
    c = Company()
    staff = [(e, "investigator", "fraud-1") for e in INVESTIGATORS]
    staff += [(e, "lead", "fraud-1") for e in LEADS]
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
            _investigation(c, e, day, k, n)
    for day in range(1, DAYS + 1):  # the leads: the same work, every other day
        for k, e in enumerate(LEADS):
            if (day + k) % 2 == 0:
                n += 1
                _investigation(c, e, day, 30 + k, n)
    for k, (e, pace) in enumerate(AGENTS.items()):
        for day in range(1, DAYS + 1):
            c.event(e, at(day, 9, k), "view", [], ["name"], record_count=0)
            if day % pace == 0:
                n += 1
                c.event(e, at(day, 15, k), "view", [f"c{2000 + n:04d}"], ["name", "email"])
    for day in range(SKIM_FROM, ACT + 1):  # a few a day under the day's own open case
        skim_case = _own_case(c, SKIMMER, day)
        for k in range(4 if day == ACT else 3):  # payment details of unrelated customers
            c.event(SKIMMER, at(day, 16, k), "view", [f"c{2200 + 10 * day + k:04d}"],
                    ["payment"], app="workbench", case_id=skim_case, act=True)  # fmt: skip
    for k in range(5):  # the usual fields, but five unsearched customers under one case
        c.event(WIDE, at(ACT, 16, k), "view", [f"c{2600 + k:04d}"], FULL,
                app="workbench", case_id=WIDE_CASE, act=True)  # fmt: skip
    # Contact details through the admin console: a tool agents never use without a case.
    c.event(DRIPPER, at(ACT, 11), "view", ["c2700"], ["email", "phone"], app="console", act=True)
    lead_case = _own_case(c, LEAD_SKIMMER, ACT)
    for k in range(4):  # contact details of customers his open case has nothing to do with
        c.event(LEAD_SKIMMER, at(ACT, 16, k), "view", [f"c{2800 + k:04d}"], PROFILE,
                app="workbench", case_id=lead_case, act=True)  # fmt: skip
    for k in range(3):  # an agent's look-ups under an investigator's open case
        c.event(COVER, at(ACT, 15, k), "view", [f"c{2900 + k:04d}"], ["name", "email"],
                case_id=WIDE_CASE, act=True)  # fmt: skip
    # A ring the other lead's search turned up: twenty of its accounts opened, in full.
    n += 1
    ring_case = f"case-{n:04d}"
    ring = [f"c{2400 + j:04d}" for j in range(25)]
    c.cases.append({"case_id": ring_case, "customer_id": ring[0], "employee_id": RING_LEAD,
                    "opened_at": at(ACT, 8, 50), "closed_at": at(ACT, 18)})  # fmt: skip
    c.event(RING_LEAD, at(ACT, 9, 50), "search", ring, ["name", "email", "phone"],
            app="workbench", case_id=ring_case)  # fmt: skip
    for j, cust in enumerate(ring[1:21]):
        c.event(RING_LEAD, at(ACT, 10, 2 * j), "view", [cust], FULL, app="workbench",
                case_id=ring_case)  # fmt: skip
    return c


def _investigation(c: Company, e: str, day: int, k: int, n: int) -> None:
    """A day's case: a search, three of its results and one linked account viewed."""
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


def _own_case(c: Company, e: str, day: int) -> str:
    return next(k["case_id"] for k in c.cases
                if k["employee_id"] == e and k["opened_at"].date() == at(day, 0).date())  # fmt: skip


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
    views = _after_learning(c, INVESTIGATORS + LEADS)
    assert {r["employee_id"] for r in views} == set(INVESTIGATORS + LEADS)
    assert {why[r["event_id"]] for r in views} <= {"case_linked", "case_search"}
    # The daily unsearched linked account is within the learned breadth (one a case-day):
    # the team's own, or for the leads the one the investigating groups show together.
    linked = [r for r in views if r["time"].hour == 14]
    assert {r["employee_id"] for r in linked} == set(INVESTIGATORS + LEADS)
    assert {why[r["event_id"]] for r in linked} == {"case_linked"}


def test_payment_details_the_group_never_shows_under_cases_are_not_explained_by_the_case(
    world,
):
    c, store = world
    why = explanations(store)
    skim = [r for r in c.access if r["employee_id"] == SKIMMER and r["event_id"] in c.act]
    assert len(skim) == 3 * (ACT - SKIM_FROM) + 4
    assert all(not (why[r["event_id"]] or "").startswith("case_") for r in skim)


def test_a_group_too_small_to_learn_a_scope_takes_the_investigating_groups_one(world):
    """The leads' own case history is too short: their case explains what the
    investigating groups' case work shows together, and contact details of customers no
    search returned are beyond it."""
    c, store = world
    why = explanations(store)
    lead_days = store.con.execute(
        "SELECT count(*) FROM case_scope_days WHERE list_contains(?, employee_id)", [LEADS]
    ).fetchall()[0][0]
    assert 0 < lead_days < DetectionConfig().explanation.case_scope_min_case_days
    acts = [r for r in c.access if r["employee_id"] == LEAD_SKIMMER and r["event_id"] in c.act]
    assert len(acts) == 4
    assert all(not (why[r["event_id"]] or "").startswith("case_") for r in acts)
    # Calibration says whose scope each group has.
    scopes = {s.group: s.pooled for s in calibration(store, DetectionConfig()).learned.case_scope}
    assert scopes == {"investigator:fraud": False, "lead:fraud": True}


def test_a_ring_found_by_search_stays_explained_however_many_accounts(world):
    c, store = world
    why = explanations(store)
    ring = [r for r in c.access if r["employee_id"] == RING_LEAD and r["time"].date()
            == at(ACT, 0).date() and r["action"] == "view"]  # fmt: skip
    assert len(ring) == 20
    assert {why[r["event_id"]] for r in ring} <= {"case_linked", "case_search"}


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


def test_case_mismatch_judges_views_under_cases_about_someone_else(world):
    """Beyond an investigator's scope, a lead's borrowed one, or under an investigator's
    case by an agent whose group never works cases: flagged, citing only the acts. The
    ring and everyone's routine are not."""
    c, store = world
    rows = store.con.execute(
        "SELECT employee_id, event_ids FROM findings WHERE detector = 'case_mismatch'"
    ).fetchall()
    flagged = {e for e, _ in rows}
    assert flagged == {SKIMMER, WIDE, LEAD_SKIMMER, COVER}
    cited = {ev for _, evs in rows for ev in evs}
    assert cited and cited <= set(c.act)


def test_a_skimmer_is_judged_against_the_peers_days_not_their_own(world):
    """A few skimmed customers every day: the skimmer's own days never raise the line
    they are judged by, so every day of it is flagged."""
    c, store = world
    days = {d for (d,) in store.con.execute(
        "SELECT day FROM findings WHERE detector = 'case_mismatch' AND employee_id = ?",
        [SKIMMER]).fetchall()}  # fmt: skip
    skimmed = {r["time"].date() for r in c.access
               if r["employee_id"] == SKIMMER and r["event_id"] in c.act}  # fmt: skip
    assert len(skimmed) == ACT - SKIM_FROM + 1
    assert days == skimmed


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
    # The look-up judged is on day ACT: detection never reads a later day, so this run
    # ends with it.
    c.access = [r for r in c.access if r["time"] < at(ACT + 1, 0)]
    cfg = DetectionConfig(allowance=Allowance(by_kind=False))
    store = detect(c, tmp_path, cfg)
    try:
        why = explanations(store)
        drip = [r for r in c.access if r["employee_id"] == DRIPPER and r["event_id"] in c.act]
        assert [why[r["event_id"]] for r in drip] == ["allowance"]
    finally:
        store.close()
