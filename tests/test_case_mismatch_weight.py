"""case_mismatch weighs a field set's finding by what it exposed: contact details or an
address (fixation's sensitive fields) weigh ``sensitive_weight`` times more, but only
where the peers' line of that set is zero. A group whose own work shows those fields under
cases about someone else gains nothing.

Two groups of six work alike: each day each member opens a case, views its customer and
searches six strangers under it showing orders and notes (the day's line is six). The
second group also runs a link analysis on alternate days, two strangers showing address,
name and payment details (that set's line is two). On the act day three staff search
under their own case instead: one shows names alone to four strangers, one address, name
and payment details to four, and the second group's one the same fields to six."""

from __future__ import annotations

import pytest

from detect_scenarios import Company, at, detect
from insiderwatch.detect import DetectionConfig
from insiderwatch.detect.base import DETECTORS

DAYS, ACT = 12, 11  # after the learning window (7 days)
QUIET = [f"q{i}" for i in range(6)]
LINKING = [f"l{i}" for i in range(6)]
NAMES, EXPOSED, ROUTINE = "q0", "q1", "l0"
USUAL = ["notes", "orders"]
LINKS = ["address", "name", "payment"]
ACTS = {NAMES: (["name"], 4), EXPOSED: (LINKS, 4), ROUTINE: (LINKS, 6)}


def _strangers(day: int, k: int, n: int, offset: int) -> list[str]:
    start = (day * 53 + k * 97 + offset) % 500
    return [f"c{(start + i) % 500:03d}" for i in range(n)]


def company() -> Company:
    c = Company()
    groups = [(QUIET, "claims", "cl-1"), (LINKING, "disputes", "disp-1")]
    for staff, role, team in groups:
        for e in staff:
            c.employees.append({"employee_id": e, "surname": f"Staff{e}", "role": role,
                                "team": team, "hired_on": "2020-01-01",
                                "home_postcode": f"HP{e} 1AA"})  # fmt: skip
    for i in range(600):
        c.customers.append({"customer_id": f"c{i:03d}", "surname": f"Cust{i}",
                            "postcode": f"PC{i % 40} 2BB", "is_vip": False})  # fmt: skip
    for day in range(1, DAYS + 1):
        for g, (staff, _, _) in enumerate(groups):
            for k, e in enumerate(staff):
                case, subject = f"k{day:02d}{e}", f"c{500 + (day * 12 + 6 * g + k) % 100:03d}"
                c.cases.append({"case_id": case, "customer_id": subject, "employee_id": e,
                                "opened_at": at(day, 9, k), "closed_at": at(day, 17, k)})  # fmt: skip
                c.event(e, at(day, 9, 10 + k), "view", [subject], ["name", "email"], case_id=case)
                if day == ACT and e in ACTS:
                    fields, n = ACTS[e]
                    for s in range(2):
                        c.event(e, at(day, 11 + s, k), "search",
                                _strangers(day, k, n // 2, 300 + 10 * s), fields, case_id=case,
                                act=True)  # fmt: skip
                    continue
                c.event(e, at(day, 10, k), "search", _strangers(day, k, 6, 0), USUAL,
                        case_id=case)  # fmt: skip
                if g == 1 and (day + k) % 2 == 0:
                    c.event(e, at(day, 14, k), "search", _strangers(day, k, 2, 100), LINKS,
                            case_id=case)  # fmt: skip
    return c


@pytest.fixture(scope="module")
def found(tmp_path_factory) -> dict[str, list[tuple]]:
    store = detect(company(), tmp_path_factory.mktemp("skimweight"))
    rows = store.con.execute(
        "SELECT employee_id, points, reason FROM findings WHERE detector = 'case_mismatch'"
        " ORDER BY employee_id, time"
    ).fetchall()
    store.close()
    out: dict[str, list[tuple]] = {}
    for e, points, reason in rows:
        out.setdefault(e, []).append((float(points), reason))
    return out


def test_a_field_set_exposing_an_address_and_payment_weighs_more_than_names(found):
    cfg = DetectionConfig().detector_config(DETECTORS.get("case_mismatch")())
    assert set(found) == {NAMES, EXPOSED, ROUTINE}
    # Both skims pass their set's line of zero (the floor, two) at two and four customers.
    for e in (NAMES, EXPOSED):
        assert len(found[e]) == 2
        assert all(" showing " in r and "peers' highest 0" in r for _, r in found[e])
    assert [p for p, _ in found[NAMES]] == [cfg.points] * 2
    assert [p for p, _ in found[EXPOSED]] == [cfg.points * cfg.sensitive_weight] * 2


def test_a_group_that_shows_those_fields_under_others_cases_gains_nothing(found):
    # The linking group's line of address, name and payment is two: six customers pass it
    # (three) and twice it (six), each at the points of names alone.
    cfg = DetectionConfig().detector_config(DETECTORS.get("case_mismatch")())
    assert len(found[ROUTINE]) == 2
    assert all("peers' highest 2" in r and "address, name, payment" in r for _, r in found[ROUTINE])
    assert [p for p, _ in found[ROUTINE]] == [cfg.points] * 2
