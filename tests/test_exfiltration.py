"""The exfiltration detector's weighing of bulk prints and local exports that no routine
flow covers (by how rare bulk outbound days are among the peer group's earlier days),
and of a routine flow gone beyond its breadth, hours or fields (once per flow and day)."""

from __future__ import annotations

import datetime as dt
import math
from functools import partial

import msgspec
import pytest

from detect_scenarios import ACT_DAY, AGENTS, Company, at, base_company, detect, detected
from insiderwatch.detect import DetectionConfig, run_detection
from insiderwatch.detect.config import ReviewedFlow
from insiderwatch.detect.detectors.exfiltration import Config
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from sample_data import KEY_HEX

KEY = HashKey(bytes.fromhex(KEY_HEX))
SENDER = AGENTS[1]
REPORT = [f"c{3 + k:03d}" for k in range(50)]  # 50 customers, no case, one print


def _company(peers_print: bool):
    """Twelve agents; with ``peers_print`` every agent but the sender prints a report of
    50 customers on every other day, each from a tool of their own (so no flow is the
    group's routine). On the act day the sender prints one."""
    c = base_company()
    if peers_print:
        for day in range(1, ACT_DAY):
            for i, e in enumerate(AGENTS):
                if e != SENDER and (day + i) % 2 == 0:
                    c.event(e, at(day, 15), "print", REPORT, ["name", "orders"],
                            app=f"report-tool-{i}", destination="printer")  # fmt: skip
    for e in AGENTS[2:]:  # an ordinary act day for the others
        c.event(e, at(ACT_DAY, 10), "view", ["c100"], ["name"])
    sent = c.event(SENDER, at(ACT_DAY, 15), "print", REPORT, ["name", "orders"],
                   app="report-tool-x", destination="printer", act=True)  # fmt: skip
    return c, sent


def _print_finding(tmp_path, peers_print: bool) -> tuple[float, str]:
    c, sent = _company(peers_print)
    c.write(tmp_path / "dataset")
    with Store(tmp_path / "iw.duckdb", threads=1) as store:
        ingest_dataset(store, tmp_path / "dataset", KEY)
        run_detection(store, DetectionConfig(), KEY)
        ((points, reason),) = store.con.execute(
            "SELECT points, reason FROM findings WHERE detector = 'exfiltration' "
            "AND list_contains(event_ids, ?)",
            [sent],
        ).fetchall()
    return points, reason


def test_a_print_no_peer_makes_weighs_in_full(tmp_path):
    points, reason = _print_finding(tmp_path, peers_print=False)
    assert math.isclose(points, Config().internal_points * (1 + math.log10(50) / 2))
    assert "print 50 customer record(s) to printer (internal) with no case" in reason
    assert "or more records on 0.0% of their days" in reason


def test_a_print_the_peers_make_on_half_their_days_weighs_little(tmp_path):
    """The peers (the sender left out) print in bulk with no case on about half of their
    days: the sender's print weighs log(share) / log(full_weight_tail) of a rare one, and
    never less than min_weight of it."""
    points, reason = _print_finding(tmp_path, peers_print=True)
    cfg = Config()
    full = cfg.internal_points * (1 + math.log10(50) / 2)
    assert points <= full / 4 + 1e-9
    share = float(reason.split("records on ")[1].split("%")[0]) / 100
    assert 0.3 < share < 0.6
    weight = max(math.log(share) / math.log(cfg.full_weight_tail), cfg.min_weight)
    assert math.isclose(points, full * weight, rel_tol=0.01)


# A routine flow gone beyond its hours many times in one morning: one deviation per flow
# and day, not one per send.
ANALYSTS = [f"an{i}" for i in range(6)]
FLOW = {"app": "bi-tool", "destination": "cloud:lake"}
NIGHT_DAY = 11  # after the learning window


