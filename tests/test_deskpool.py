"""The desk pool on a hand-built company: golden cases. A relationship desk that works a
shared pool of clients (its members come back to them, several members to each) has its
members' look-ups and updates of the pool explained (``book:desk``); a famous customer
the whole crowd looks up, an insider's harvest of customers the desk never looked up, a
customer only the employee and two colleagues looked up (one's own look-ups never count)
and a flagged VIP where the pool is not a VIP desk's are not; tellers who touch each
walk-in once are no desk."""

from __future__ import annotations

import random

import pytest

from detect_scenarios import Company, at, detect, explanations
from insiderwatch.detect import DetectionConfig
from insiderwatch.detect.config import Book, DeskPool
from insiderwatch.detect.groupbook import DESK

DAYS = 20
DESK_STAFF = [f"rm{i}" for i in range(6)]
TELLERS = [f"tl{i}" for i in range(6)]
POOL = [f"p{i:02d}" for i in range(12)]
INSIDER = "rm0"


def workdays() -> list[int]:
    return [d for d in range(1, DAYS + 1) if at(d, 0).weekday() < 5]


def company() -> Company:
    """Six managers each look up four clients of the desk's shared pool of 12 a day (at random), no
    case, and update one; six tellers look up five walk-ins a day from 300 customers. The
    whole crowd looks "star" up every other day. rm0, rm1 and rm2 come back to "ex" every
    day; rm3 looks her up once late. On the last workday rm0 harvests ten customers."""
    rng = random.Random(7)
    c = Company()
    for k, e in enumerate(DESK_STAFF):
        c.employees.append({"employee_id": e, "surname": f"Mgr{k}", "role": "relationship",
                            "team": "desk-1", "hired_on": "2020-01-01",
                            "home_postcode": f"HM{k} 1AA"})  # fmt: skip
    for k, e in enumerate(TELLERS):
        c.employees.append({"employee_id": e, "surname": f"Tel{k}", "role": "teller",
                            "team": "branch-1", "hired_on": "2020-01-01",
                            "home_postcode": f"HT{k} 1AA"})  # fmt: skip
    for cust in POOL:
        c.customers.append({"customer_id": cust, "surname": f"S{cust}", "postcode": "PB 1"})
    for i in range(300):
        c.customers.append({"customer_id": f"w{i:03d}", "surname": f"Walk{i}",
                            "postcode": f"PW{i % 30} 1"})  # fmt: skip
    for i in range(20):
        c.customers.append({"customer_id": f"h{i:02d}", "surname": f"Far{i}", "postcode": "PH 1"})
    c.customers += [
        {"customer_id": "star", "surname": "Famous", "postcode": "PV 1"},
        {"customer_id": "ex", "surname": "Former", "postcode": "PX 1"},
    ]
    days = workdays()
    for n, day in enumerate(days):
        for k, e in enumerate(DESK_STAFF):
            for j, cust in enumerate(rng.sample(POOL, 4)):
                c.event(e, at(day, 9, 7 * j + k), "view", [cust], ["name", "email", "phone"])
            c.event(e, at(day, 11, k), "update", [rng.choice(POOL)], ["phone"])
            if e in ("rm0", "rm1", "rm2"):
                c.event(e, at(day, 15, k), "view", ["ex"], ["name", "address"], act=True)
        for k, e in enumerate(TELLERS):
            for j in range(5):
                c.event(e, at(day, 10 + j, k), "view", [f"w{rng.randrange(300):03d}"],
                        ["name", "email"])  # fmt: skip
        if n % 2 == 0:
            for k, e in enumerate(DESK_STAFF + TELLERS):
                c.event(e, at(day, 16, k), "view", ["star"], ["name", "phone"], act=True)
    c.event("rm3", at(days[-1], 15, 30), "view", ["ex"], ["name", "address"])
    for i in range(10):
        c.event(INSIDER, at(days[-1], 17, i), "view", [f"h{i:02d}"], ["name", "address"],
                act=True)  # fmt: skip
    return c


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    c = company()
    store = detect(c, tmp_path_factory.mktemp("deskpool"))
    yield c, explanations(store)
    store.close()


def _late(c: Company, staff: list[str], customers: set[str], action: str = "view") -> list[str]:
    return [r["event_id"] for r in c.access if r["employee_id"] in staff
            and r["action"] == action and r["customer_ids"][0] in customers
            and r["time"] >= at(workdays()[8], 0)]  # fmt: skip


def test_a_desks_look_ups_and_updates_of_its_pool_are_explained(world):
    c, why = world
    views = _late(c, DESK_STAFF, set(POOL))
    updates = _late(c, DESK_STAFF, set(POOL), "update")
    assert views and updates
    assert {why[x] for x in views} == {DESK}
    assert {why[x] for x in updates} == {DESK}


def test_the_pool_is_learned_from_earlier_days_only(world):
    c, why = world
    first = [r["event_id"] for r in c.access if r["time"] < at(workdays()[1], 0)]
    assert first and DESK not in {why[x] for x in first}


def test_the_crowds_look_ups_of_a_famous_customer_stay_unexplained(world):
    c, why = world
    star = _late(c, DESK_STAFF + TELLERS, {"star"})
    assert star and DESK not in {why[x] for x in star}


def test_an_insiders_harvest_outside_the_pool_stays_unexplained(world):
    c, why = world
    harvest = [r["event_id"] for r in c.access if r["customer_ids"][0].startswith("h")]
    assert len(harvest) == 10 and DESK not in {why[x] for x in harvest}


def test_ones_own_returns_never_put_a_customer_in_ones_pool(world):
    # rm0, rm1 and rm2 look "ex" up every day: each has two colleagues who did, one short
    # of min_staff, so none of them is explained; rm3, who never did, has three.
    c, why = world
    returners = _late(c, ["rm0", "rm1", "rm2"], {"ex"})
    assert returners and DESK not in {why[x] for x in returners}
    (late,) = _late(c, ["rm3"], {"ex"})
    assert why[late] == DESK


def test_tellers_touching_walk_ins_briefly_pool_nobody(world):
    c, why = world
    tellers = [r["event_id"] for r in c.access if r["employee_id"] in TELLERS]
    assert DESK not in {why[x] for x in tellers}


def test_switched_off_it_explains_nothing(tmp_path):
    cfg = DetectionConfig(book=Book(desk=DeskPool(enabled=False)))
    store = detect(company(), tmp_path, cfg)
    try:
        assert DESK not in set(explanations(store).values())
    finally:
        store.close()


def test_a_flagged_vip_stays_out_of_a_pool_that_is_not_a_vip_desks(tmp_path):
    """One pool client flagged VIP: the desk's pool is not mostly VIPs, so the managers'
    look-ups of her stay with the vip detector."""
    c = company()
    c.customers = [{**x, "is_vip": True} if x["customer_id"] == POOL[0] else x
                   for x in c.customers]  # fmt: skip
    store = detect(c, tmp_path)
    try:
        why = explanations(store)
    finally:
        store.close()
    vip = _late(c, DESK_STAFF, {POOL[0]})
    assert vip and DESK not in {why[x] for x in vip}
    assert {why[x] for x in _late(c, DESK_STAFF, set(POOL[1:]))} == {DESK}
