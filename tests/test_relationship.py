"""The relationship detector weighs a kin look-up by how likely meeting that many kin is by
chance among the employee's own case-less look-ups: counter staff who look up dozens of
walk-in strangers a day meet a customer of their own postcode now and then, and that is
no snoop; someone who looks up a few customers and meets two of their neighbours is."""

from __future__ import annotations

import pytest

from detect_scenarios import Company, at, detect
from insiderwatch.detect import run_detection
from insiderwatch.detect.config import DetectionConfig, load_detection_config
from insiderwatch.errors import ConfigError
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from sample_data import KEY_HEX

# The company ends on the day judged: detection never reads a later day, so days after it
# would only cost time.
ACT = 12  # after the learning window (7 days)
DAYS = ACT
COUNTER = [f"ct{i}" for i in range(4)]
POSTCODES = 40
CUSTOMERS = 2000  # 50 a postcode
PER_DAY = 40  # strangers each counter agent looks up with no case, every day


BACK_OFFICE = ["bo1", "bo2", "bo3", "bp"]  # the clerk's peers, the padder among them
PADDER = "bp"


def _stranger(n: int) -> str:
    """A customer of any postcode but PC7 2BB, the padder's."""
    n %= CUSTOMERS
    return f"c{n + (n % POSTCODES == 7):04d}"


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
    for i, e in enumerate(BACK_OFFICE):  # the clerk's peers; the padder lives in PC7 2BB
        c.employees.append({"employee_id": e, "surname": f"Peer{i}", "role": "back_office",
                            "team": "ops-1", "hired_on": "2020-01-01",
                            "home_postcode": "PC7 2BB" if e == PADDER else f"ZZ{i} 9ZZ"})  # fmt: skip
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
        for k, e in enumerate(BACK_OFFICE):  # a stranger a day each, none of PC7
            c.event(e, at(day, 10, 10 + k), "view", [_stranger(day * 53 + k * 7)], ["name"],
                    app="ledger")  # fmt: skip
        if day < ACT - 1:  # the padder's 30 more strangers before the day they look
            for j in range(3):
                c.event(PADDER, at(day, 11, 10 * j), "view", [_stranger(day * 101 + j * 13)],
                        ["name"], app="ledger")  # fmt: skip
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
        # the padder opens a neighbour (one customer in forty lives in PC7 2BB)
        "padded": c.event(PADDER, at(ACT, 15), "view", ["c0047"], ["name", "address"], app="ledger"),
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


def test_padding_past_the_peers_usual_buys_no_chance(world):
    _, store = world
    # 41 strangers looked up before where the other back-office clerks look up 11: counted
    # as the peers' 11, one neighbour in forty customers is no chance (about 0.24); all 41
    # would have made it likely (0.64) and the neighbour no finding
    points = _points(store, PADDER)
    assert set(points) == {"c0047"}
    assert points["c0047"] > 1.0
    reason = store.scalar(
        "SELECT reason FROM findings WHERE detector = 'relationship' AND customer_ids = ['c0047']"
    )
    assert "among 11 looked up" in reason, reason
    assert "of their 40: counted no higher than the peers' highest" in reason  # one came up twice


def test_kin_past_max_terms_are_never_chance(tmp_path):
    # with one term of the Poisson sum the second neighbour's chance was P(at least one),
    # as the first's; more kin met must only ever lower it
    c = company()
    c.event("bo", at(ACT, 15), "view", ["q0"], ["name", "address"], app="ledger")
    c.event("bo", at(ACT, 15, 30), "view", ["q1"], ["name", "address"], app="ledger")
    cfg = DetectionConfig(detectors={"relationship": {"max_terms": 1}})
    with detect(c, tmp_path, cfg) as store:
        points = _points(store, "bo")
    assert points["q0"] < 12.0
    assert points["q1"] == 12.0