def _night_company() -> tuple[Company, list[str], str]:
    """Six analysts export a report to the company's lake at eleven every day; on
    NIGHT_DAY an4's export runs ten times between three and four in the morning at its
    usual size, once far broader at four, and four more times after."""
    c = Company()
    for i, e in enumerate(ANALYSTS):
        c.employees.append({"employee_id": e, "surname": f"Staff{i}", "role": "analyst",
                            "team": "bi-1", "hired_on": "2020-01-01",
                            "home_postcode": f"HP{i} 1AA"})  # fmt: skip
    c.customers.append({"customer_id": "c000", "surname": "Cust", "postcode": "PC 1AA"})
    for day in range(1, NIGHT_DAY + 1):
        for k, e in enumerate(ANALYSTS):
            c.event(e, at(day, 11, k), "export", [], ["name", "orders"],
                    record_count=500 + 10 * k, **FLOW)  # fmt: skip
    night = [c.event("an4", at(NIGHT_DAY, 3, 5 * k), "export", [], ["name", "orders"],
                     record_count=540, **FLOW) for k in range(10)]  # fmt: skip
    broad = c.event("an4", at(NIGHT_DAY, 4, 0), "export", [], ["name", "orders"],
                    record_count=100_000, **FLOW)  # fmt: skip
    for k in range(4):
        c.event("an4", at(NIGHT_DAY, 4, 10 + k), "export", [], ["name", "orders"],
                record_count=540 if k % 2 else 90_000, **FLOW)  # fmt: skip
    return c, night, broad


def test_a_print_among_peers_with_a_routine_flow_weighs_in_full(tmp_path):
    """The analysts send a report to their routine flow every day and never print: an
    analyst's print of fifty customers with no case is as rare for them as for anyone
    (their routine sends are not bulk prints without a reason) and weighs in full."""
    c, _, _ = _night_company()
    for k in range(50):
        c.customers.append({"customer_id": f"c{3 + k:03d}", "surname": f"Cust{k}",
                            "postcode": "PC 1AA"})  # fmt: skip
    sent = c.event("an1", at(NIGHT_DAY, 15), "print", REPORT, ["name", "orders"],
                   app="report-tool-x", destination="printer")  # fmt: skip
    store = detect(c, tmp_path)
    ((points, reason),) = store.con.execute(
        "SELECT points, reason FROM findings WHERE detector = 'exfiltration' "
        "AND list_contains(event_ids, ?)",
        [sent],
    ).fetchall()
    store.close()
    assert math.isclose(points, Config().internal_points * (1 + math.log10(50) / 2))
    assert "or more records on 0.0% of their days" in reason


def _beyond(store: Store) -> list[tuple]:
    return store.con.execute(
        "SELECT time, points, severity, event_ids, reason FROM findings "
        "WHERE detector = 'exfiltration' AND employee_id = 'an4' ORDER BY time"
    ).fetchall()


def test_a_routine_flow_beyond_its_hours_all_morning_is_one_deviation(built_once):
    """Fifteen sends beyond the group's routine flow in one morning are one deviation,
    placed at the first and weighed by the furthest: a finding at the first send (half the
    flow's points, as any send in its breadth but out of its hours), and one more at the
    far broader send, bringing only the difference. Sends that go no further add nothing."""
    c, night, broad = _night_company()
    store = detected(c, built_once)  # one replay, shared with the day cut into steps
    usual = store.scalar(
        "SELECT max(max_records) FROM routine_flows WHERE day = ? AND destination = 'cloud:lake'",
        [at(NIGHT_DAY, 0).date()],
    )
    rows = _beyond(store)
    store.close()
    base = Config().new_flow_points
    furthest = base * (1 + math.log10(100_000 / usual)) / 2
    assert [r[0] for r in rows] == [at(NIGHT_DAY, 3), at(NIGHT_DAY, 4)]
    (first, second) = rows
    assert first[1] == pytest.approx(base / 2)
    assert first[3] == [night[0]]
    assert second[1] == pytest.approx(furthest - base / 2)
    assert sum(r[1] for r in rows) == pytest.approx(furthest)
    assert sorted(second[3]) == sorted([*night, broad])  # the sends beyond it so far
    assert {r[2] for r in rows} == {"low"}
    assert "beyond the peer group's routine flow" in first[4]
    assert "send 11 beyond it today, further than the earlier ones" in second[4]


def test_a_flow_day_cut_into_steps_gives_the_same_findings(tmp_path, built_once):
    """A run that stops between the first send and the broad one finds only the first (no
    later send weighs in it); the next run ends where one replay of the day ends."""
    c, night, _ = _night_company()
    once = detected(c, built_once)
    c.write(tmp_path / "pieces" / "dataset")
    with Store(tmp_path / "pieces" / "iw.duckdb", threads=1) as store:
        ingest_dataset(store, tmp_path / "pieces" / "dataset", KEY)
        run_detection(store, DetectionConfig(), KEY, until=at(NIGHT_DAY, 3, 30))
        early = _beyond(store)
        run_detection(store, DetectionConfig(), KEY)
        later = _beyond(store)
    full = _beyond(once)
    once.close()
    assert early == full[:1]
    assert later == full


