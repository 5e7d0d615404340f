"""A crowd of strangers at one customer's record (detect/detectors/crowd.py): every
stranger is flagged once the crowd passes the company's line, and what a crowd of work
looks like (one queue, staff with a case of their own) is no crowd."""

from __future__ import annotations

import datetime as dt

import pytest

from detect_scenarios import ACT_DAY, AGENTS, CROWD, INSIDER, STAR, at, base_company, scenario
from test_detect import detect, detected_scenario, findings


def _crowd(store) -> list[dict]:
    return [f for f in findings(store) if f["detector"] == "crowd"]


def test_the_strangers_before_the_crossing_are_flagged_at_it_and_cite_it(built_once):
    company = scenario("crowd")
    store = detected_scenario("crowd", built_once)
    crowd = _crowd(store)
    # The insider's look-up is the fifth stranger's: the crowd forms there, and everyone
    # in it is flagged at that moment, citing their own look-up and the insider's.
    (crossing,) = [r for r in company.access if r["employee_id"] == INSIDER and r["event_id"]
                   in company.act]  # fmt: skip
    assert sorted(f["employee_id"] for f in crowd) == sorted([*CROWD, INSIDER])
    for f in crowd:
        own = [r["event_id"] for r in company.access
               if r["employee_id"] == f["employee_id"] and r["event_id"] in company.act]  # fmt: skip
        assert f["time"] == crossing["time"]
        assert sorted(f["event_ids"]) == sorted({*own, crossing["event_id"]})
        assert f["customer_ids"] == [STAR]
        assert "one of 5 staff of 2 groups" in f["reason"]
    store.close()


def _news(members: list[str], *, cases: bool = False, search: bool = False):
    """The base company with ``members`` looking up the star on the act's day; each with
    a case about her that morning (``cases``), or finding her by a name search first."""
    c = base_company()
    for e in AGENTS[1:]:
        c.event(e, at(ACT_DAY, 10), "view", ["c100"], ["name"])
    for k, e in enumerate(members):
        t = at(ACT_DAY, 11, 10 * k)
        if cases:
            c.cases.append({"case_id": f"kn{k}", "customer_id": STAR, "employee_id": e,
                            "opened_at": at(ACT_DAY, 8), "closed_at": at(ACT_DAY, 18)})  # fmt: skip
        if search:
            c.event(e, t - dt.timedelta(seconds=40), "search", [STAR], ["name"])
        c.event(e, t, "view", [STAR], ["name", "orders"])
    return c


@pytest.mark.parametrize("groups", [1, 2])
def test_one_queue_is_no_crowd(tmp_path, groups):
    # Five of one peer group (a general queue) against the same five with the supervisor
    # among them: only staff of several groups make a crowd.
    members = [*AGENTS[4:8], "sup"] if groups == 2 else AGENTS[4:9]
    store, _ = detect(_news(members), tmp_path)
    assert bool(_crowd(store)) == (groups == 2)


@pytest.mark.parametrize("cases", [False, True])
def test_staff_with_a_case_of_theirs_are_no_strangers(tmp_path, cases):
    store, _ = detect(_news([*CROWD, INSIDER], cases=cases), tmp_path)
    assert bool(_crowd(store)) == (not cases)


def test_a_name_search_first_weighs_more(tmp_path):
    plain, _ = detect(_news([*CROWD, INSIDER]), tmp_path / "plain")
    searched, _ = detect(_news([*CROWD, INSIDER], search=True), tmp_path / "searched")
    (a,) = [f for f in _crowd(plain) if f["employee_id"] == INSIDER]
    (b,) = [f for f in _crowd(searched) if f["employee_id"] == INSIDER]
    assert b["points"] > a["points"] and "searched first" in b["reason"]


@pytest.mark.parametrize("worked", [False, True])
def test_a_customer_worked_under_many_cases_draws_no_crowd(tmp_path, worked):
    # The same five strangers; with as many colleagues serving her under cases that
    # morning (a customer calling the queues), strangers are no longer most of who came.
    c = _news([*CROWD, INSIDER])
    if worked:
        for k, e in enumerate([*AGENTS[1:4], *AGENTS[7:9]]):
            opened = at(ACT_DAY, 9, 10 * k)
            c.cases.append({"case_id": f"kw{k}", "customer_id": STAR, "employee_id": e,
                            "opened_at": opened, "closed_at": opened + dt.timedelta(minutes=30)})  # fmt: skip
            c.event(e, opened + dt.timedelta(minutes=5), "view", [STAR], ["name"], case_id=f"kw{k}")
    store, _ = detect(c, tmp_path)
    assert bool(_crowd(store)) == (not worked)
