"""Learned routine on a hand-built company: golden cases per rule (small events in,
expected explanations and findings out), robustness to one insider, no future used, and
the reviewed policy file."""

from __future__ import annotations

import datetime as dt
import json
import math

import msgspec
import pytest
import yaml

from detect_scenarios import Company, at, detect, explanations
from insiderwatch.app.contain import StoreSubjects
from insiderwatch.detect import DetectionConfig, load_detection_config
from insiderwatch.detect.base import DETECTORS
from insiderwatch.detect.calibrate import WITHHELD, calibration, policy_yaml
from insiderwatch.privacy import HashKey
from insiderwatch.privacy.pseudonyms import pseudonym
from insiderwatch.store import Store
from respond_helpers import alert
from sample_data import KEY_HEX

ANALYSTS = [f"an{i}" for i in range(6)]
DAYS = 12
ACT = 11  # after the learning window (7 days)
GROUP = "analyst:bi"


def company() -> Company:
    """Six analysts who search and export to the company's lake every day, one of them
    also to a bucket of his own; a sync job active around the clock; acts on day 11."""
    c = Company()
    for i, e in enumerate([*ANALYSTS, "svc1"]):
        role, team = ("job", "ops") if e == "svc1" else ("analyst", "bi-1")
        c.employees.append({"employee_id": e, "surname": f"Staff{i}", "role": role,
                            "team": team, "hired_on": "2020-01-01",
                            "home_postcode": f"HP{i} 1AA"})  # fmt: skip
    for i in range(400):
        c.customers.append({"customer_id": f"c{i:03d}", "surname": f"Cust{i}",
                            "postcode": f"PC{i % 40} 2BB", "is_vip": i == 399})  # fmt: skip
    bi = {"app": "bi-tool"}
    for day in range(1, DAYS + 1):
        for k, e in enumerate(ANALYSTS):
            c.event(e, at(day, 10, k), "search", [], ["name", "orders"], record_count=300 + k, **bi)
            c.event(e, at(day, 11, k), "export", [], ["name", "orders"], record_count=500 + 10 * k,
                    destination="cloud:lake", **bi)  # fmt: skip
            c.event(e, at(day, 16, k), "view", [f"c{300 + k:03d}"], ["name"])  # no case
        c.event("an0", at(day, 15), "export", [], ["name", "orders"], record_count=50,
                destination="cloud:mine", **bi)  # fmt: skip
        for hour in range(24):
            c.event("svc1", at(day, hour, 5), "view", [f"c{hour:03d}"], ["name"], app="sync")
    c.event("an1", at(ACT, 11, 30), "export", [], ["name", "orders"], record_count=100_000,
            destination="cloud:lake", act=True, **bi)  # fmt: skip
    c.event("an2", at(ACT, 12), "export", [f"c{200 + k}" for k in range(5)], ["name"],
            destination="cloud:newplace", act=True, **bi)  # fmt: skip
    harvest = [f"c{210 + k}" for k in range(25)]
    for k, cust in enumerate(harvest):
        c.event("an3", at(ACT, 9, k), "view", [cust], ["name", "email"], act=True)
    c.event("an3", at(ACT, 13), "export", harvest, ["name", "email"],
            destination="cloud:other", act=True, **bi)  # fmt: skip
    return c


def by(c: Company, employee: str, **match) -> list[dict]:
    return [
        r
        for r in c.access
        if r["employee_id"] == employee and all(r.get(k) == v for k, v in match.items())
    ]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    c = company()
    store = detect(c, tmp_path_factory.mktemp("routine"))
    yield c, store
    store.close()


