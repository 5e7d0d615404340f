"""The relationship detector weighs a kin look-up by how likely meeting that many kin is by
chance among the employee's own case-less look-ups: counter staff who look up dozens of
walk-in strangers a day meet a customer of their own postcode now and then, and that is
no snoop; someone who looks up a few customers and meets two of their neighbours is."""

from __future__ import annotations

import pytest

from detect_scenarios import Company, at, detect

DAYS = 14
ACT = 12  # after the learning window (7 days)
COUNTER = [f"ct{i}" for i in range(4)]
POSTCODES = 40
CUSTOMERS = 2000  # 50 a postcode
PER_DAY = 40  # strangers each counter agent looks up with no case, every day


def company() -> Company:
    c = Company()
    for i, e in enumerate(COUNTER):
        # their home postcode is one many customers live in (PC0 2BB)
        c.employees.append({"employee_id": e, "surname": f"Desk{i}", "role": "counter",
                            "team": "branch-1", "hired_on": "2020-01-01",
                            "home_postcode": "PC0 2BB"})  # fmt: skip
    c.employees.append({"employee_id": "bo", "surname": "Office", "role": "back_office",
                        "team": "ops-1", "hired_on": "2020-01-01", "home_postcode": "QQ1 1AA"})  # fmt: skip
    for i in range(CUSTOMERS):
        c.customers.append({"customer_id": f"c{i:04d}", "surname": f"Cust{i}",
                            "postcode": f"PC{i % POSTCODES} 2BB", "is_vip": False})  # fmt: skip
    for i in range(3):  # the back-office clerk's street
        c.customers.append({"customer_id": f"q{i}", "surname": f"Street{i}",
                            "postcode": "QQ1 1AA", "is_vip": False})  # fmt: skip
    n = 0
    for day in range(1, DAYS + 1):
        for k, e in enumerate(COUNTER):
            for j in range(PER_DAY):  # walk-in strangers, none of their own postcode
                n = n % CUSTOMERS + 1
                n += n % POSTCODES == 0  # skip PC0's customers
                c.event(e, at(day, 9 + j // 8, 7 * (j % 8) + k), "view", [f"c{n % CUSTOMERS:04d}"],
                        ["name", "email"], app="till")  # fmt: skip
        c.event("bo", at(day, 10), "view", [f"c{(day * 37) % CUSTOMERS:04d}"], ["name"],
                app="ledger")  # fmt: skip
    return c


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    c = company()
    looks = {
        # a counter agent serves a walk-in customer who lives in their own postcode
        "walk_in": c.event("ct1", at(ACT, 16), "view", ["c0040"], ["name", "email"], app="till"),
        # the back-office clerk opens two neighbours of theirs
        "first": c.event("bo", at(ACT, 15), "view", ["q0"], ["name", "address"], app="ledger"),
        "second": c.event("bo", at(ACT, 15, 30), "view", ["q1"], ["name", "address"], app="ledger"),
    }  # fmt: skip
    store = detect(c, tmp_path_factory.mktemp("relationship"))
    yield looks, store
    store.close()


def _points(store, employee: str) -> dict[str, float]:
    rows = store.con.execute(
        "SELECT customer_ids[1], points FROM findings "
        "WHERE detector = 'relationship' AND employee_id = ? AND day = ?",
        [employee, at(ACT, 0).date()],
    ).fetchall()
    return dict(rows)


def test_a_neighbour_among_many_walk_in_strangers_is_chance(world):
    _, store = world
    # about 440 strangers looked up before, one in forty of all customers lives in their
    # postcode: a neighbour among them is expected, not sought
    assert _points(store, "ct1") == {}


def test_neighbours_met_by_someone_who_looks_up_few_still_weigh(world):
    _, store = world
    points = _points(store, "bo")
    assert set(points) == {"q0", "q1"}
    assert 0 < points["q0"] <= points["q1"]
    assert points["q1"] == 12.0  # the second of three neighbours: never chance, full weight
    reason = store.scalar(
        "SELECT reason FROM findings WHERE detector = 'relationship' AND customer_ids = ['q1']"
    )
    assert "2 such customer(s) met" in reason