def test_full_weight_must_be_rarer_than_routine(tmp_path):
    path = tmp_path / "detection.toml"
    path.write_text("[detectors.relationship]\nfull_weight_chance = 0.6\n")
    with pytest.raises(ConfigError, match="full_weight_chance .*routine_chance"):
        load_detection_config(path)


def test_a_kin_look_up_weighing_under_min_points_is_no_finding(tmp_path):
    # the padder's neighbour weighs a few points (chance about 0.24): under the floor it
    # is no finding, while the clerk's rare neighbours still are
    c = company()
    c.event(PADDER, at(ACT, 15), "view", ["c0047"], ["name", "address"], app="ledger")
    c.event("bo", at(ACT, 15), "view", ["q0"], ["name", "address"], app="ledger")
    cfg = DetectionConfig(detectors={"relationship": {"min_points": 3.0}})
    with detect(c, tmp_path, cfg) as store:
        assert _points(store, PADDER) == {}
        assert set(_points(store, "bo")) == {"q0"}


def test_kin_met_today_count_as_the_look_ups_do(tmp_path):
    # an update opens no one: like the look-ups of earlier days (views and searches), it
    # does not make the neighbour viewed after it the second met
    c = company()
    c.event("bo", at(ACT, 14), "update", ["q2"], ["address"], app="ledger")
    c.event("bo", at(ACT, 15), "view", ["q0"], ["name", "address"], app="ledger")
    with detect(c, tmp_path) as store:
        points = _points(store, "bo")
    assert 0 < points["q0"] < 12.0


def _clerk_alone_or_with(quiet_peer: bool) -> Company:
    """A back-office clerk who looks up 40 strangers a day and then a neighbour; with or
    without a colleague of the group who only ever logs in."""
    c = Company()
    staff = [("bo", "QQ1 1AA")] + ([("bz", "ZZ9 9ZZ")] if quiet_peer else [])
    for e, home in staff:
        c.employees.append({"employee_id": e, "surname": f"Clerk{e}", "role": "back_office",
                            "team": "ops-1", "hired_on": "2020-01-01", "home_postcode": home})  # fmt: skip
    for i in range(CUSTOMERS):
        c.customers.append({"customer_id": f"c{i:04d}", "surname": f"Cust{i}",
                            "postcode": f"PC{i % POSTCODES} 2BB", "is_vip": False})  # fmt: skip
    for i in range(3):
        c.customers.append({"customer_id": f"q{i}", "surname": f"Street{i}",
                            "postcode": "QQ1 1AA", "is_vip": False})  # fmt: skip
    for day in range(1, DAYS + 1):
        for j in range(PER_DAY):
            c.event("bo", at(day, 9, j), "view", [f"c{(day * PER_DAY + j) % CUSTOMERS:04d}"],
                    ["name"], app="ledger")  # fmt: skip
        if quiet_peer:
            c.event("bz", at(day, 9, 1), "login", [], [], app="ledger")
    c.event("bo", at(ACT, 15), "view", ["q0"], ["name", "address"], app="ledger")
    return c


def test_a_colleague_who_looked_nobody_up_sets_no_line(tmp_path):
    # the peers' line is drawn from colleagues who looked anyone up: one who only logs in
    # made it 0, so the clerk's strangers counted as none and the neighbour weighed in full
    store = detect(_clerk_alone_or_with(quiet_peer=True), tmp_path / "s")
    rows = store.con.execute(
        "SELECT points, reason FROM findings WHERE detector = 'relationship' AND employee_id = 'bo'"
    ).fetchall()
    store.close()
    assert all(points < 12.0 / 2 for points, _ in rows), rows
    assert not any("among 0 looked up" in reason for _, reason in rows), rows


MOVED_ON = 7  # the day a counter agent joins the clerk's group


