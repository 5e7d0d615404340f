"""The learned look-up allowance on a hand-built company: golden cases per rule (small
events in, expected explanations out), robustness to one insider, groups too small to
learn from, look-ups it never covers, and switching it off."""

from __future__ import annotations

import math

import msgspec
import pytest

from detect_scenarios import Company, at, detect, explanations, lookups
from insiderwatch.detect import DetectionConfig
from insiderwatch.detect.calibrate import calibration
from insiderwatch.detect.config import Allowance
from insiderwatch.store import Store

DAYS = 14
ACT = 12  # after the learning window (7 days)
# Six engineers debug a customer's account now and then, without a ticket: each on a
# different share of days, so their totals spread (two, three, ... seven in the window).
ENGINEERS = {f"en{i}": i + 2 for i in range(6)}
HARVESTER = "en0"  # the one with the fewest look-ups: his allowance is not spent yet
MANAGERS = ("m0", "m1")  # a group of two: too small to learn an allowance from


def lookup_days(every: int) -> list[int]:
    """Days on which someone looking up a customer every ``every`` days does so."""
    return [d for d in range(1, DAYS + 1) if d % every == 0]


def company() -> Company:
    c = Company()
    staff = [(e, "engineer", "platform-1", f"Dev{i}") for i, e in enumerate(ENGINEERS)]
    staff += [(m, "manager", "ops", f"Lead{i}") for i, m in enumerate(MANAGERS)]
    for e, role, team, surname in staff:
        c.employees.append({"employee_id": e, "surname": surname, "role": role, "team": team,
                            "hired_on": "2020-01-01", "home_postcode": f"H{e} 1AA"})  # fmt: skip
    for i in range(400):
        c.customers.append({"customer_id": f"c{i:03d}", "surname": f"Cust{i}",
                            "postcode": f"PC{i % 40} 2BB", "is_vip": i >= 395})  # fmt: skip
    c.customers.append({"customer_id": "kin", "surname": "Dev1", "postcode": "PX1 1AA"})
    n = 0
    for k, (e, every) in enumerate(ENGINEERS.items()):
        for day in range(1, DAYS + 1):
            c.event(e, at(day, 9, k), "view", [], ["name"], app="console", record_count=0)
            if day in lookup_days(7 - every + 2):
                n += 1
                c.event(e, at(day, 14, k), "view", [f"c{n % 300:03d}"], ["name", "email"],
                        app="console")  # fmt: skip
    for k, m in enumerate(MANAGERS):
        for day in range(1, DAYS + 1):
            c.event(m, at(day, 15, k), "view", [f"c{300 + day:03d}"], ["name"])
    # Day ACT: the engineer with the fewest look-ups harvests twenty customers, one by
    # one; another looks up a VIP and a namesake of his own, once each.
    for k in range(20):
        c.event(HARVESTER, at(ACT, 10, k), "view", [f"c{320 + k:03d}"], ["name", "email"],
                app="console", act=True)  # fmt: skip
    c.event("en1", at(ACT, 11), "view", ["c399"], ["name"], app="console", act=True)
    c.event("en1", at(ACT, 11, 5), "view", ["kin"], ["name"], app="console", act=True)
    return c


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    c = company()
    store = detect(c, tmp_path_factory.mktemp("allowance"))
    yield c, store
    store.close()


def allowance_on(store: Store, employee: str, day: int, *, own: bool = True) -> tuple[int, int]:
    """(what the employee's look-ups in the window before ``day`` spent, their allowance that day),
    recomputed from what the store recorded: the 90th percentile of the engineers' totals
    (an actual total, none counting as zero; days with a critical finding left out), but
    no more than three of them reached (the group's, all ``own=False`` gives), or the
    chance line of the other engineers' totals where that is higher."""
    before = at(day, 0).date()
    used = store.scalar(  # what spent it: a same-day reopening does not
        "SELECT coalesce(sum(spent), 0) FROM allowance_days WHERE employee_id = ? AND day < ?",
        [employee, before],
    )
    rows = store.con.execute(
        """SELECT employee_id, sum(lookups) FROM allowance_days a
           WHERE day < ? AND peer_group = 'engineer:platform'
             AND NOT EXISTS (SELECT 1 FROM findings f WHERE f.employee_id = a.employee_id
                             AND f.day = a.day AND f.critical)
           GROUP BY employee_id""",
        [before],
    ).fetchall()
    found = dict(rows)
    totals = sorted(found.get(e, 0) for e in ENGINEERS)
    group = min(quantile(totals, 0.9), totals[-3])
    if not own:
        return used, group
    others = sorted(found.get(e, 0) for e in ENGINEERS if e != employee)
    return used, max(group, chance_line(others, doers=[t for t in others if t > 0]))


