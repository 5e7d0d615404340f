"""Learned casework on a hand-built company: golden cases per rule (investigating groups,
their case-linked and drill-down look-ups, team portfolios), one insider unable to make
his group investigate, and nothing learned from the future."""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import pytest

from detect_scenarios import Company, at
from insiderwatch.detect import DetectionConfig, run_detection
from insiderwatch.detect.calibrate import calibration
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from sample_data import KEY_HEX

KEY = HashKey(bytes.fromhex(KEY_HEX))
RISK = [f"rk{i}" for i in range(3)]  # investigate: many customers under one case
DESK = [f"ag{i}" for i in range(8)]  # support: the case's own customer
SELLER_DESK = [f"sd{i}" for i in range(3)]  # serve the buyers of sellers s0 and s1
DAYS = 10
ACT = 9
HOUR = dt.timedelta(hours=1)


def _employees(c: Company) -> None:
    for i, (e, role, team) in enumerate(
        [*((e, "risk", "risk-1") for e in RISK), *((e, "agent", "desk-1") for e in DESK),
         *((e, "agent", "sellers-1") for e in SELLER_DESK)]
    ):  # fmt: skip
        c.employees.append({"employee_id": e, "surname": f"Staff{i}", "role": role,
                            "team": team, "hired_on": "2020-01-01",
                            "home_postcode": f"HP{i} 1AA"})  # fmt: skip
    for i in range(600):
        c.customers.append({"customer_id": f"c{i:03d}", "surname": f"Cust{i}",
                            "postcode": f"PC{i % 50} 2BB"})  # fmt: skip
    # Customers c000-c499 bought from seller s(i % 10); c500-c599 are the acts' customers.
    for i in range(600):
        c.orders.append({"order_id": f"o{i}", "customer_id": f"c{i:03d}",
                         "seller_id": f"s{i % 10}", "ordered_at": at(1, 0) - 30 * 24 * HOUR})  # fmt: skip


def _case(c: Company, e: str, cust: str, opened: dt.datetime, hours: float) -> str:
    case_id = f"k{len(c.cases):05d}"
    c.cases.append({"case_id": case_id, "customer_id": cust, "employee_id": e,
                    "opened_at": opened, "closed_at": opened + hours * HOUR})  # fmt: skip
    return case_id


def company() -> Company:
    rng = random.Random(7)
    c = Company()
    _employees(c)
    for day in range(1, DAYS + 1):
        for k, e in enumerate(RISK):  # an investigation a day: a search, then its results
            target = f"c{rng.randrange(500):03d}"
            found = [target, *(f"c{rng.randrange(500):03d}" for _ in range(5))]
            case_id = _case(c, e, target, at(day, 9, k), 30)
            c.event(e, at(day, 9, 10 + k), "search", found, ["name"], case_id=case_id)
            for n, cust in enumerate(found[1:4]):
                c.event(e, at(day, 10, 10 * n + k), "view", [cust], ["name", "address"],
                        case_id=case_id)  # fmt: skip
            # A linked account opened from the case's page, no search before: the case
            # scope (casescope.py) learns that one such customer a case-day is usual.
            c.event(e, at(day, 15, k), "view", [f"c{520 + (3 * day + k) % 80:03d}"],
                    ["name", "address"], case_id=case_id)  # fmt: skip
        for k, e in enumerate(DESK):  # support cases: views of the case's customer
            for n in range(4):
                cust = f"c{rng.randrange(500):03d}"
                case_id = _case(c, e, cust, at(day, 9 + 2 * n, k), 1)
                c.event(e, at(day, 9 + 2 * n, k + 5), "view", [cust], ["name"], case_id=case_id)
        for k, e in enumerate(SELLER_DESK):  # seller support: buyers of s0 and s1 only
            for n in range(4):
                cust = f"c{10 * rng.randrange(50) + rng.randrange(2):03d}"
                case_id = _case(c, e, cust, at(day, 9 + 2 * n, k), 1)
                c.event(e, at(day, 9 + 2 * n, k + 5), "view", [cust], ["name"], case_id=case_id)
    return c


