"""`unusual_fields`: case-less look-ups showing a set of fields no colleague's show.

The hand-built company's agents open whole records under their cases and name and orders
on their quick look-ups; the insider opens the contact details alone on day 9. What the
colleagues showed in the window makes a set usual; the insider's own earlier use does
not; a day needs ``min_customers`` customers; a group too small is not judged.
"""

from __future__ import annotations

from detect_scenarios import ACT_DAY, AGENTS, INSIDER, at, base_company, continued, scenario
from insiderwatch.detect import DetectionConfig
from insiderwatch.detect.base import DETECTORS

CONTACT = ["email", "phone"]


def _findings(store) -> list[tuple[str, str, int]]:
    rows = store.con.execute(
        "SELECT employee_id, strftime(time, '%Y-%m-%d'), len(customer_ids) FROM findings "
        "WHERE detector = 'unusual_fields' ORDER BY time"
    ).fetchall()
    store.close()
    return rows


def test_a_colleague_showing_the_set_in_the_window_makes_it_usual(built_once):
    company = scenario("unusual_fields")
    # one colleague opened a customer's contact details alone on day 3
    company.event(AGENTS[1], at(3, 14), "view", ["c360"], CONTACT)
    assert _findings(continued(company, built_once)) == []


def test_a_colleagues_day_with_a_critical_finding_teaches_nothing(built_once):
    company = scenario("unusual_fields")
    # the colleague showed the set on a day they also touched a decoy (a critical finding)
    company.event(AGENTS[1], at(3, 14), "view", ["c360"], CONTACT)
    company.event(AGENTS[1], at(3, 15), "search", ["c150", "decoy1", "c151"], ["name"])
    found = _findings(continued(company, built_once))
    assert (INSIDER, at(ACT_DAY, 0).strftime("%Y-%m-%d"), 2) in found


def test_the_employees_own_earlier_use_does_not_make_it_usual(built_once):
    company = scenario("unusual_fields")
    for day in (3, 4, 5):  # the insider's own habit in the window, no colleague's
        company.event(INSIDER, at(day, 14), "view", ["c361"], CONTACT)
    found = _findings(continued(company, built_once))
    assert found == [(INSIDER, at(ACT_DAY, 0).strftime("%Y-%m-%d"), 2)]


def _one_customer_twice(second: str):
    company = base_company(days=ACT_DAY - 1)
    company.event(INSIDER, at(ACT_DAY, 11), "view", ["c200"], CONTACT, act=True)
    company.event(INSIDER, at(ACT_DAY, 12), "view", [second], CONTACT, act=True)
    return company


def test_one_customer_twice_is_not_a_day_two_are(built_once):
    cfg = DetectionConfig().detector_config(DETECTORS.get("unusual_fields")())
    assert cfg.min_customers == 2  # one customer is one short of it, two reach it
    assert _findings(continued(_one_customer_twice("c200"), built_once)) == []
    found = _findings(continued(_one_customer_twice("c201"), built_once))
    assert found == [(INSIDER, at(ACT_DAY, 0).strftime("%Y-%m-%d"), 2)]


def _desk_company():
    """The scenario with the insider and two colleagues moved to a desk of their own."""
    company = scenario("unusual_fields")
    desk = {INSIDER, *AGENTS[1:3]}
    for row in company.employees:
        if row["employee_id"] in desk:
            row["team"] = "desk-1"
    return company


def test_a_group_with_too_few_other_members_is_not_judged(built_once):
    # two others, one short of min_peers: their sets say little about the insider's work
    assert DetectionConfig().detector_config(DETECTORS.get("unusual_fields")()).min_peers == 3
    assert _findings(continued(_desk_company(), built_once)) == []
    # the same desk is judged where two others are enough
    two = DetectionConfig(detectors={"unusual_fields": {"min_peers": 2}})
    found = _findings(continued(_desk_company(), built_once, two))
    assert found == [(INSIDER, at(ACT_DAY, 0).strftime("%Y-%m-%d"), 2)]


def test_the_reason_names_the_set_and_the_colleagues(built_once):
    store = continued(scenario("unusual_fields"), built_once)
    (reason,) = store.con.execute(
        "SELECT reason FROM findings WHERE detector = 'unusual_fields'"
    ).fetchone()
    store.close()
    others = len(AGENTS) - 1
    assert reason == (
        f"looked up 2 customers with no case by 11:05 UTC with a set of fields none of the "
        f"{others} colleagues who looked customers up in the window showed (the first in "
        f"views showing email, phone)"
    )