def test_what_most_of_the_group_does_regularly_becomes_routine(world):
    c, store = world
    why = explanations(store)
    lake = [
        r for e in ANALYSTS for r in by(c, e, destination="cloud:lake") if r["record_count"] < 1000
    ]
    after = [r for r in lake if r["time"] >= at(8, 0)]
    before = [r for r in lake if r["time"] < at(8, 0)]
    assert {why[r["event_id"]] for r in after} == {"routine"}
    assert {why[r["event_id"]] for r in before} == {None}  # still learning
    flow = store.con.execute(
        "SELECT doers, staff, evidence FROM routine_flows WHERE day = ? AND grp = ? "
        "AND action = 'export' AND destination = 'cloud:lake'",
        [at(ACT, 0).date(), GROUP],
    ).fetchall()
    assert flow and flow[0][:2] == (6, 6)
    assert "6 of 6 export in bi-tool to cloud:lake" in flow[0][2]
    exfil = store.con.execute(
        "SELECT count(*) FROM findings WHERE detector = 'exfiltration' AND reason LIKE '%cloud:lake%'"
        " AND reason NOT LIKE '%100000%'"
    ).fetchone()[0]
    assert exfil == 0


def test_one_insider_cannot_make_his_own_routine(world):
    c, store = world
    why = explanations(store)
    mine = by(c, "an0", destination="cloud:mine")
    assert {why[r["event_id"]] for r in mine} == {None}
    assert not store.scalar("SELECT count(*) FROM routine_flows WHERE destination = 'cloud:mine'")
    flagged = store.con.execute(
        "SELECT DISTINCT day FROM findings WHERE detector = 'exfiltration' AND employee_id = 'an0'"
    ).fetchall()
    assert len(flagged) == DAYS - 7  # every day after the learning window


def test_a_machine_learns_its_own_routine(world):
    c, store = world
    why = explanations(store)
    views = [r for r in by(c, "svc1") if r["time"] >= at(8, 0)]
    assert {why[r["event_id"]] for r in views} == {"routine"}
    grp = store.con.execute(
        "SELECT DISTINCT grp, machine FROM routine_flows WHERE app = 'sync'"
    ).fetchall()
    assert grp == [("self:svc1", True)]


def test_a_person_looking_up_a_few_customers_is_never_routine(world):
    c, store = world
    why = explanations(store)
    views = [r for e in ANALYSTS for r in by(c, e, action="view")]
    # Only their amount can be usual (the allowance, tests/test_allowance.py), never routine.
    assert views and "routine" not in {why[r["event_id"]] for r in views}


def test_broader_than_usual_is_not_routine(world):
    c, store = world
    (wide,) = by(c, "an1", record_count=100_000)
    assert explanations(store)[wide["event_id"]] is None


def test_routine_holds_in_the_groups_hours_and_beyond_it_weighs_by_how_far(tmp_path):
    """A report saved at two instead of eleven is still the working day (the group's
    hours, not the flow's); one at three in the morning, or far broader, is not routine,
    and an inside flow gone beyond its routine weighs by how far beyond, not by size."""
    c = company()
    for day in range(1, DAYS + 1):
        for k, e in enumerate(ANALYSTS):
            c.event(e, at(day, 11, 30 + k), "export", [], ["name", "orders"],
                    record_count=400 + 10 * k, destination="local", app="bi-tool")  # fmt: skip
    afternoon = c.event("an4", at(ACT, 14, 30), "export", [], ["name", "orders"],
                        record_count=450, destination="local", app="bi-tool")  # fmt: skip
    night = c.event("an5", at(ACT, 3), "export", [], ["name", "orders"], record_count=450,
                    destination="local", app="bi-tool")  # fmt: skip
    huge = c.event("an4", at(ACT + 1, 11), "export", [], ["name", "orders"],
                   record_count=200_000, destination="local", app="bi-tool")  # fmt: skip
    store = detect(c, tmp_path)
    why = explanations(store)
    assert why[afternoon] == "routine" and why[night] is None and why[huge] is None
    usual = store.scalar(
        "SELECT max_records FROM routine_flows WHERE day = ? AND grp = ? AND destination = 'local'",
        [at(ACT + 1, 0).date(), GROUP],
    )
    points = dict(store.con.execute(
        "SELECT event_ids[1], points FROM findings WHERE detector = 'exfiltration'"
        " AND reason LIKE '%beyond the peer group''s routine flow%'").fetchall())  # fmt: skip
    base = DetectionConfig().detector_config(DETECTORS.get("exfiltration")()).internal_points
    assert points[night] == pytest.approx(base / 2)
    assert points[huge] == pytest.approx(base * (1 + math.log10(200_000 / usual)) / 2)
    store.close()