def test_a_flow_both_own_and_the_groups_routine_counts_each_send_once(tmp_path):
    """A reviewed routine with the flow for the group and for the account itself
    ('self:'): each send matches one routine flow (its own), so the eleventh send beyond
    it is the eleventh, not counted twice."""
    c, night, broad = _night_company()
    cfg = DetectionConfig()
    flows = [
        ReviewedFlow(group=g, app=FLOW["app"], action="export", destination=FLOW["destination"],
                     max_records=600, hours=list(range(9, 18)), fields=["name", "orders"])
        for g in ("analyst:bi", "self:an4")
    ]  # fmt: skip
    routine = msgspec.structs.replace(cfg.routine, policy_file="reviewed.yaml", reviewed=flows)
    store = detect(c, tmp_path, msgspec.structs.replace(cfg, routine=routine))
    rows = _beyond(store)
    store.close()
    assert [r[0] for r in rows] == [at(NIGHT_DAY, 3), at(NIGHT_DAY, 4)]
    assert sorted(rows[1][3]) == sorted([*night, broad])
    assert "send 11 beyond it today" in rows[1][4]


def test_the_least_weight_is_a_share_of_the_points():
    """Above 1 a common send would weigh more than a rare one: a configuration error."""
    from insiderwatch.detect import DetectionConfig
    from insiderwatch.detect.config import ConfigError
    from insiderwatch.detect.detectors.exfiltration import Exfiltration

    with pytest.raises(ConfigError):
        DetectionConfig(detectors={"exfiltration": {"min_weight": 2}}).detector_config(Exfiltration)
    ok = DetectionConfig(detectors={"exfiltration": {"min_weight": 1}})
    assert ok.detector_config(Exfiltration).min_weight == 1


# A desk of three agents (a peer group of its own, too small for any flow to be its
# routine) and the twelve agents of the same role in the big team, who send one case
# customer a day each to the company's drive: their routine flow.
DESK = ["d0", "d1", "d2"]
DRIVE = {"app": "crm", "destination": "cloud:team-drive"}


def _desk_company() -> Company:
    c = base_company()
    for i, e in enumerate(DESK):
        c.employees.append({"employee_id": e, "surname": f"Desk{i}", "role": "cs_agent",
                            "team": "vip-desk", "manager_id": "sup", "hired_on": "2020-01-01",
                            "home_postcode": f"DP{i} 1AA"})  # fmt: skip
    for day in range(1, ACT_DAY + 1):
        for i, e in enumerate(DESK):
            _case_view(c, e, at(day, 10 + i), f"c{150 + 3 * day + i:03d}")
    # the big team's routine: each agent sends a case customer to the drive every day
    for case in [k for k in c.cases if k["employee_id"] in AGENTS]:
        if case["opened_at"].hour == 9:
            c.event(case["employee_id"], case["opened_at"] + dt.timedelta(minutes=10),
                    "export", [case["customer_id"]], ["name", "email"],
                    case_id=case["case_id"], **DRIVE)  # fmt: skip
    return c


def _case_view(c: Company, employee: str, time: dt.datetime, customer: str) -> str:
    case_id = f"desk-{len(c.cases):05d}"
    c.cases.append({"case_id": case_id, "customer_id": customer, "employee_id": employee,
                    "opened_at": time, "closed_at": time + dt.timedelta(minutes=30)})  # fmt: skip
    c.event(employee, time + dt.timedelta(minutes=5), "view", [customer],
            ["name", "email"], case_id=case_id)  # fmt: skip
    return case_id


def _desk_send(tmp_path, *, with_case=True, destination="cloud:team-drive", customers=1,
               colleagues=None, cfg=None):  # fmt: skip
    """The findings on d0's send of ``customers`` to ``destination`` on the act day, the
    desk company first changed by ``colleagues`` (when given) and detected with ``cfg``."""
    c = _desk_company()
    if colleagues:
        colleagues(c)
    sent_at = at(ACT_DAY, 14)
    who = [f"c{300 + k:03d}" for k in range(customers)]
    extra = {"app": "crm", "destination": destination}
    if with_case:  # a case for each customer: viewing every one of them is explained
        for customer in who:
            extra["case_id"] = _case_view(c, "d0", sent_at - dt.timedelta(minutes=10), customer)
    sent = c.event("d0", sent_at, "export", who, ["name", "email"], **extra)
    store = detect(c, tmp_path, cfg)
    rows = store.con.execute(
        "SELECT points, reason FROM findings WHERE detector = 'exfiltration' "
        "AND list_contains(event_ids, ?)",
        [sent],
    ).fetchall()
    store.close()
    return rows


