"""The routine keeps the field SETS its doers show in one access, not their union, and
``case_mismatch`` judges a search against the peers' searches showing those fields.

A disputes team searches by name under its cases (contact details: email, name, phone,
the case's customer among namesakes) and runs link analysis under them (address, name,
payment; none of the case's customers, several a search, so ``case_mismatch``'s line is
high). A skim under the skimmer's own case shows contact AND payment details together:
every field is in the union, but no colleague's search shows that set."""

from __future__ import annotations

import msgspec
import pytest

from detect_scenarios import Company, at, detect, explanations
from insiderwatch.detect import DetectionConfig
from insiderwatch.detect.calibrate import calibration, policy_yaml
from insiderwatch.detect.config import load_policy_file

STAFF = [f"d{i}" for i in range(6)]
DAYS = 12
ACT = 11  # after the learning window (7 days)
SKIMMER, CHECKER = "d0", "d5"
CONTACT = ["email", "name", "phone"]
LINKS = ["address", "name", "payment"]
SKIM = ["email", "name", "payment", "phone"]
EMAIL_PAYMENT = ["email", "payment"]
WIDER = [["address", "email", "payment"], ["email", "payment", "phone"]]
APP = {"app": "disputes"}


def _pool(day: int, k: int, n: int, offset: int) -> list[str]:
    start = (day * 53 + k * 97 + offset) % 500
    return [f"c{(start + i) % 500:03d}" for i in range(n)]


def _staffed(staff, role: str, team: str) -> Company:
    """A company of ``staff`` in one role and team, and 600 customers."""
    c = Company()
    for i, e in enumerate(staff):
        c.employees.append({"employee_id": e, "surname": f"Staff{i}", "role": role,
                            "team": team, "hired_on": "2020-01-01",
                            "home_postcode": f"HP{i} 1AA"})  # fmt: skip
    for i in range(600):
        c.customers.append({"customer_id": f"c{i:03d}", "surname": f"Cust{i}",
                            "postcode": f"PC{i % 40} 2BB", "is_vip": False})  # fmt: skip
    return c


def company() -> Company:
    """Six dispute handlers; each day each opens a case, views its customer, searches by
    name under it and runs link analysis under it (twice on alternate days). On the act
    day the skimmer searches contact and payment details under their own case instead."""
    c = _staffed(STAFF, "disputes", "disp-1")
    for day in range(1, DAYS + 1):
        for k, e in enumerate(STAFF):
            case, subject = f"k{day:02d}{k}", f"c{500 + day * 6 + k:03d}"
            c.cases.append({"case_id": case, "customer_id": subject, "employee_id": e,
                            "opened_at": at(day, 9, k), "closed_at": at(day, 17, k)})  # fmt: skip
            c.event(e, at(day, 9, 10 + k), "view", [subject], [*CONTACT, "address"],
                    case_id=case)  # fmt: skip
            if e == SKIMMER and day == ACT:
                # One customer each showing two sets that hold email and payment, then the
                # skim; only at 16:00 a search shows email and payment alone.
                for n, (hour, fields) in enumerate(((11, WIDER[0]), (11, WIDER[1]),
                                                    (16, EMAIL_PAYMENT))):  # fmt: skip
                    c.event(e, at(day, hour, 20 * n), "search", _pool(day, k, 1, 350 + 10 * n),
                            fields, case_id=case, act=True, **APP)  # fmt: skip
                for n, hour in enumerate((12, 13)):
                    c.event(e, at(day, hour, k), "search", _pool(day, k, 6, 300 + 6 * n), SKIM,
                            case_id=case, act=True, **APP)  # fmt: skip
                continue
            c.event(e, at(day, 10, k), "search", [subject, *_pool(day, k, 4, 0)], CONTACT,
                    case_id=case, **APP)  # fmt: skip
            for n in range(1 + (day + k) % 2):  # link analysis: none of the case's customers
                c.event(e, at(day, 14 + n, k), "search", _pool(day, k, 8, 100 + 8 * n), LINKS,
                        case_id=case, **APP)  # fmt: skip
    return c


# Case-less searches by a colleague on the act day: each learned set and parts of them
# are routine; contact and payment details together are not.
LEARNED = [CONTACT, LINKS, ["email", "name"], ["name", "payment"], ["address"]]
UNLEARNED = [SKIM, EMAIL_PAYMENT]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    c = company()
    checks = {}
    for n, fields in enumerate(LEARNED + UNLEARNED):
        checks[c.event(CHECKER, at(ACT, 11, 30 + n), "search", _pool(ACT, 9, 5, 400 + 5 * n),
                       fields, **APP)] = fields  # fmt: skip
    store = detect(c, tmp_path_factory.mktemp("fieldsets"))
    yield c, store, checks
    store.close()