def test_a_routine_cloud_flow_beyond_its_breadth_weighs_by_how_far_not_by_size(world):
    # The group's lake is where its reports go: one far broader than usual is still low
    # and weighed by how far past the routine's breadth it went, as an inside flow is.
    c, store = world
    (wide,) = by(c, "an1", record_count=100_000)
    usual = store.scalar(
        "SELECT max_records FROM routine_flows WHERE day = ? AND grp = ? AND destination = ?",
        [at(ACT, 0).date(), GROUP, "cloud:lake"],
    )
    (row,) = store.con.execute(
        "SELECT severity, points, reason FROM findings WHERE detector = 'exfiltration'"
        " AND list_contains(event_ids, ?)",
        [wide["event_id"]],
    ).fetchall()
    base = DetectionConfig().detector_config(DETECTORS.get("exfiltration")()).new_flow_points
    assert row[0] == "low"
    assert row[1] == pytest.approx(base * (1 + math.log10(100_000 / usual)) / 2)
    assert f"beyond the peer group's routine flow (at most {usual} records" in row[2]


def test_a_new_destination_is_a_low_new_data_flow_unless_lookups_precede_it(world):
    c, store = world
    rows = store.con.execute(
        "SELECT employee_id, severity, critical, reason FROM findings "
        "WHERE detector = 'exfiltration' AND day = ? AND employee_id IN ('an2', 'an3')",
        [at(ACT, 0).date()],
    ).fetchall()
    found = {r[0]: r for r in rows}
    assert found["an2"][1] == "low" and not found["an2"][2]
    assert found["an2"][3].startswith("new data flow for the peer group")
    assert found["an3"][1] == "critical" and found["an3"][2]
    assert "after looking up 25 of them" in found["an3"][3]


def test_routine_uses_no_future(world, tmp_path):
    c, full = world
    cut = Company(employees=c.employees, customers=c.customers, canaries=c.canaries)
    cutoff = at(9, 12)
    cut.access = [r for r in c.access if r["time"] <= cutoff]
    store = detect(cut, tmp_path)
    query = "SELECT * FROM routine_flows WHERE day <= ? ORDER BY ALL"
    assert (
        store.con.execute(query, [cutoff.date()]).fetchall()
        == full.con.execute(query, [cutoff.date()]).fetchall()
    )
    ids = {r["event_id"] for r in cut.access}
    assert explanations(store) == {k: v for k, v in explanations(full).items() if k in ids}
    store.close()


def test_a_reviewed_policy_file_is_the_routine(world, tmp_path):
    c, store = world
    policy = yaml.safe_load(policy_yaml(calibration(store), store))
    kept = [f for f in policy["flows"] if not (f["group"] == GROUP and f["action"] == "search")]
    assert len(kept) == len(policy["flows"]) - 1
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump({"flows": kept}))
    (tmp_path / "detect.toml").write_text('[routine]\npolicy_file = "policy.yaml"\n')
    cfg = load_detection_config(tmp_path / "detect.toml")
    # The learning window and a day past it show what the reviewed file does (learned
    # flows would hold from day 8 only): the run with it ends there, detection never
    # reading a later day.
    short = Company(employees=c.employees, customers=c.customers, canaries=c.canaries)
    short.access = [r for r in c.access if r["time"] < at(9, 0)]
    reviewed = detect(short, tmp_path / "run", cfg)
    why = explanations(reviewed)
    searches = [r for e in ANALYSTS for r in by(short, e, action="search")]
    exports = [r for e in ANALYSTS for r in by(short, e, destination="cloud:lake")]
    assert any(r["time"] < at(8, 0) for r in exports)  # before anything could be learned
    assert {why[r["event_id"]] for r in searches} == {None}  # removed: explains nothing
    # Reviewed flows hold from the first day: no learning window.
    assert {why[r["event_id"]] for r in exports if r["record_count"] < 1000} == {"routine"}
    reviewed.close()


