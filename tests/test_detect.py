"""Detectors on hand-built scenarios with known answers, the risk engine, and the
engine's promise that replay never uses a later event."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import msgspec
import pytest

from detect_scenarios import (
    ACT_DAY,
    AGENTS,
    INSIDER,
    SCENARIOS,
    at,
    base_company,
    continued,
    explanations,
    replayed,
    replayed_copy,
    scenario,
)
from insiderwatch.alerts import read_alert_history, read_alerts
from insiderwatch.detect import DetectionConfig, active_detectors, run_detection
from insiderwatch.detect.base import DETECTORS
from insiderwatch.detect.config import Suppression
from insiderwatch.detect.detectors import shared_harvest
from insiderwatch.detect.rules import load_rules
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from sample_data import KEY_HEX

KEY = HashKey(bytes.fromhex(KEY_HEX))


def detect(company, folder: Path, cfg: DetectionConfig | None = None, **kwargs):
    company.write(folder / "dataset")
    store = Store(folder / "iw.duckdb", threads=1)
    ingest_dataset(store, folder / "dataset", KEY)
    run = run_detection(store, cfg or DetectionConfig(), KEY, **kwargs)
    return store, run


def detected_scenario(name: str, built_once) -> Store:
    """The golden scenario ``name`` detected with the default settings, opened read-only:
    the ordinary days detected once for every scenario that shares them, then the act's
    days as a live run goes on (``continued``), built once per run, since its golden test
    and a closer look at the same detector (here and in other modules) read the same
    store."""
    return continued(scenario(name), built_once)


def findings(store: Store) -> list[dict]:
    cur = store.con.execute(
        "SELECT detector, employee_id, time, reason, event_ids, customer_ids, critical, points "
        "FROM findings ORDER BY time, detector, finding_id"
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


@pytest.fixture(scope="module")
def quiet_company(tmp_path_factory):
    store, run = detect(base_company(days=ACT_DAY), tmp_path_factory.mktemp("quiet"))
    yield store, run
    store.close()


def test_an_ordinary_company_raises_nothing(quiet_company):
    store, run = quiet_company
    assert run.steps == ACT_DAY
    assert findings(store) == []
    assert store.scalar("SELECT count(*) FROM alerts") == 0


def test_case_work_is_explained_and_quick_lookups_are_not(quiet_company):
    store, _ = quiet_company
    rows = dict(
        store.con.execute(
            "SELECT coalesce(explanation, 'none'), count(*) FROM access_explained GROUP BY ALL"
        ).fetchall()
    )
    # Six case views and one look-up with no case per agent and day. The case views are
    # their own case's; a quick look-up is never a case's. One a day is what every agent
    # does, so once the routine has its learning days the allowance's chance line may
    # explain some, never one before.
    assert rows.pop("own_case") == 6 * 12 * ACT_DAY
    assert set(rows) <= {"none", "allowance"} and sum(rows.values()) == 12 * ACT_DAY
    first = store.con.execute(
        "SELECT min(day) FROM access_explained WHERE explanation = 'allowance'"
    ).fetchone()[0]
    learning = DetectionConfig().routine.learning_days
    assert first is None or first >= at(1, 0).date() + dt.timedelta(days=learning)
    assert rows["none"] >= 12 * learning


@pytest.mark.parametrize("name", SCENARIOS)
def test_each_detector_catches_its_scenario_and_nobody_else(name, built_once):
    company = scenario(name)
    store = detected_scenario(name, built_once)
    found = findings(store)
    mine = [f for f in found if f["detector"] == name]
    assert mine, f"{name} did not fire"
    assert {f["employee_id"] for f in found} == {INSIDER}
    act = set(company.act)
    act_times = {r["event_id"]: r["time"] for r in company.access if r["event_id"] in act}
    for f in mine:
        # Evidence is the act, and the finding is stamped with its latest event.
        assert set(f["event_ids"]) <= act
        assert f["time"] == max(act_times[e] for e in f["event_ids"])
        assert f["reason"]
    store.close()


def test_every_registered_detector_has_a_golden_scenario():
    registered = {d.id for d in active_detectors(DetectionConfig())}
    assert registered <= set(SCENARIOS), registered - set(SCENARIOS)
    assert set(DETECTORS.names()) <= set(SCENARIOS)


def test_volume_fires_at_the_crossing_event_and_again_when_it_doubles(built_once):
    company = scenario("volume")
    store = detected_scenario("volume", built_once)
    volume = [f for f in findings(store) if f["detector"] == "volume"]
    floor = DetectionConfig().detector_config(DETECTORS.get("volume")()).floor
    # 40 customers in a row with a threshold of 8: levels 1, 2 and 4 are crossed.
    assert [len(f["customer_ids"]) for f in volume] == [floor, 2 * floor, 4 * floor]
    # The crossing is the floor-th act look-up nothing explains (the allowance's chance
    # line may explain the first of the day, as it does a colleague's).
    why = dict(store.con.execute("SELECT event_id, explanation FROM access_explained").fetchall())
    unexplained = sorted(
        r["time"]
        for r in company.access
        if r["event_id"] in company.act and not why.get(r["event_id"])
    )
    assert volume[0]["time"] == unexplained[int(floor) - 1]
    assert set(volume[0]["event_ids"]) <= set(company.act)
    assert "looked at 8 customers with no case" in volume[0]["reason"]
    store.close()


def test_exfiltration_after_harvest_is_critical_and_raises_an_alert(built_once):
    store = detected_scenario("exfiltration", built_once)
    (exfil,) = [f for f in findings(store) if f["detector"] == "exfiltration"]
    assert exfil["critical"]
    assert exfil["time"] == at(ACT_DAY, 13)
    assert (
        "personal_email" in exfil["reason"]
        and "3.0 h after looking up 30 of them" in exfil["reason"]
    )
    (alert,) = read_alerts(store)
    assert alert.employee_id == INSIDER and alert.severity == "critical"
    assert alert.detected_at == at(ACT_DAY, 13) and "exfiltration" in alert.detectors
    # The alert opened no later than the export (earlier if the volume findings from 10:00
    # already gave enough points), and a line before 13:00 cannot cite the export.
    opened = read_alert_history(store)[0]
    assert opened.alert_id == alert.alert_id and opened.revision == 0
    assert opened.detected_at <= at(ACT_DAY, 13)
    assert opened.detected_at == at(ACT_DAY, 13) or "exfiltration" not in opened.detectors
    store.close()


def test_an_export_after_midnight_carries_the_harvest_of_the_evening_before(tmp_path):
    # The harvest is in the export's step only as lookback (the previous UTC day).
    company = base_company()
    harvest = [f"c{200 + k:03d}" for k in range(30)]
    search = company.event(INSIDER, at(ACT_DAY - 1, 22), "search", harvest, ["name", "email"],
                           act=True)  # fmt: skip
    company.event(INSIDER, at(ACT_DAY, 1), "export", harvest, ["name", "email"],
                  destination="personal_email", act=True)  # fmt: skip
    store, _ = detect(company, tmp_path)
    (exfil,) = [f for f in findings(store) if f["detector"] == "exfiltration"]
    assert exfil["critical"] and exfil["time"] == at(ACT_DAY, 1)
    assert search in exfil["event_ids"]
    assert "3.0 h after looking up 30 of them" in exfil["reason"]
    store.close()


def test_exfiltration_carries_the_exports_customers_looked_up_before_it_once_each(built_once):
    """A customer looked up twice counts once; one looked up only after the export, one
    not in it, and one in it never looked up count not at all."""
    company = base_company()
    harvest = [f"c{200 + k:03d}" for k in range(10)]
    views = [
        company.event(INSIDER, at(ACT_DAY, 10, k), "view", [cust], ["name", "email"], act=True)
        for k, cust in enumerate(harvest)
    ]
    again = company.event(INSIDER, at(ACT_DAY, 10, 30), "view", [harvest[0]], ["name"])
    other = company.event(INSIDER, at(ACT_DAY, 10, 40), "view", ["c220"], ["name", "email"])
    company.event(INSIDER, at(ACT_DAY, 12), "export", [*harvest, "c230"], ["name", "email"],
                  destination="personal_email", act=True)  # fmt: skip
    after = company.event(INSIDER, at(ACT_DAY, 12, 30), "view", [harvest[1]], ["name"])
    store = continued(company, built_once)
    (exfil,) = [f for f in findings(store) if f["detector"] == "exfiltration"]
    assert "2.0 h after looking up 10 of them" in exfil["reason"]  # from the first, at 10:00
    assert set(views) | {again} <= set(exfil["event_ids"])
    assert other not in exfil["event_ids"] and after not in exfil["event_ids"]
    store.close()


def test_shared_harvest_counts_each_customer_the_colleague_looked_up_by_then_once(built_once):
    """The colleague's case-less look-ups are the customers looked up by the time the list
    left: one looked up twice counts once, look-ups after it not at all."""
    company = scenario("shared_harvest")
    sent = at(ACT_DAY, 15)
    company.event(INSIDER, at(ACT_DAY, 12), "view", ["c200"], ["name", "address"])  # again
    for k in range(3):  # after the list left
        company.event(INSIDER, at(ACT_DAY, 16, k), "view", [f"c{240 + k}"], ["name"])
    store = continued(company, built_once)
    (found,) = [f for f in findings(store) if f["detector"] == "shared_harvest"]
    assert found["employee_id"] == INSIDER and found["time"] == sent
    window = at(ACT_DAY - 27, 0)
    looked = {
        cust
        for r in company.access
        if r["employee_id"] == INSIDER and not r.get("case_id") and window <= r["time"] <= sent
        for cust in r["customer_ids"]
    }
    assert f"6 of their {len(looked)} case-less look-ups" in found["reason"]
    store.close()


def _desk_copies_its_clients():
    """The base company in a larger customer base, whose agents each look up, with no case,
    one of ten desk clients a day (each agent a different one, in turn): on the act's day
    one agent copies the ten to local disk, a copy no routine covers."""
    c = base_company()
    c.customers += [{"customer_id": f"f{i:04d}", "surname": f"Filler{i}"} for i in range(2000)]
    desk = [f"c{200 + k:03d}" for k in range(10)]
    for day in range(1, ACT_DAY):
        for i, e in enumerate(AGENTS):
            c.event(e, at(day, 15, i), "view", [desk[(i + day) % len(desk)]], ["name", "phone"])
    c.event(AGENTS[1], at(ACT_DAY, 15), "copy", desk, ["name", "phone"], destination="local")
    return c, desk


def test_shared_harvest_takes_a_list_of_what_the_colleagues_peers_look_up_as_no_harvest(
    built_once,
):
    """Each agent's case-less look-ups hold eight of the ten customers that left, far above
    the list's share of all customers, which alone would flag all eleven. But the rest of
    their group looks those customers up with no case too: the list is the desk's own
    clients, and chance is the list's share of what the peers look up."""
    company, desk = _desk_copies_its_clients()
    store = continued(company, built_once)
    looked = {
        cust
        for r in company.access
        if r["employee_id"] == INSIDER and not r.get("case_id") and r["time"] < at(ACT_DAY, 0)
        for cust in r["customer_ids"]
    }
    shared = looked & set(desk)
    customers = len(company.customers)
    copy = company.access[-1]["event_id"]
    assert explanations(store)[copy] is None  # a send nothing explains: the detector judges it
    cfg = shared_harvest.Config()
    # What the old measure of chance (the list's share of all customers) would have flagged.
    assert len(shared) >= cfg.min_shared and len(shared) >= cfg.min_share * len(looked)
    assert len(shared) >= cfg.min_lift * len(looked) * len(desk) / customers
    assert [f for f in findings(store) if f["detector"] == "shared_harvest"] == []
    store.close()


