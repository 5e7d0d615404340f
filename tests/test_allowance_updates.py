"""Case-less updates spend the learned look-up allowance (detect/allowance.py): account
managers who change their clients' details with no ticket have that amount as usual, and
someone rewriting strangers' records past it still stays unexplained; an update of a
customer the employee opened earlier that day stays work (a teller's transaction after
looking the walk-in up: tests/test_allowance_work.py)."""

from __future__ import annotations

import pytest

from detect_scenarios import Company, at, detect, explanations

# The company ends on the day judged: detection never reads a later day, so days after it
# would only cost time.
ACT = 12  # after the learning window (7 days)
DAYS = ACT
# Six account managers update one client's record now and then, with no ticket: each on a
# different share of days, so their totals spread.
MANAGERS = {f"am{i}": i + 2 for i in range(6)}
REWRITER = "am0"  # the one with the fewest updates: his allowance is not spent yet
USUAL = "am1"  # one update before the act's day, one on it: as usual as anyone


def update_days(every: int) -> list[int]:
    return [d for d in range(1, DAYS + 1) if d % every == 0]


def company() -> Company:
    c = Company()
    for i, e in enumerate(MANAGERS):
        c.employees.append({"employee_id": e, "surname": f"Mgr{i}", "role": "account_manager",
                            "team": "accounts-1", "hired_on": "2020-01-01",
                            "home_postcode": f"H{i} 1AA"})  # fmt: skip
    for i in range(400):
        c.customers.append({"customer_id": f"c{i:03d}", "surname": f"Cust{i}",
                            "postcode": f"PC{i % 40} 2BB"})  # fmt: skip
    n = 0
    for k, (e, every) in enumerate(MANAGERS.items()):
        for day in range(1, DAYS + 1):
            c.event(e, at(day, 9, k), "view", [], ["name"], app="deals", record_count=0)
            if day in update_days(7 - every + 2):
                n += 1
                c.event(e, at(day, 14, k), "update", [f"c{n % 300:03d}"], ["name", "email"],
                        app="deals")  # fmt: skip
    # The manager with the fewest updates rewrites twenty strangers' contact details.
    for k in range(20):
        c.event(REWRITER, at(ACT, 10, k), "update", [f"c{320 + k:03d}"], ["name", "email"],
                app="deals", act=True)  # fmt: skip
    return c


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    c = company()
    store = detect(c, tmp_path_factory.mktemp("allowance-updates"))
    yield c, store
    store.close()


def updates(c: Company, employee: str, day: int) -> list[dict]:
    return [r for r in c.access if r["employee_id"] == employee and r["action"] == "update"
            and r["time"].date() == at(day, 0).date()]  # fmt: skip


def test_a_usual_update_is_allowed_and_rewriting_strangers_past_it_is_not(world):
    c, store = world
    why = explanations(store)
    (update,) = updates(c, USUAL, ACT)
    assert why[update["event_id"]] == "allowance"
    rewrites = [why[r["event_id"]] for r in updates(c, REWRITER, ACT)]
    allowed = sum(1 for w in rewrites if w == "allowance")
    assert allowed < 5 and rewrites[-1] is None and rewrites.count(None) >= 15


def test_updates_are_counted_as_look_ups_not_as_work(world):
    c, store = world
    looked, work = store.con.execute(
        "SELECT sum(lookups), sum(work) FROM allowance_days WHERE employee_id = ? AND day = ?",
        [REWRITER, at(ACT, 0).date()],
    ).fetchall()[0]
    assert looked == 20 and work == 1  # the day's one broad view is the work