def test_calibrate_shows_a_machine_account_as_its_pseudonym(tmp_path, cli):
    """Staff are pseudonyms until an audited unmasking, machine accounts too: calibrate's
    tables and JSON show the sync job's own routine as 'self:anon-...' (withheld without
    the key); the policy file names it by its id only in the flow's group, which is what
    detection matches, and that file still explains the job's events."""
    key = HashKey(bytes.fromhex(KEY_HEX))
    shown = "self:" + pseudonym(key, "svc1")
    c = company()
    detect(c, tmp_path / "run").close()
    db, policy = tmp_path / "run" / "iw.duckdb", tmp_path / "policy.yaml"
    env = {"INSIDERWATCH_HASH_KEY": KEY_HEX}
    table = cli("calibrate", "--db", db, "--out", policy, env=env)
    raw = cli("calibrate", "--db", db, "--json", env=env).stdout
    assert table.exit_code == 0, table.stderr
    assert shown in table.stdout and "svc1" not in table.stdout
    machine = {f["group"] for f in json.loads(raw)["flows"] if f["machine"]}
    assert machine == {shown} and "svc1" not in raw
    with Store(db, threads=1, read_only=True) as store:
        keyless = calibration(store, DetectionConfig())
    assert {f.group for f in keyless.flows if f.machine} == {"self:" + WITHHELD}
    assert "svc1" not in msgspec.json.encode(keyless).decode()
    text = policy.read_text()
    named = [line.strip() for line in text.splitlines() if "svc1" in line]
    assert named and set(named) == {"- group: self:svc1"}
    assert shown in text  # the flow's evidence
    (tmp_path / "detect.toml").write_text('[routine]\npolicy_file = "policy.yaml"\n')
    reviewed = detect(c, tmp_path / "reviewed", load_detection_config(tmp_path / "detect.toml"))
    why = explanations(reviewed)
    reviewed.close()
    assert {why[r["event_id"]] for r in by(c, "svc1", app="sync")} == {"routine"}


def test_a_broken_policy_file_names_the_file_and_flow(tmp_path):
    (tmp_path / "policy.yaml").write_text("flows:\n  - group: g\n    app: a\n")
    (tmp_path / "detect.toml").write_text('[routine]\npolicy_file = "policy.yaml"\n')
    with pytest.raises(Exception, match=r"policy.yaml:flows\[0\]: .*action"):
        load_detection_config(tmp_path / "detect.toml")


def test_calibration_reports_alerts_per_day(world):
    _, store = world
    cal = calibration(store)
    assert cal.day == at(DAYS, 0).date()
    total = store.scalar("SELECT count(*) FROM alerts")
    assert total and sum(d.alerts for d in cal.alerts_per_day) == total
    assert all(d.day >= at(8, 0).date() for d in cal.alerts_per_day)  # after learning
    assert dt.date(2026, 9, ACT) in {d.day for d in cal.alerts_per_day}


def test_no_default_names_an_app_or_destination_of_the_simulator():
    import msgspec

    from insiderwatch_sim import vocab

    defaults = msgspec.to_builtins(DetectionConfig())
    words = set()

    def walk(value) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                words.add(str(k))
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)
        elif isinstance(value, str):
            words.add(value)

    walk(defaults)
    # Apps and company-specific destinations (the contract's kinds, like usb, may appear).
    vocabulary = set(vocab.APPS) | {d for d in vocab.DESTINATIONS if ":" in d}
    assert not words & vocabulary
    prefixes = [w[:-1] for w in words if ":" in w and w.endswith("*")]  # destination prefixes
    assert not [p for p in prefixes if any(v.startswith(p) for v in vocabulary)]