def quantile(values: list[float], q: float) -> float:
    """DuckDB's quantile_disc: the lower of two middle values."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def chance_line(others: list[int], doers: list[int] | None = None) -> int:
    """The lower median total of the colleagues who look customers up (``doers``, all
    ``others`` where not given) plus 2.33 dispersion-scaled standard deviations (the
    dispersion from their lower median squared Pearson residual over the chi-square
    median), never more than one deviation past the busiest of them; nought where none
    looks anyone up."""
    doers = others if doers is None else doers
    if not doers:
        return 0
    usual = quantile(doers, 0.5)
    phi = max(1.0, quantile([(t - usual) ** 2 / max(usual, 1) for t in doers], 0.5) / 0.455)
    sd = math.sqrt(phi * max(usual, 1))
    return math.floor(min(usual + 2.33 * sd, max(doers) + sd))


def test_the_groups_usual_case_less_lookups_are_explained_after_learning(world):
    c, store = world
    why = explanations(store)
    learned = [r for e in ENGINEERS for r in lookups(c, e) if r["time"] >= at(8, 0)]
    early = [r for e in ENGINEERS for r in lookups(c, e) if r["time"] < at(8, 0)]
    assert {why[r["event_id"]] for r in early} == {None}  # still learning
    allowed = [r for r in learned if why[r["event_id"]] == "allowance"]
    assert allowed and {why[r["event_id"]] for r in learned} <= {"allowance", None}
    # Every allowed look-up kept its employee within the allowance of its day.
    for r in allowed:
        day = (r["time"] - at(1, 0)).days + 1
        used, allowance = allowance_on(store, r["employee_id"], day)
        assert used + 1 <= allowance, (r, used, allowance)


def test_a_harvester_spends_his_allowance_within_the_day(world):
    c, store = world
    why = explanations(store)
    harvest = lookups(c, HARVESTER, acts=True)
    used, allowance = allowance_on(store, HARVESTER, ACT)
    assert used < allowance  # he had some left: the test shows it is spent, not absent
    allowed = [r for r in harvest if why[r["event_id"]] == "allowance"]
    assert len(allowed) == allowance - used
    # The first ones in time order; everything after stays for the detectors.
    assert allowed == harvest[: len(allowed)]
    assert sum(why[r["event_id"]] is None for r in harvest) == len(harvest) - len(allowed)
    later = [r for r in lookups(c, HARVESTER) if r["time"] > at(ACT, 23)]
    assert later and {why[r["event_id"]] for r in later} == {None}  # over the usual now


def test_one_heavy_looker_cannot_raise_the_allowance(world):
    c, store = world
    harvested, allowance = allowance_on(store, HARVESTER, DAYS, own=False)
    # He is the group's 90th percentile now, yet the allowance stays what three reached,
    # and his own stays the chance line of the others' totals.
    assert harvested > 20 and allowance < allowance_on(store, HARVESTER, DAYS)[1] < 10
    cal = calibration(store, DetectionConfig())
    assert [a.allowance for a in cal.allowances if a.group == "engineer:platform"] == [allowance]


def test_vips_namesakes_and_small_groups_are_never_allowed(world):
    c, store = world
    why = explanations(store)
    vip, kin = lookups(c, "en1", acts=True)
    assert why[vip["event_id"]] is None and why[kin["event_id"]] is None
    managers = [r for m in MANAGERS for r in lookups(c, m)]
    assert managers and {why[r["event_id"]] for r in managers} == {None}


def test_switched_off_it_explains_nothing(tmp_path, world):
    # The first nine days already hold look-ups the allowance explains when on (the
    # module's run); detection never reads a later day, so the run with it off ends there.
    _, on = world
    c = company()
    c.access = [r for r in c.access if r["time"] < at(10, 0)]
    assert "allowance" in {explanations(on)[r["event_id"]] for r in c.access}
    cfg = DetectionConfig(allowance=msgspec.structs.replace(Allowance(), enabled=False))
    store = detect(c, tmp_path, cfg)
    try:
        assert "allowance" not in set(explanations(store).values())
        # The look-ups are still recorded: switching it on later learns from them.
        assert store.scalar("SELECT sum(lookups) FROM allowance_days") > 0
    finally:
        store.close()


def test_calibrate_shows_the_allowance_the_engine_used(world):
    c, store = world
    cal = calibration(store, DetectionConfig())
    (eng,) = [a for a in cal.allowances if a.group == "engineer:platform"]
    last = (max(r["time"] for r in c.access) - at(1, 0)).days + 1
    assert (eng.doers, eng.staff) == (6, 6)
    assert eng.allowance == allowance_on(store, HARVESTER, last, own=False)[1]
    assert all(not a.group.startswith("manager") for a in cal.allowances)  # too small
    assert calibration(store).allowances == []  # without the config nothing is claimed
