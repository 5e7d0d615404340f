"""Behavioural peer groups on a hand-built company: staff of a group too small to learn
from investigate like the investigating group whose work theirs resembles (golden cases:
their look-ups under their own cases explained, naming the level), while one who works
like the support desk gains nothing by logging unrelated look-ups under his tickets; and
they follow the resembled group's routine, except in sending data out."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from detect_scenarios import Company, at, detect, explanations
from insiderwatch.detect import DetectionConfig
from insiderwatch.detect.calibrate import calibration

RISK = [f"rk{i}" for i in range(3)]  # investigate: many customers under one case
DESK = [f"ag{i}" for i in range(4)]  # support: the case's own customer
RISK_LEAD = "rl"  # the only one of her role and team, investigating the risk team's way
DESK_LEAD = "dl"  # the only one of his, working cases the desk's way
DAYS = 10
HOUR = dt.timedelta(hours=1)


def _case(c: Company, e: str, cust: str, opened: dt.datetime, hours: float) -> str:
    case_id = f"k{len(c.cases):05d}"
    c.cases.append({"case_id": case_id, "customer_id": cust, "employee_id": e,
                    "opened_at": opened, "closed_at": opened + hours * HOUR})  # fmt: skip
    return case_id


def company() -> tuple[Company, dict[str, str]]:
    rng = random.Random(11)
    c = Company()
    staff = [*((e, "risk", "risk-1", "workbench") for e in RISK),
             (RISK_LEAD, "risk_lead", "risk-office", "workbench"),
             *((e, "agent", "desk-1", "crm") for e in DESK),
             (DESK_LEAD, "desk_lead", "desk-office", "crm")]  # fmt: skip
    for i, (e, role, team, _) in enumerate(staff):
        c.employees.append({"employee_id": e, "surname": f"Staff{i}", "role": role, "team": team,
                            "hired_on": "2020-01-01", "home_postcode": f"HP{i} 1AA"})  # fmt: skip
    for i in range(600):
        c.customers.append({"customer_id": f"c{i:03d}", "surname": f"Cust{i}",
                            "postcode": f"PC{i % 50} 2BB"})  # fmt: skip
    for day in range(1, DAYS + 1):
        for k, (e, _, _, app) in enumerate(staff):
            if app == "workbench":  # an investigation a day: a search, then its results
                target = f"c{rng.randrange(500):03d}"
                found = [target, *(f"c{rng.randrange(500):03d}" for _ in range(5))]
                case_id = _case(c, e, target, at(day, 9, k), 30)
                c.event(e, at(day, 9, 10 + k), "search", found, ["name"], app=app,
                        case_id=case_id)  # fmt: skip
                for n, cust in enumerate(found[1:4]):
                    c.event(e, at(day, 10, 10 * n + k), "view", [cust], ["name", "address"],
                            app=app, case_id=case_id)  # fmt: skip
            else:  # support cases: views of the case's customer; an end-of-day report
                c.event(e, at(day, 17, k), "search", [], ["name"], app=app, record_count=40)
                c.event(e, at(day, 17, 10 + k), "export", [], ["name"], app=app,
                        record_count=40, destination="cloud:desk-reports")  # fmt: skip
                for n in range(4):
                    cust = f"c{rng.randrange(500):03d}"
                    case_id = _case(c, e, cust, at(day, 9 + 2 * n, k), 1)
                    c.event(e, at(day, 9 + 2 * n, k + 5), "view", [cust], ["name"], app=app,
                            case_id=case_id)  # fmt: skip
    acts = {}
    for e in (RISK_LEAD, DESK_LEAD):
        last = next(k for k in reversed(c.cases) if k["employee_id"] == e)
        app = "workbench" if e == RISK_LEAD else "crm"
        # Day 1, nothing learned yet; on the last day, another customer under her case.
        first = next(k for k in c.cases if k["employee_id"] == e)
        acts[f"{e}_day1"] = c.event(e, at(1, 11), "view", ["c510"], ["name"], app=app,
                                    case_id=first["case_id"])  # fmt: skip
        acts[e] = c.event(e, at(DAYS, 10, 40), "view", ["c511" if e == RISK_LEAD else "c512"],
                          ["name"], app=app, case_id=last["case_id"])  # fmt: skip
    # On the last day the desk lead's report and its export: the desk's routine.
    acts["report"], acts["report_export"] = (
        next(r["event_id"] for r in reversed(c.access)
             if r["employee_id"] == DESK_LEAD and r["action"] == action)
        for action in ("search", "export")
    )  # fmt: skip
    return c, acts


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    c, acts = company()
    store = detect(c, tmp_path_factory.mktemp("similar"))
    yield c, store, acts
    store.close()


def test_staff_working_like_an_investigating_group_investigate_like_it(world):
    c, store, acts = world
    why = explanations(store)
    assert why[acts[RISK_LEAD]] == "case_linked:similar"
    assert why[acts[f"{RISK_LEAD}_day1"]] is None  # learned from earlier days only
    # Her usual investigation views after the first days, under her own cases: explained.
    later = [r for r in c.access if r["employee_id"] == RISK_LEAD and r["action"] == "view"
             and r["time"] >= at(8, 0) and r["event_id"] != acts[RISK_LEAD]]  # fmt: skip
    assert later and {why[r["event_id"]] for r in later} == {"case_linked:similar"}


def test_staff_working_like_the_desk_gain_nothing_from_their_tickets(world):
    _, store, acts = world
    why = explanations(store)
    assert why[acts[DESK_LEAD]] is None  # the desk does not investigate: ticket cover


def test_staff_working_like_a_group_follow_its_routine_but_send_nothing_out_by_it(world):
    _, store, acts = world
    why = explanations(store)
    assert why[acts["report"]] == "routine:similar"
    assert why[acts["report_export"]] is None  # a flow out of the company stays their own
    # The desk's own export is its routine: the lead's is left out by design, not by chance.
    desk = store.scalar(
        "SELECT count(*) FROM routine_flows WHERE grp = 'agent:desk' AND action = 'export'"
    )
    assert desk > 0


def test_calibrate_shows_who_investigates_by_resemblance(world):
    _, store, _ = world
    cal = calibration(store, DetectionConfig())
    assert cal.investigating == ["risk:risk"]
    (similar,) = cal.investigating_similar
    assert (similar.group, similar.similar_to, similar.staff) == (
        "risk_lead:risk-office", "risk:risk", 1
    )  # fmt: skip
    assert similar.min_similarity > 0.99  # her work is theirs, app for app
    alike = {(r.group, r.similar_to) for r in cal.resemblances}
    assert alike == {
        ("risk_lead:risk-office", "risk:risk"),
        ("desk_lead:desk-office", "agent:desk"),
    }