def test_shared_harvest_still_flags_two_harvesters_of_one_group_for_a_third_ones_send(
    built_once,
):
    """Two agents each harvest half a list (six customers apiece, no case) and a third of
    their group copies all of it out. Each one's look-ups are the other's peers', so the
    peers' look-ups hold the list; but a customer one colleague alone looked up is no
    shared client of the group, and chance stays the list's share of all customers."""
    c = base_company()
    c.customers += [{"customer_id": f"f{i:04d}", "surname": f"Filler{i}"} for i in range(2000)]
    halves = {INSIDER: [f"c{200 + k:03d}" for k in range(6)],
              AGENTS[2]: [f"c{206 + k:03d}" for k in range(6)]}  # fmt: skip
    for who, half in halves.items():
        for k, cust in enumerate(half):
            c.event(who, at(ACT_DAY - 3 + k // 2, 11, k), "view", [cust], ["name", "phone"],
                    act=True)  # fmt: skip
    listed = [cust for half in halves.values() for cust in half]
    c.event(AGENTS[1], at(ACT_DAY, 15), "copy", listed, ["name", "phone"], destination="local")
    store = continued(c, built_once)
    flagged = {f["employee_id"] for f in findings(store) if f["detector"] == "shared_harvest"}
    assert flagged == set(halves)
    store.close()


def test_a_suppression_silences_the_detector_until_it_expires(tmp_path):
    company = scenario("canary")
    until = at(ACT_DAY, 0).date()
    cfg = DetectionConfig(
        suppressions=[
            Suppression(
                employee_id=INSIDER, detector="canary", until=until, reason="red-team exercise"
            )
        ]  # fmt: skip
    )
    store, _ = detect(company, tmp_path, cfg)
    rows = store.con.execute(
        "SELECT suppressed_by FROM findings WHERE detector = 'canary'"
    ).fetchall()
    assert rows and all("red-team exercise" in r[0] for r in rows)
    assert store.scalar("SELECT count(*) FROM alerts") == 0
    store.close()


def test_alerts_merge_repeated_findings(built_once):
    company = scenario("vip")
    for k, cust in enumerate(["c000", "c002"]):  # more VIPs, later the same day
        company.event(INSIDER, at(ACT_DAY, 14 + k), "view", [cust], ["name"], act=True)
    # one detector's repeated findings: names alone are a set of fields no colleague shows
    # (unusual_fields), a second detector here
    store = continued(company, built_once, DetectionConfig(disabled=["unusual_fields"]))
    n_findings = store.scalar("SELECT count(*) FROM findings WHERE detector = 'vip'")
    assert n_findings == 3
    (alert,) = read_alerts(store)
    assert len(alert.finding_ids) == 3
    # A history: the later VIP look-ups change the open alert, each line stamped with the
    # time of the finding that changed it; one reason line for the one detector.
    history = read_alert_history(store)
    assert len(history) >= 2 and [a.revision for a in history] == list(range(len(history)))
    times = dict(store.con.execute("SELECT finding_id, time FROM findings").fetchall())
    for before, line in zip(history, history[1:], strict=False):
        assert line.finding_ids[: len(before.finding_ids)] == before.finding_ids
    for line in history:
        assert line.detected_at == max(times[f] for f in line.finding_ids)
    assert len(alert.reasons) == 1 and "(and 2 earlier since" in alert.reasons[0]
    store.close()


def _truncate(company, cutoff: dt.datetime):
    """What the company's systems held at ``cutoff``: earlier events, cases opened by
    then, closed only if closed by then."""
    out = scenario.__globals__["Company"](
        employees=company.employees, customers=company.customers, canaries=company.canaries
    )
    out.access = [r for r in company.access if r["time"] <= cutoff]
    for case in company.cases:
        if case["opened_at"] <= cutoff:
            closed = case["closed_at"] if case["closed_at"] <= cutoff else None
            out.cases.append({**case, "closed_at": closed})
    return out


def _everything_replayed(company, folder: Path, built_once) -> Store:
    """One replay of ``_everything``, shared by the tests that compare with it (read-only)."""
    db = replayed(company.write(folder / "full"), built_once)
    return Store(db, threads=1, read_only=True)


def _everything():
    company = base_company()
    ins = INSIDER
    d = ACT_DAY
    for k in range(30):
        company.event(ins, at(d, 9, k), "view", [f"c{200 + k:03d}"], ["name", "email", "phone"])
    company.event(ins, at(d, 11), "search", ["c150", "decoy1"], ["name"])
    company.event(ins, at(d, 12, 30), "export", [f"c{200 + k:03d}" for k in range(30)],
                  ["email", "phone"], destination="usb")  # fmt: skip
    company.event("a01", at(d, 14), "view", ["c001"], ["name"])
    return company


@pytest.mark.parametrize("cutoff", [at(ACT_DAY, 9, 20), at(ACT_DAY, 12), at(ACT_DAY, 13)])
def test_replay_never_uses_future_events(cutoff, tmp_path, built_once):
    """One replay of everything finds up to the cutoff exactly what the systems' holdings
    at the cutoff give (their ordinary days are the shared ones: ``continued``)."""
    company = _everything()
    full = _everything_replayed(company, tmp_path, built_once)
    cut = continued(_truncate(company, cutoff), built_once)
    later = [f for f in findings(full) if f["time"] <= cutoff]
    assert later, "the cutoff should leave some findings to compare"
    assert findings(cut) == later
    full.close()
    cut.close()


def test_live_runs_in_pieces_end_where_one_replay_ends(tmp_path, built_once):
    company = _everything()
    once = _everything_replayed(company, tmp_path, built_once)
    store, first = detect(company, tmp_path / "pieces", until=at(ACT_DAY, 10))
    assert first.last_day == at(ACT_DAY, 0).date()
    second = run_detection(store, DetectionConfig(), KEY)
    assert second.steps == 1  # only the unfinished day is redone
    assert findings(store) == findings(once)
    assert read_alert_history(store) == read_alert_history(once)
    once.close()
    store.close()


def test_late_events_rewind_the_engine(tmp_path, built_once):
    store = replayed_copy(_everything(), tmp_path, built_once)
    late = tmp_path / "late"
    late.mkdir()
    row = {"event_id": "late1", "time": at(2, 10).isoformat(), "employee_id": "a05",
           "action": "search", "customer_ids": ["decoy1"], "fields": ["name"]}  # fmt: skip
    (late / "access.jsonl").write_text(msgspec.json.encode(row).decode() + "\n")
    ingest_dataset(store, late, KEY)
    run = run_detection(store, DetectionConfig(), KEY)
    assert run.rewound and "late events" in run.rewound
    assert run.first_day == at(2, 0).date()
    assert "a05" in {f["employee_id"] for f in findings(store) if f["detector"] == "canary"}
    store.close()


def test_rule_files_are_validated(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(
        "title: t\nlogsource: {product: insiderwatch}\n"
        "detection: {sel: {salary: 1}, condition: sel}\n"
    )
    with pytest.raises(Exception, match="unknown field"):
        load_rules([bad])
    native = tmp_path / "n.yml"
    native.write_text("id: x\ntitle: t\nwhere: {colour: red}\n")
    with pytest.raises(Exception, match="where.colour"):
        load_rules([native])


def test_the_configuration_example_in_the_docs_loads(tmp_path):
    from insiderwatch.detect import load_detection_config

    text = (Path(__file__).parent.parent / "docs" / "detections.md").read_text()
    example = text.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "rules").mkdir()
    (tmp_path / "detect.toml").write_text(example)
    cfg = load_detection_config(tmp_path / "detect.toml")
    assert cfg.suppressions[0].until == dt.date(2026, 12, 31)
    assert cfg.detectors["volume"]["floor"] == 10
    assert cfg.detector_config(DETECTORS.get("volume")()).floor == 10


def test_a_case_explains_viewing_a_customer_never_sending_them_out(tmp_path):
    company = base_company()
    case = company.cases[0]
    inside = case["opened_at"] + dt.timedelta(minutes=10)
    company.event(case["employee_id"], inside, "export", [case["customer_id"]],
                  ["email", "phone"], destination="personal_email")  # fmt: skip
    store, _ = detect(company, tmp_path)
    (exfil,) = [f for f in findings(store) if f["detector"] == "exfiltration"]
    assert exfil["employee_id"] == case["employee_id"] and exfil["time"] == inside
    assert "viewing them is explained: own_case" in exfil["reason"]
    store.close()


def test_a_vip_among_many_rows_is_not_snooping_a_targeted_lookup_is(built_once):
    company = base_company()
    d = ACT_DAY
    broad = ["c001", *(f"c{200 + k:03d}" for k in range(40))]  # a VIP among 41 customers
    company.event("a01", at(d, 10), "search", broad, ["name"])
    company.event(INSIDER, at(d, 11), "search", ["c002"], ["name", "email"], act=True)
    store = continued(company, built_once)
    vip = [f for f in findings(store) if f["detector"] == "vip"]
    assert [(f["employee_id"], f["customer_ids"]) for f in vip] == [(INSIDER, ["c002"])]
    # The broad search weighs 1/breadth per customer in the sensitivity measure.
    weights = store.con.execute(
        "SELECT employee_id, unexplained_weight FROM employee_days WHERE day = ? "
        "AND employee_id IN ('a01', ?) ORDER BY employee_id",
        [at(d, 0).date(), INSIDER],
    ).fetchall()
    assert dict(weights)["a01"] < dict(weights)[INSIDER]
    store.close()


def test_vip_lookups_weigh_by_their_percentile_among_peers(tmp_path, built_once):
    """Where every peer looks up a VIP without a case each day, one more is their routine
    and no finding; alone among peers who never do, it weighs in full."""
    company = scenario("vip")
    for day in range(1, ACT_DAY):
        for e in AGENTS:
            company.event(e, at(day, 12), "view", ["c000"], ["name"])
    store, _ = detect(company, tmp_path)
    points = DetectionConfig().detector_config(DETECTORS.get("vip")()).points
    mine = [f for f in findings(store) if f["detector"] == "vip" and f["employee_id"] == INSIDER]
    lone = detected_scenario("vip", built_once)
    (alone,) = [f for f in findings(lone) if f["detector"] == "vip"]
    assert alone["points"] == points and "more than on 100% of peers' days" in alone["reason"]
    assert [f for f in mine if f["customer_ids"] == ["c001"]] == []
    store.close()
    lone.close()


def test_a_busy_member_meets_more_vips_the_peers_rate_scaled_to_their_work(tmp_path):
    """Where the peers look a VIP up with no case on a few of their days, one by someone
    whose usual day holds twice the peers' work is about twice as likely: it weighs less
    than the same look-up by a member of ordinary volume, who is judged as before. The
    busy member's work counts no higher than the busiest peer's (a02's)."""
    company = base_company()
    busy = (INSIDER, "a02")
    for case in list(company.cases):  # the busy members open each case three times
        if case["employee_id"] in busy:
            for minutes in (10, 15):
                company.event(case["employee_id"], case["opened_at"] + dt.timedelta(minutes=minutes),
                              "view", [case["customer_id"]], ["name", "orders"],
                              case_id=case["case_id"])  # fmt: skip
    for e, day in (("a04", 2), ("a05", 4), ("a06", 6)):  # VIPs on 3 of the peers' 88 days
        company.event(e, at(day, 12), "view", ["c000"], ["name"])
    company.event(INSIDER, at(ACT_DAY, 11), "view", ["c001"], ["name", "orders"], act=True)
    company.event("a03", at(ACT_DAY, 11), "view", ["c002"], ["name", "orders"])
    store, _ = detect(company, tmp_path)
    vip = {f["employee_id"]: f for f in findings(store) if f["detector"] == "vip"}
    store.close()
    assert set(vip) == {INSIDER, "a03"}
    assert 0 < vip[INSIDER]["points"] < vip["a03"]["points"]
    assert "times the peers' work" in vip[INSIDER]["reason"], vip[INSIDER]["reason"]
    assert "times the peers' work" not in vip["a03"]["reason"], vip["a03"]["reason"]


@pytest.mark.parametrize(
    ("device", "destination", "sent"),
    [
        ("dev-unknown", "external:paste.example", True),  # from the new device, outside
        ("dev-unknown", "personal_email", True),
        (f"dev-{INSIDER}", "external:paste.example", False),  # from their own machine
        ("dev-unknown", "printer", False),  # stays inside
        ("dev-other", "external:paste.example", True),  # from a second new device
    ],
)
def test_data_sent_outside_from_a_new_device_after_a_burst_is_a_second_finding(
    device, destination, sent, built_once
):
    """A stolen login: a new device at night, a burst of look-ups, then an export. The send
    is a finding of its own, at the send, citing the device's first use and the export;
    the same export from the employee's own machine, or to a printer, adds nothing. Sent
    from another new device than the burst's, the finding names and cites that one."""
    company = scenario("account_misuse")
    listed = [f"c{300 + k:03d}" for k in range(30)]
    ip = "203.0.113.9" if device == "dev-unknown" else f"10.0.0.{AGENTS.index(INSIDER) + 1}"
    export = company.event(INSIDER, at(ACT_DAY, 2, 40), "export", listed, ["name", "email"],
                           destination=destination, record_count=2000, device_id=device,
                           src_ip=ip, act=True)  # fmt: skip
    store = continued(company, built_once)
    mine = [f for f in findings(store) if f["detector"] == "account_misuse"]
    first_use = company.act[0]
    assert [f["time"] for f in mine if f["time"] < at(ACT_DAY, 2, 40)] == [at(ACT_DAY, 2, 9)]
    later = [f for f in mine if f["time"] >= at(ACT_DAY, 2, 40)]
    if sent:
        (send,) = later
        assert send["time"] == at(ACT_DAY, 2, 40) and send["employee_id"] == INSIDER
        origin = export if device == "dev-other" else first_use  # that device's first use
        assert sorted(send["event_ids"]) == sorted({origin, export})
        assert f"2000 customer record(s) sent to {destination}" in send["reason"]
        if device == "dev-other":
            assert "device dev-other" in send["reason"]
        assert send["points"] == DetectionConfig().detector_config(
            DETECTORS.get("account_misuse")()).sent_points  # fmt: skip
    else:
        assert later == []
    store.close()


@pytest.mark.parametrize("case", ["peers_send_there", "before_the_burst"])
def test_a_send_from_the_new_device_that_peers_make_or_that_precedes_the_burst(case, built_once):
    """The send finding's two other sides (docs: "Stolen logins"). A destination outside
    the company that the peer group already sent to in the baseline window is no sign of
    someone else at the keyboard: no send finding, the burst's stands. A send before the
    burst is complete is a finding at the burst's last look-up, never before it (a
    finding cites nothing it has not yet seen), citing the device's first use and the send."""
    company = scenario("account_misuse")
    destination = "external:paste.example"
    if case == "peers_send_there":
        company.event(AGENTS[3], at(3, 11), "export", ["c100"], ["name"],
                      destination=destination, record_count=1)  # fmt: skip
        when, listed = at(ACT_DAY, 2, 40), [f"c{300 + k:03d}" for k in range(30)]
    else:  # the customers of the burst's first look-ups, sent at 02:03
        when, listed = at(ACT_DAY, 2, 3), ["c200", "c201"]
    export = company.event(INSIDER, when, "export", listed, ["name", "email"],
                           destination=destination, record_count=2000,
                           device_id="dev-unknown", src_ip="203.0.113.9", act=True)  # fmt: skip
    store = continued(company, built_once)
    mine = [f for f in findings(store) if f["detector"] == "account_misuse"]
    burst = [f for f in mine if f["reason"].startswith("first use of")]
    assert [f["time"] for f in burst] == [at(ACT_DAY, 2, 9)]
    sends = [f for f in mine if "sent to" in f["reason"]]
    if case == "peers_send_there":
        assert sends == []
    else:
        (send,) = sends
        assert send["time"] == at(ACT_DAY, 2, 9)  # the burst's 10th customer, not 02:03
        assert sorted(send["event_ids"]) == sorted({company.act[0], export})
    store.close()


def _shifted_company(hours: int):
    """The base company with every access and case ``hours`` later: the same staff
    working in a time zone (or shift) whose day is elsewhere on the UTC clock."""
    c = base_company()
    shift = dt.timedelta(hours=hours)
    for row in c.access:
        row["time"] += shift
    for row in c.cases:
        row["opened_at"] += shift
        row["closed_at"] += shift
    return c


def _night_rule_findings(company, tmp_path) -> list[dict]:
    store, _ = detect(company, tmp_path)
    found = [f for f in findings(store) if f["detector"] == "rule:night-contact-lookups"]
    store.close()
    return found


@pytest.mark.parametrize(
    ("shift", "act_hour", "fires"),
    [
        (16, 1, False),  # a team working 01:00-08:00 UTC: 01:00 is its working day
        (12, 13, True),  # a team working 21:00-04:00 UTC: 13:00 UTC is its night
    ],
)
def test_night_is_when_the_peer_group_rarely_works_not_fixed_utc_hours(
    shift, act_hour, fires, tmp_path
):
    c = _shifted_company(shift)
    for k in range(10):
        c.event(INSIDER, at(ACT_DAY, act_hour, k), "view", [f"c{300 + k:03d}"],
                ["email", "phone"], act=True)  # fmt: skip
    found = _night_rule_findings(c, tmp_path)
    assert bool(found) is fires
    if fires:
        assert {f["employee_id"] for f in found} == {INSIDER}
        assert set(found[0]["event_ids"]) <= set(c.act)