def test_a_search_showing_fields_no_colleague_shows_together_is_not_routine(world):
    c, store, checks = world
    why = explanations(store)
    assert all(not (why[e] or "").startswith("routine") for e in c.act)
    learned = [e for e, f in checks.items() if f in LEARNED]
    unlearned = [e for e, f in checks.items() if f in UNLEARNED]
    assert {why[e] for e in learned} == {"routine"}
    assert not any((why[e] or "").startswith("routine") for e in unlearned)


def test_each_learned_set_is_kept_apart(world):
    _, store, _ = world
    rows = store.con.execute(
        "SELECT DISTINCT field_sets FROM routine_flows WHERE day = ? AND action = 'search'",
        [at(ACT, 0).date()],
    ).fetchall()
    assert rows == [([LINKS, CONTACT],)]


def test_case_mismatch_judges_the_skim_against_searches_showing_its_fields(world):
    # The group's link analysis lifts the line of every search under a case about
    # someone else (two searches of eight customers on alternate days: the 99th
    # percentile is 16); the skim's 12 customers stay under it, but no colleague's search
    # shows contact and payment details together.
    _, store, _ = world
    found = store.con.execute(
        "SELECT employee_id, day, max(severity) FROM findings WHERE detector = 'case_mismatch'"
        " GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    assert [(e, d) for e, d, _ in found] == [(SKIMMER, at(ACT, 0).date())]


def test_a_field_sets_line_is_crossed_no_earlier_than_a_view_showing_that_set(world):
    # By 11:20 two customers were shown with email and payment among other fields, but
    # no search showed that set alone until 16:00: the set's line did not exist before
    # then, so no finding may name it with an earlier time (a step ending at noon could
    # not have made it). The skim crosses its own set's line at 12:00.
    c, store, _ = world
    first_shown = {}
    for row in c.access:
        if (
            row["employee_id"] == SKIMMER
            and row.get("case_id")
            and row["time"].date() == at(ACT, 0).date()
        ):
            key = ", ".join(sorted(row["fields"]))
            first_shown[key] = min(first_shown.get(key, row["time"]), row["time"])
    found = store.con.execute(
        "SELECT time, reason FROM findings WHERE detector = 'case_mismatch' ORDER BY time"
    ).fetchall()
    assert found
    for time, reason in found:
        shown = reason.split(" showing ")[1].split(" with no")[0] if " showing " in reason else None
        assert shown is None or time >= first_shown[shown], (time, reason)
    assert found[0][0] == at(ACT, 12, 0)


# A learned flow whose doers never show one set twice has fields but no usual set: each
# field is common, no combination is. It explains nothing (only a reviewed flow written
# before field sets existed checks its fields alone), so a report showing every field at
# once is not routine.
REPORTERS = ["r0", "r1", "r2"]
ALL_FIELDS = ["address", "email", "name", "notes", "orders", "payment", "phone"]


def _distinct_sets() -> list[list[str]]:
    """Every pair and triple of the fields, each to be shown on one employee-day only."""
    from itertools import combinations

    return [list(s) for n in (2, 3) for s in combinations(ALL_FIELDS, n)]


def test_a_learned_flow_with_no_usual_field_set_explains_nothing(tmp_path):
    c = _staffed(REPORTERS, "reporting", "rep-1")
    sets = iter(_distinct_sets())
    for day in range(1, DAYS):
        for k, e in enumerate(REPORTERS):
            c.event(e, at(day, 10, k), "search", _pool(day, k, 10, 0), next(sets),
                    app="reports")  # fmt: skip
    every = c.event("r0", at(DAYS, 10), "search", _pool(DAYS, 0, 10, 0), ALL_FIELDS,
                    app="reports")  # fmt: skip
    store = detect(c, tmp_path)
    try:
        flows = store.con.execute(
            "SELECT fields, field_sets FROM routine_flows WHERE day = ? AND app = 'reports'",
            [at(DAYS, 0).date()],
        ).fetchall()
        assert flows == [(ALL_FIELDS, [])]  # every field usual, no set
        assert not (explanations(store)[every] or "").startswith("routine")
        text = policy_yaml(calibration(store), store)
    finally:
        store.close()
    # Reviewed and committed as calibrate writes it, it still explains nothing: the flow
    # is left out (a reviewed flow with no sets would accept any combination).
    policy = tmp_path / "policy.yaml"
    policy.write_text(text)
    reviewed = load_policy_file(policy)
    assert [f for f in reviewed if f.app == "reports"] == []
    assert "no usual field set" in text and "reports search" in text
    d = DetectionConfig()
    cfg = msgspec.structs.replace(
        d, routine=msgspec.structs.replace(d.routine, policy_file=str(policy), reviewed=reviewed)
    )
    again = detect(c, tmp_path / "reviewed", cfg)
    try:
        assert not (explanations(again)[every] or "").startswith("routine")
    finally:
        again.close()