def _with_a_colleague_from_the_counter(moved: bool) -> Company:
    """The clerk who looks up 40 strangers a day, and a colleague who looked up 40 a day
    at the counter until MOVED_ON and one a day in the clerk's group since (``moved``: the
    roster after the move). The clerk signs in at the start of MOVED_ON, so the days
    before it are complete when the roster changes."""
    c = _clerk_alone_or_with(quiet_peer=False)
    role, team = ("back_office", "ops-1") if moved else ("counter", "branch-1")
    c.employees.append({"employee_id": "mv", "surname": "Mover", "role": role, "team": team,
                        "hired_on": "2020-01-01", "home_postcode": "ZZ8 8ZZ"})  # fmt: skip
    c.event("bo", at(MOVED_ON, 0), "login", [], [], app="ledger")
    for day in range(1, DAYS + 1):
        for j in range(PER_DAY if day < MOVED_ON else 1):
            c.event("mv", at(day, 10, j), "view", [f"c{(1000 + day * PER_DAY + j) % CUSTOMERS:04d}"],
                    ["name"], app="ledger")  # fmt: skip
    return c


def test_a_colleagues_look_ups_in_another_group_set_no_line(tmp_path):
    # the peers' line counts a colleague's case-less customers of the days they were in
    # the group: the 240 strangers the mover looked up at the counter are not what the
    # back office looks up, and counted they would have made the clerk's neighbour chance
    key = HashKey(bytes.fromhex(KEY_HEX))
    early = _with_a_colleague_from_the_counter(moved=False)
    early.access = [r for r in early.access if r["time"] <= at(MOVED_ON, 0)]
    store = detect(early, tmp_path / "early")
    later = _with_a_colleague_from_the_counter(moved=True)
    ingest_dataset(store, later.write(tmp_path / "later"), key)
    run_detection(store, DetectionConfig(), key)
    groups = store.con.execute(
        "SELECT peer_group, min(day), count(DISTINCT customer_id) FROM revisit_days "
        "WHERE employee_id = 'mv' GROUP BY ALL ORDER BY 2"
    ).fetchall()
    rows = store.con.execute(
        "SELECT points, reason FROM findings WHERE detector = 'relationship' AND employee_id = 'bo'"
    ).fetchall()
    store.close()
    (counter, _, there), (group, joined, here) = groups  # the move is in the history
    assert counter != group and joined == at(MOVED_ON, 0).date() and here < there
    ((points, reason),) = rows
    assert f"among {here} looked up" in reason, reason  # the line: theirs in the group
    assert points == 12.0  # a neighbour among so few strangers is no chance


def test_kin_only_listed_by_a_search_weigh_a_share_of_one_opened(tmp_path):
    """A name search lists the namesakes (or neighbours) of whoever it is for, all at
    once: three kin in one case-less search opened by nobody were three findings of up to
    12 points each (a benign alert of 59.3 on eu-telco/26301). Listed only, each weighs
    1/breadth of one opened; the one then viewed weighs in full, at the view."""
    c = company()
    c.event("bo", at(ACT, 15), "search", ["q0", "q1", "q2"], ["name"], app="ledger")
    with detect(c, tmp_path / "listed") as store:
        points = _points(store, "bo")
        reason = store.scalar(
            "SELECT reason FROM findings WHERE detector = 'relationship' AND customer_ids = ['q2']"
        )
    assert set(points) == {"q0", "q1", "q2"}
    assert max(points.values()) <= 12.0 / 3
    assert reason.startswith("listed a customer") and "only listed among 3" in reason
    viewed = c.event("bo", at(ACT, 15, 1), "view", ["q1"], ["name", "address"], app="ledger")
    with detect(c, tmp_path / "viewed") as store:
        points = _points(store, "bo")
        cited = store.scalar(
            "SELECT event_ids FROM findings WHERE detector = 'relationship' AND customer_ids = ['q1']"
        )
    assert points["q1"] == 12.0 and cited == [viewed]
    assert points["q0"] <= 12.0 / 3 and points["q2"] <= 12.0 / 3
