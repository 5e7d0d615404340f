"""Who counts as someone an employee knows (``detect/kin.py``): a customer in their home
postcode, or one who shares a surname rare among the customers. A namesake of a common
surname is no relative (the relationship detector ignores it too), so the look-up
allowance and follow-ups explain it like any other look-up; a rare namesake and a
neighbour stay for the relationship detector, whatever the allowance."""

from __future__ import annotations

import msgspec
import pytest

from detect_scenarios import Company, at, detect, explanations
from insiderwatch.detect import DetectionConfig, run_detection
from insiderwatch.privacy import HashKey
from sample_data import KEY_HEX

# The company ends on the day judged: detection never reads a later day, so days after it
# would only cost time.
ACT = 12  # after the learning window (7 days)
DAYS = ACT
# Six engineers debug a customer's account now and then, without a ticket.
ENGINEERS = {f"en{i}": i + 2 for i in range(6)}
SURNAMES = {"en0": "Jones", "en1": "Rareson"}  # a common surname, a rare one
CUSTOMERS = 520  # a surname one customer holds is rare (under 0.2% of them)
JONESES = 12  # about 2% of the customers: a common surname


def company() -> Company:
    c = Company()
    for i, e in enumerate(ENGINEERS):
        c.employees.append({"employee_id": e, "surname": SURNAMES.get(e, f"Dev{i}"),
                            "role": "engineer", "team": "platform-1",
                            "hired_on": "2020-01-01", "home_postcode": f"H{e} 1AA"})  # fmt: skip
    for i in range(CUSTOMERS):
        surname = "Jones" if i < JONESES else f"Cust{i}"
        c.customers.append({"customer_id": f"c{i:03d}", "surname": surname,
                            "postcode": f"PC{i % 40} 2BB", "is_vip": False})  # fmt: skip
    c.customers.append({"customer_id": "rare", "surname": "Rareson", "postcode": "PR 1"})
    c.customers.append({"customer_id": "near", "surname": "Elsewhere", "postcode": "Hen2 1AA"})
    n = JONESES
    for k, (e, every) in enumerate(ENGINEERS.items()):
        for day in range(1, DAYS + 1):
            c.event(e, at(day, 9, k), "view", [], ["name"], app="console", record_count=0)
            if day % (7 - every + 2) == 0:
                n += 1
                c.event(e, at(day, 14, k), "view", [f"c{n:03d}"], ["name", "email"],
                        app="console")  # fmt: skip
    return c


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    c = company()
    looks = {
        # en0 (Jones) debugs another Jones's account, then opens it again
        "common": c.event("en0", at(ACT, 11), "view", ["c003"], ["name", "email"], app="console"),
        "again": c.event("en0", at(ACT, 11, 20), "view", ["c003"], ["name"], app="console"),
        # en1 looks up the one other Rareson; en2 a customer living in en2's postcode
        "rare": c.event("en1", at(ACT, 11), "view", ["rare"], ["name", "email"], app="console"),
        "near": c.event("en2", at(ACT, 11), "view", ["near"], ["name", "email"], app="console"),
    }  # fmt: skip
    store = detect(c, tmp_path_factory.mktemp("kin"))
    yield looks, store
    store.close()


def test_a_namesake_of_a_common_surname_is_an_ordinary_lookup(world):
    looks, store = world
    why = explanations(store)
    assert why[looks["common"]] == "allowance"
    assert why[looks["again"]] == "followup"
    lookups = store.scalar(
        "SELECT lookups FROM allowance_days WHERE employee_id = 'en0' AND day = ?",
        [at(ACT, 0).date()],
    )
    assert lookups == 2  # it spends the allowance like any look-up


def test_a_rare_namesake_and_a_neighbour_are_never_allowed(world):
    looks, store = world
    why = explanations(store)
    assert why[looks["rare"]] is None and why[looks["near"]] is None
    found = store.con.execute(
        "SELECT DISTINCT employee_id FROM findings WHERE detector = 'relationship' ORDER BY 1"
    ).fetchall()
    assert found == [("en1",), ("en2",)]  # the common namesake is nobody's relative


def test_changing_the_rarity_line_replays_what_the_guards_decided(tmp_path):
    """The guards read the relationship detector's ``namesake_max_share``, so changing it
    changes every day's explanations and allowance counts: the next run rebuilds them, and
    the store equals a fresh replay with the new line (not only the detector's findings)."""
    c = company()
    look = c.event("en0", at(ACT, 11), "view", ["c003"], ["name", "email"], app="console")
    wider = msgspec.structs.replace(
        DetectionConfig(), detectors={"relationship": {"namesake_max_share": 0.05}}
    )  # Jones (about 2% of the customers) is now rare: a Jones is a relative
    rerun = detect(c, tmp_path / "rerun")
    run_detection(rerun, wider, HashKey(bytes.fromhex(KEY_HEX)))
    fresh = detect(c, tmp_path / "fresh", wider)
    for sql in (
        "SELECT * FROM allowance_days ORDER BY ALL",
        "SELECT event_id, explanation FROM access_explained ORDER BY ALL",
        "SELECT detector, employee_id, day, reason FROM findings ORDER BY ALL",
    ):
        assert rerun.con.execute(sql).fetchall() == fresh.con.execute(sql).fetchall(), sql
    assert explanations(fresh)[look] is None  # a relative's, now
    rerun.close()
    fresh.close()
