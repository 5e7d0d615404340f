"""Fixation's company rate is a typical colleague's, not the busiest account's: one
account in another team that opens a hundred customers a day, coming back to each every
few days (a batch job, a back office working a list), must not make a counter clerk's
return to one person on three days look ordinary. A clerk who meets strangers once each
is judged as before: nothing fires for them."""

from __future__ import annotations

import pytest

from detect_scenarios import Company, at, detect

DAYS = 14
CLERKS = [f"cl{i:02d}" for i in range(30)]
SNOOP = "cl00"
BULK = "bulk"
RETURNS = (9, 11, 13)  # judged after the learning window (7 days)


def company(padding: int = 0) -> Company:
    """``padding``: strangers the snoop also opens each day, beyond the clerks' one."""
    c = Company()
    staff = [(e, "clerk", "counter") for e in CLERKS] + [(BULK, "operator", "back-office")]
    for i, (e, role, team) in enumerate(staff):
        c.employees.append({"employee_id": e, "surname": f"Staff{i}", "role": role,
                            "team": team, "hired_on": "2020-01-01",
                            "home_postcode": f"H{i} 1AA"})  # fmt: skip
    for i in range(1200):
        c.customers.append({"customer_id": f"c{i:04d}", "surname": f"Cust{i}",
                            "postcode": f"PC{i % 50} 2BB", "is_vip": False})  # fmt: skip
    c.customers.append({"customer_id": "ex", "surname": "Other", "postcode": "PX9 9ZZ"})
    n = 0
    for day in range(1, DAYS + 1):
        for k, e in enumerate(CLERKS):  # a stranger a day each, never the same one twice
            n += 1
            c.event(e, at(day, 10, k), "view", [f"c{n:04d}"], ["name", "phone"])
        for k in range(100):  # the bulk account works a list of 300, one at a time
            c.event(BULK, at(day, 12, k // 60, k % 60), "view",
                    [f"c{900 + (day * 100 + k) % 300:04d}"], ["name"])  # fmt: skip
        for k in range(padding):
            n += 1
            c.event(SNOOP, at(day, 11, k), "view", [f"c{n:04d}"], ["name"], act=True)
        if day in RETURNS:
            c.event(SNOOP, at(day, 16), "view", ["ex"], ["name", "phone"], act=True)
    return c


@pytest.fixture(scope="module")
def fired(tmp_path_factory):
    store = detect(company(), tmp_path_factory.mktemp("fixation-busy"))
    rows = store.con.execute(
        "SELECT employee_id, customer_ids FROM findings WHERE detector = 'fixation'"
    ).fetchall()
    bulk_returns = store.scalar(
        "SELECT count(*) FROM (SELECT customer_id FROM revisit_days WHERE employee_id = ? "
        "GROUP BY customer_id HAVING count(*) >= 3)",
        [BULK],
    )
    store.close()
    return rows, bulk_returns


def test_a_return_to_one_person_is_found_beside_a_busy_account(fired):
    rows, bulk_returns = fired
    assert bulk_returns > 100  # the busy account's returns are case-less and counted
    assert (SNOOP, ("ex",)) in {(e, tuple(c)) for e, c in rows}


def test_clerks_meeting_strangers_once_raise_nothing(fired):
    rows, _ = fired
    assert {e for e, _ in rows if e in CLERKS} <= {SNOOP}


def test_padding_ones_own_days_with_strangers_raises_no_cover(tmp_path):
    """The snoop opens a second stranger a day, more look-ups than any colleague: the
    cap on the busy account's weight in the company's rate is the busiest colleague's,
    never the judged employee's own, so the padding buys no more than its own volume."""
    store = detect(company(padding=1), tmp_path)
    found = store.scalar(
        "SELECT count(*) FROM findings WHERE detector = 'fixation' AND employee_id = ? "
        "AND customer_ids = ['ex']",
        [SNOOP],
    )
    store.close()
    assert found >= 1