def test_a_nightly_job_is_a_machine_once_it_ran_every_night_for_weeks(tmp_path):
    """A job that works two hours a night, every night, learns its own routine once its
    history covers the span; someone doing the same but taking a day off a week does not."""
    span = DetectionConfig().routine.machine_min_span_days
    days = span + 2  # two nights judged as a machine's (detection never reads a later day)
    c = Company()
    for i, e in enumerate(["night1", "clerk1"]):
        c.employees.append({"employee_id": e, "surname": f"Solo{i}", "role": f"solo{i}",
                            "team": f"t{i}", "hired_on": "2020-01-01"})  # fmt: skip
    c.customers.append({"customer_id": "c000", "surname": "Cust", "postcode": "PC 1AA"})
    for day in range(1, days + 1):
        for k in range(3):
            c.event("night1", at(day, 1 + k % 2, k), "export", [], ["name", "orders"],
                    record_count=800 + k, destination="cloud:vault")  # fmt: skip
            if day % 7:  # a day off every week
                c.event("clerk1", at(day, 1 + k % 2, k), "export", [], ["name", "orders"],
                        record_count=800 + k, destination="cloud:vault")  # fmt: skip
    store = detect(c, tmp_path)
    why = explanations(store)
    first_judged = 1 + span  # history from day 1 covers the span on this day
    job = by(c, "night1")
    assert {why[r["event_id"]] for r in job if r["time"] >= at(first_judged, 0)} == {"routine"}
    assert {why[r["event_id"]] for r in job if r["time"] < at(first_judged, 0)} == {None}
    assert {why[r["event_id"]] for r in by(c, "clerk1")} == {None}
    groups = store.con.execute("SELECT DISTINCT grp, machine FROM routine_flows").fetchall()
    assert groups == [("self:night1", True)]
    store.close()


def test_a_job_that_never_logs_in_is_a_machine_after_the_learning_window(tmp_path):
    """Where staff log in, an identity that never does and runs every night learns its own
    routine after learning_days, a week before the calendar rule alone would know it; a
    clerk scripting the same nightly export under her own account (she logs in by day)
    gets nothing from repeating it."""
    learn = DetectionConfig().routine.learning_days
    days = learn + 5  # well short of machine_min_span_days
    assert days < DetectionConfig().routine.machine_min_span_days
    c = Company()
    staff = ["job1", "clerk0", "clerk1", "clerk2"]
    for i, e in enumerate(staff):
        c.employees.append({"employee_id": e, "surname": f"Solo{i}", "role": "clerk",
                            "team": "back-office", "hired_on": "2020-01-01"})  # fmt: skip
    c.customers.append({"customer_id": "c000", "surname": "Cust", "postcode": "PC 1AA"})
    for day in range(1, days + 1):
        for k, e in enumerate(staff[1:]):
            if at(day, 0).weekday() < 5:
                c.event(e, at(day, 8, k), "login", [], [], app="sso")
                c.event(e, at(day, 9, k), "view", [], ["name"], app="ledger", record_count=0)
        for e in ("job1", "clerk0"):  # the same nightly export, every night
            c.event(e, at(day, 2, 5), "export", [], ["name", "orders"], app="ledger",
                    record_count=900, destination="cloud:vault")  # fmt: skip
    store = detect(c, tmp_path)
    why = explanations(store)
    job = [r for r in by(c, "job1") if r["action"] == "export"]
    assert {why[r["event_id"]] for r in job if r["time"] >= at(learn + 1, 0)} == {"routine"}
    assert {why[r["event_id"]] for r in job if r["time"] < at(learn + 1, 0)} == {None}
    script = [r for r in by(c, "clerk0") if r["action"] == "export"]
    assert {why[r["event_id"]] for r in script} == {None}
    machines = store.con.execute("SELECT DISTINCT grp FROM routine_flows WHERE machine").fetchall()
    assert machines == [("self:job1",)]
    store.close()