def test_a_case_sent_where_the_roles_other_groups_routinely_send_theirs_is_work(tmp_path):
    """A desk member sends a case's customer to the drive where the big team of the same
    role sends its case work every day: the desk (no staff of its own doing it, the sender
    left out) borrows the role's flow, within its breadth, and there is no finding (before
    exfiltration version 6, a low 'new data flow' of 5 points)."""
    assert _desk_send(tmp_path) == []


@pytest.mark.parametrize(
    "send",
    [
        {"with_case": False},  # no case: nothing explains it
        {"destination": "cloud:elsewhere"},  # a destination no group of the role uses
        {"customers": 5},  # one beyond the breadth the lending group's flow allows (4)
    ],
)
def test_what_the_role_does_not_send_routinely_stays_a_finding(tmp_path, send):
    ((points, reason),) = _desk_send(tmp_path, **send)
    assert points > 0 and "cloud:" in reason
    # a case explains viewing them, so only the flow's own test can raise the finding
    assert ("viewing them is explained" in reason) == send.get("with_case", True)


# The role's share weighing one colleague's worth (role_prior_staff 1), not ten: the
# desk's own staff decide whether it borrows the big team's flow. With neither of d0's
# two colleagues sending to the drive the pooled share is 1/3, under min_share; with one
# of them, 2/3, over it.
ONE_PRIOR = DetectionConfig(detectors={"exfiltration": {"role_prior_staff": 1.0}})


def _findings_with_one_prior(tmp_path, colleagues) -> int:
    """How many findings d0's case send to the drive raises, with ONE_PRIOR and the desk
    changed by ``colleagues``: each of them one about the drive flow."""
    rows = _desk_send(tmp_path, cfg=ONE_PRIOR, colleagues=colleagues)
    assert all("cloud:team-drive" in reason for _, reason in rows)
    return len(rows)


def _colleague_sends(c: Company, *, critical: bool) -> None:
    """d1 sends one case customer to the drive on day 5; that day d1 also touched the
    canary (a critical finding) when ``critical``."""
    case_id = _case_view(c, "d1", at(5, 13), "c290")
    c.event("d1", at(5, 13, 20), "export", ["c290"], ["name", "email"], case_id=case_id,
            **DRIVE)  # fmt: skip
    if critical:
        c.event("d1", at(5, 12), "search", ["c150", "decoy1"], ["name"])


@pytest.mark.parametrize("critical", [False, True])
def test_a_colleagues_send_on_a_day_with_a_critical_finding_lends_no_share(tmp_path, critical):
    """A desk colleague's send to the drive counts towards the desk's share of doers, so
    d0's case send borrows the flow and raises nothing; the same send on a day the
    colleague had a critical finding teaches nothing (as the routine learns), and d0's
    send stays a finding."""
    found = _findings_with_one_prior(tmp_path, partial(_colleague_sends, critical=critical))
    assert found == int(critical)


def _desk_accounts(c: Company, *, machines: bool) -> None:
    """Two more identities of the desk's role and team send a customer to the drive every
    day before the act day: in every hour (service accounts, each a machine with its
    own routine) when ``machines``, else once a day at eleven (two more people)."""
    for i, e in enumerate(("dx0", "dx1")):
        c.employees.append({"employee_id": e, "surname": f"Extra{i}", "role": "cs_agent",
                            "team": "vip-desk", "hired_on": "2020-01-01",
                            "home_postcode": f"DX{i} 1AA"})  # fmt: skip
        for day in range(1, ACT_DAY):
            for hour in range(24) if machines else (11,):
                c.event(e, at(day, hour, i), "export", ["c291"], ["name", "email"], **DRIVE)


@pytest.mark.parametrize("machines", [False, True])
def test_service_accounts_of_the_desk_lend_no_share(tmp_path, machines):
    """Two colleagues of the desk who send to the drive every day make half of d0's
    colleagues doers (pooled 3/5): d0's case send borrows the flow. Two service accounts
    of the desk doing the same around the clock are no staff of it (a machine is its own
    'self:' group): the share is the two people's, none of them doers, and the send
    stays a finding."""
    found = _findings_with_one_prior(tmp_path, partial(_desk_accounts, machines=machines))
    assert found == int(machines)