def add_acts(c: Company) -> dict[str, str]:
    """The look-ups each test judges, keyed by what they are."""
    risk_case = next(k["case_id"] for k in reversed(c.cases) if k["employee_id"] == "rk0")
    search = next(
        r for r in reversed(c.access) if r["employee_id"] == "rk0" and r["action"] == "search"
    )
    first_case = next(k["case_id"] for k in c.cases if k["employee_id"] == "rk0")
    overnight = next(
        r
        for r in c.access
        if r["employee_id"] == "rk1" and r["action"] == "search" and r["time"] >= at(DAYS - 1, 0)
    )
    desk_case = next(k["case_id"] for k in reversed(c.cases) if k["employee_id"] == "ag0")
    return {
        # Day 1: nothing is learned yet, so another customer under the case is unexplained.
        "risk_day1_other": c.event(
            "rk0", at(1, 11), "view", ["c510"], ["name"], case_id=first_case
        ),
        # Within the group's case scope: its fields, and the first unsearched customer.
        "risk_other": c.event(
            "rk0", at(DAYS, 11), "view", ["c511"], ["name", "address"], case_id=risk_case
        ),  # fmt: skip
        # The case id not captured: a customer the morning's search returned.
        "risk_drilldown": c.event(
            "rk0", at(DAYS, 12), "view", [search["customer_ids"][4]], ["name"]
        ),
        "risk_not_found": c.event("rk0", at(DAYS, 12, 5), "view", ["c512"], ["name"]),
        # Past midnight, a customer yesterday's search returned: the step's lookback.
        "risk_drilldown_overnight": c.event(
            "rk1", at(DAYS, 0, 30), "view", [overnight["customer_ids"][4]], ["name"]
        ),
        # A support agent hiding look-ups behind his own open ticket (ticket cover).
        "desk_cover": c.event("ag0", at(DAYS, 17), "view", ["c513"], ["name"], case_id=desk_case),
        "seller_portfolio": c.event("sd0", at(DAYS, 17), "view", ["c020"], ["name"]),
        "seller_other": c.event("sd0", at(DAYS, 17, 5), "view", ["c025"], ["name"]),
        "desk_portfolio_seller": c.event("ag1", at(DAYS, 17), "view", ["c030"], ["name"]),
        # A name search finding a buyer of s0 beside three namesakes of other sellers'.
        "seller_name_search": c.event(
            "sd1", at(DAYS, 17, 10), "search", ["c010", "c013", "c015", "c017"], ["name"]
        ),
        # A harvester's wide search: 40 customers none of their cases concern, 8 of them
        # buyers of s0 or s1.
        "seller_wide_search": c.event(
            "sd2",
            at(DAYS, 17, 10),
            "search",
            [f"c{540 + k}" for k in range(40)],
            ["name", "email", "phone"],
        ),
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    c = company()
    acts = add_acts(c)
    folder: Path = tmp_path_factory.mktemp("casework")
    c.write(folder / "dataset")
    store = Store(folder / "iw.duckdb", threads=1)
    ingest_dataset(store, folder / "dataset", KEY)
    run_detection(store, DetectionConfig(), KEY)
    why = dict(store.con.execute("SELECT event_id, explanation FROM access_explained").fetchall())
    yield store, {name: why[event_id] for name, event_id in acts.items()}
    store.close()


def test_a_group_that_looks_at_others_under_its_cases_investigates(world):
    _, why = world
    assert why["risk_other"] == "case_linked"
    assert why["risk_day1_other"] is None  # learned from earlier days only


def test_an_investigation_follows_its_own_search_results(world):
    _, why = world
    assert why["risk_drilldown"] == "case_search"
    assert why["risk_drilldown_overnight"] == "case_search"  # a search of the day before
    assert why["risk_not_found"] is None


def test_one_agent_under_his_own_ticket_does_not_make_his_group_investigate(world):
    store, why = world
    assert why["desk_cover"] is None
    groups = {g for (g,) in store.con.execute(
        "SELECT DISTINCT peer_group FROM casework_days WHERE linked_other > 0").fetchall()}  # fmt: skip
    assert groups == {"risk:risk", "agent:desk"}  # the agent's cover is recorded, not trusted


def test_a_team_portfolio_is_learned_from_its_cases(world):
    _, why = world
    assert why["seller_portfolio"] == "portfolio"
    assert why["seller_other"] is None  # a seller the team does not serve
    # The desk serves every seller's buyers: no portfolio (the agent served this customer
    # under a case before, so it is his book).
    assert why["desk_portfolio_seller"] == "book"


def test_a_portfolio_explains_a_search_for_a_buyer_not_a_sweep_of_many(world):
    _, why = world
    # A search is explained when it found a buyer among a few namesakes, as when it found
    # a case's customer; but some customer of a wide search is nearly always a buyer.
    assert why["seller_name_search"] == "portfolio"
    assert why["seller_wide_search"] is None


def test_calibration_shows_the_casework_it_learned(world):
    store, _ = world
    cal = calibration(store, DetectionConfig())
    assert cal.investigating == ["risk:risk"]  # the desk agent's cover taught nothing
    portfolios = {p.team: p.sellers for p in cal.portfolios}
    assert portfolios["sellers-1"] == ["s0", "s1"]
    assert "desk-1" not in portfolios  # the desk serves every seller's buyers
    assert calibration(store).investigating == []  # without the config nothing is claimed