def test_staff_on_a_seven_day_rota_stay_people(tmp_path):
    """Someone who signs in and works every calendar day for longer than a machine's span
    (a seven-day rota) is no machine: their look-ups of particular customers never become a
    routine of their own, while a job with the same calendar that never signs in is one."""
    days = DetectionConfig().routine.machine_min_span_days + 3  # two days judged after it
    assert days > DetectionConfig().routine.machine_min_span_days
    c = Company()
    for i, e in enumerate(["rota1", "job1", "desk0", "desk1"]):
        c.employees.append({"employee_id": e, "surname": f"Solo{i}", "role": f"solo{i}",
                            "team": f"t{i}", "hired_on": "2020-01-01"})  # fmt: skip
    for i in range(200):
        c.customers.append({"customer_id": f"c{i:03d}", "surname": f"Cust{i}",
                            "postcode": f"PC{i} 1AA"})  # fmt: skip
    for day in range(1, days + 1):
        c.event("rota1", at(day, 8), "login", [], [], app="sso")
        for k in range(4):  # a few particular customers a day, never the same
            cust = f"c{(day * 4 + k) % 200:03d}"
            c.event("rota1", at(day, 9 + k), "view", [cust], ["name", "email"], app="crm")
        c.event("job1", at(day, 2), "export", [], ["name", "orders"], app="crm",
                record_count=900, destination="cloud:vault")  # fmt: skip
        for e in ("desk0", "desk1"):  # weekday staff who sign in: logins are usual here
            if at(day, 0).weekday() < 5:
                c.event(e, at(day, 8), "login", [], [], app="sso")
    store = detect(c, tmp_path)
    why = explanations(store)
    span = DetectionConfig().routine.machine_min_span_days
    late = [r for r in by(c, "rota1", action="view") if r["time"] >= at(span + 2, 0)]
    assert late and {why[r["event_id"]] for r in late} == {None}
    job = [r for r in by(c, "job1") if r["time"] >= at(span + 2, 0)]
    assert {why[r["event_id"]] for r in job} == {"routine"}
    machines = store.con.execute("SELECT DISTINCT grp FROM routine_flows WHERE machine").fetchall()
    assert machines == [("self:job1",)]
    store.close()


def _solo_company(staff: list[tuple[str, str, str]], customers: int = 200) -> Company:
    c = Company()
    for i, (e, role, team) in enumerate(staff):
        c.employees.append({"employee_id": e, "surname": f"Solo{i}", "role": role,
                            "team": team, "hired_on": "2020-01-01"})  # fmt: skip
    for i in range(customers):
        c.customers.append({"customer_id": f"c{i:03d}", "surname": f"Cust{i}",
                            "postcode": f"PC{i} 1AA", "is_vip": i == customers - 1})  # fmt: skip
    return c


def _scripting_clerk(days: int) -> Company:
    """A clerk alone in their group who signs in daily, scripts a broad search into every
    hour and looks one customer up a day with no case (the last day's a VIP)."""
    c = _solo_company(
        [("clerk", "clerk", "t-solo"), *((f"desk{i}", "desk", "front") for i in range(3))]
    )
    vip = c.customers[-1]["customer_id"]
    for day in range(1, days + 1):
        for e in ("clerk", *(f"desk{i}" for i in range(3))):
            c.event(e, at(day, 8), "login", [], [], app="sso")
        for hour in range(24):
            c.event("clerk", at(day, hour, 40), "search", [], ["name"], record_count=20)
        cust = vip if day == days else f"c{(day * 7) % 150:03d}"
        c.event("clerk", at(day, 10), "view", [cust], ["name", "email"])
    return c


def test_a_person_who_signs_in_and_scripts_every_hour_keeps_their_lookups(tmp_path):
    """Alone in their peer group, a clerk who signs in every day and scripts a harmless
    search into every hour is busy enough to be a machine, and stays one; but the one
    customer a day they look up with no case is never explained as their routine, so
    their look-up of a VIP is a finding. Their scripted search, broad, stays routine. A
    reviewer who lists such a flow of theirs (``self:``) vouches for it: with the policy
    file, their look-ups are explained as listed."""
    learn = DetectionConfig().routine.learning_days
    days = learn + 4
    c = _scripting_clerk(days)
    store = detect(c, tmp_path)
    why = explanations(store)
    judged = [r for r in by(c, "clerk", action="view") if r["time"] >= at(learn + 1, 0)]
    assert len(judged) == days - learn and {why[r["event_id"]] for r in judged} == {None}
    searches = [r for r in by(c, "clerk", action="search") if r["time"] >= at(learn + 1, 0)]
    assert {why[r["event_id"]] for r in searches} == {"routine"}
    machines = store.con.execute("SELECT DISTINCT grp FROM routine_flows WHERE machine").fetchall()
    assert machines == [("self:clerk",)]
    vip_days = store.con.execute(
        "SELECT day FROM findings WHERE detector = 'vip' AND employee_id = 'clerk'"
    ).fetchall()
    assert vip_days == [(at(days, 0).date(),)]
    store.close()
    flow = {"group": "self:clerk", "app": "crm", "action": "view", "max_records": 1,
            "fields": ["name", "email"]}  # fmt: skip
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump({"flows": [flow]}))
    (tmp_path / "detect.toml").write_text('[routine]\npolicy_file = "policy.yaml"\n')
    reviewed = detect(c, tmp_path / "reviewed", load_detection_config(tmp_path / "detect.toml"))
    listed = explanations(reviewed)
    assert {listed[r["event_id"]] for r in by(c, "clerk", action="view")} == {"routine"}
    reviewed.close()


def test_a_service_account_that_logs_sign_ins_keeps_its_routine_and_protection(tmp_path):
    """A sync job whose source logs a sign-in before every hourly run is still a machine:
    its broad syncs are its own routine, and containment knows it as a service account
    (automatic playbooks never suspend an integration)."""
    learn = DetectionConfig().routine.learning_days
    days = learn + 4
    c = _solo_company(
        [("sync", "job", "t-job"), *((f"desk{i}", "desk", "front") for i in range(3))]
    )
    for day in range(1, days + 1):
        for e in (f"desk{i}" for i in range(3)):
            c.event(e, at(day, 8), "login", [], [], app="sso")
        for hour in range(24):
            c.event("sync", at(day, hour, 4), "login", [], [], app="sso")
            c.event(
                "sync",
                at(day, hour, 5),
                "view",
                [f"c{(hour * 5 + k) % 200:03d}" for k in range(40)],
                ["name"],
                app="sync",
            )
    store = detect(c, tmp_path)
    why = explanations(store)
    runs = [r for r in by(c, "sync", action="view") if r["time"] >= at(learn + 1, 0)]
    assert runs and {why[r["event_id"]] for r in runs} == {"routine"}
    machines = store.con.execute("SELECT DISTINCT grp FROM routine_flows WHERE machine").fetchall()
    assert machines == [("self:sync",)]
    subject = StoreSubjects(store)(
        msgspec.structs.replace(alert("sync"), event_ids=[runs[-1]["event_id"]])
    )
    assert (subject.service_account, subject.routine) == (True, True)
    store.close()


def test_colleagues_who_only_sign_in_do_not_make_a_clerk_headless(tmp_path):
    """The no-login machine rule asks whether most identities that access data log in:
    receptionists who only sign in (and touch no customer) do not tip two clerks who
    never log in into machines, so their daily look-ups of particular customers are not
    their routine (tests above: where most who access data log in, a job that never does
    is a machine)."""
    learn = DetectionConfig().routine.learning_days
    days = learn + 4  # short of machine_min_span_days: only the no-login rule can apply
    assert days < DetectionConfig().routine.machine_min_span_days
    staff = [("clerk0", "clerk", "back"), ("clerk1", "clerk", "back"), ("desk0", "desk", "front")]
    staff += [(f"rec{i}", "reception", "lobby") for i in range(2)]
    c = _solo_company(staff)
    for day in range(1, days + 1):
        for e in ("desk0", "rec0", "rec1"):
            c.event(e, at(day, 8), "login", [], [], app="sso")
        c.event("desk0", at(day, 9), "view", [], ["name"], app="ledger", record_count=0)
        for k, e in enumerate(("clerk0", "clerk1")):
            c.event(e, at(day, 10, k), "view", [f"c{(day * 7 + k) % 150:03d}"], ["name", "email"])
    store = detect(c, tmp_path)
    why = explanations(store)
    views = [r for e in ("clerk0", "clerk1") for r in by(c, e) if r["time"] >= at(learn + 1, 0)]
    assert views and {why[r["event_id"]] for r in views} == {None}
    assert not store.scalar("SELECT count(*) FROM routine_flows WHERE machine")
    store.close()
