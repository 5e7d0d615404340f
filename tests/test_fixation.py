"""Returns to one customer with no case (``fixation``) and VIP look-ups judged against
what the peer group does (``vip``): each learned from the peers, never from the employee."""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

import duckdb
import pytest

from detect_scenarios import (
    ACT_DAY,
    AGENTS,
    INSIDER,
    at,
    base_company,
    detect,
    detected,
    scenario,
)
from insiderwatch.detect import DetectionConfig
from insiderwatch.detect.base import DETECTORS, execute
from insiderwatch.detect.detectors.fixation import _like_sql


def _findings(store, detector: str) -> list[dict]:
    cur = store.con.execute(
        "SELECT employee_id, time, points, reason, event_ids, customer_ids FROM findings "
        "WHERE detector = ? ORDER BY time",
        [detector],
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def _one_offs(c, per_day: int, prefix: str, employees=tuple(AGENTS[1:])) -> None:
    """``per_day`` case-less look-ups a day by each of ``employees``, each of a customer
    looked up never again: a group that comes back to nobody, with history enough to say
    so. Fixation judges a group that came back to no one at half a return over its
    look-ups at least: among the base company's hundred, one return is no rarity."""
    n = 0
    for day in range(1, ACT_DAY + 1):
        for e in employees:
            for k in range(per_day):
                cust = f"{prefix}{n:05d}"
                c.customers.append({"customer_id": cust, "surname": f"Once{n}",
                                    "postcode": "ON1 1CE"})  # fmt: skip
                c.event(e, at(day, 17, k), "view", [cust], ["name", "orders"])
                n += 1


def _base_without_returns():
    """The base company through the act's day, each agent's daily quick look-up with no
    case of a customer of its own: nobody comes back to anyone."""
    c = base_company(ACT_DAY)
    quick = [r for r in c.access if r["time"].hour == 16 and "case_id" not in r]
    for n, row in enumerate(quick):
        row["customer_ids"] = [f"q{n:04d}"]
        c.customers.append({"customer_id": f"q{n:04d}", "surname": f"Quick{n}",
                            "postcode": "QK1 1AA"})  # fmt: skip
    return c


def _fixation_with_history():
    """The fixation scenario, the other agents making ten more one-off look-ups a day."""
    c = scenario("fixation")
    _one_offs(c, 10, "h")
    return c


def test_fixation_cites_each_day_of_the_returns_and_fires_on_every_later_one(built_once):
    c = _fixation_with_history()
    store = detected(c, built_once)
    found = _findings(store, "fixation")
    store.close()
    # Days 2, 4, 6, 8 and 9: judged from day 8 (after the learning window), at the first
    # look-up of each customer on each day, at four then five separate days.
    assert [(f["time"], f["customer_ids"]) for f in found] == [
        (at(ACT_DAY - 1, 14), ["c260"]),
        (at(ACT_DAY - 1, 14, 5), ["c261"]),
        (at(ACT_DAY, 14), ["c260"]),
        (at(ACT_DAY, 14, 5), ["c261"]),
    ]
    # The second customer back that often is rarer still than the first.
    assert found[1]["points"] > found[0]["points"]
    days = {r["event_id"]: r["time"] for r in c.access if r["customer_ids"] == ["c261"]}
    assert sorted(days[e] for e in found[-1]["event_ids"]) == sorted(days.values())
    assert "on 5 separate days" in found[-1]["reason"]


def test_fixation_counts_lookups_the_allowance_explained(tmp_path: Path):
    """The others' dozen case-less look-ups a day make an allowance the insider's few
    stay within (the same kind of look-up as theirs, so the allowance covers it): the
    returns it explains still count."""
    c = scenario("fixation")
    for day in range(1, ACT_DAY + 1):  # never the same customer twice in the window
        for e in AGENTS[1:]:
            for k in range(12):
                c.event(e, at(day, 15, k), "view", [f"c{(day * 12 + k) % 150 + 3:03d}"],
                        ["name", "address", "phone"])  # fmt: skip
    store = detect(c, tmp_path)
    allowed = store.scalar(
        "SELECT count(*) FROM access_explained WHERE event_id IN (SELECT unnest(?)) "
        "AND starts_with(explanation, 'allowance')",
        [c.act],
    )
    flagged = {f["employee_id"] for f in _findings(store, "fixation")}
    store.close()
    assert allowed > 0
    assert flagged == {INSIDER}


def test_fixation_returns_that_are_the_peers_routine_raise_nothing(tmp_path: Path):
    """Where every agent comes back to a regular customer of their own every day with no
    case, two customers on five days are within what the peers' returns predict."""
    c = scenario("fixation")
    for day in range(1, ACT_DAY + 1):
        for i, e in enumerate(AGENTS):
            for k in range(2):  # two regulars each
                c.event(e, at(day, 13, k), "view", [f"c{300 + 2 * i + k:03d}"], ["name"])
    store = detect(c, tmp_path)
    assert _findings(store, "fixation") == []
    store.close()


def _desk(depth: int):
    """The fixation scenario, where every other agent also keeps three clients of their
    own, each looked up with no case on ``depth`` separate days of the first eight."""
    c = scenario("fixation")
    days = ([1, 3, 5, 7], [2, 4, 6, 8], [1, 4, 6, 7])
    for i, e in enumerate(AGENTS[1:], start=1):
        for j, when in enumerate(days):
            for day in when[:depth]:
                c.event(e, at(day, 12, j), "view", [f"c{300 + 3 * i + j:03d}"], ["name"])
    return c


def test_fixation_reads_how_deep_returns_go_from_all_the_peers_returns(tmp_path, built_once):
    """Nobody else came back to a customer on five days; but where the peers' clients come
    back on three days and often on a fourth, a fifth is what their returns' depth
    predicts, and the agent's two customers at five days raise nothing. Where the peers'
    returns stop at three days, five is still far beyond them."""
    shallow = detected(_desk(3), built_once)
    fired = {f["time"] for f in _findings(shallow, "fixation")}
    shallow.close()
    assert at(ACT_DAY, 14) in fired  # c260 on its fifth day
    deep = detect(_desk(4), tmp_path / "deep")
    assert _findings(deep, "fixation") == []
    deep.close()


def _once(c, employee: str, n: int, prefix: str) -> None:
    """``n`` case-less look-ups by ``employee`` on the days before the returns judged, each
    of a customer of its own, looked up once."""
    for k in range(n):
        cust = f"{prefix}{k:03d}"
        c.customers.append({"customer_id": cust, "surname": f"Once{k}", "postcode": "ON1 1CE"})
        c.event(employee, at(1 + k % (ACT_DAY - 2), 17, k % 60), "view", [cust], ["name"])


def _rate_per_lookup(tmp_path: Path, extra: int, counter: tuple[int, ...] = ()) -> float:
    """The rate per case-less look-up fixation judged the insider's first deep return
    by, when the insider also made ``extra`` one-off case-less look-ups on earlier days
    (and the other agents, in turn, ``counter`` each): the Poisson mean over the look-ups
    counted (both in its reason; one return, so the chance is 1 - exp(-mean))."""
    c = scenario("fixation")
    _once(c, INSIDER, extra, "x")
    for i, n in enumerate(counter, start=1):
        _once(c, AGENTS[i], n, f"p{i:02d}")
    # Only the day before the act's is read: detection never reads a later day, so the
    # company ends with it.
    c.access = [r for r in c.access if r["time"] < at(ACT_DAY, 0)]
    lenient = DetectionConfig(detectors={"fixation": {"max_chance": 0.5}})
    store = detect(c, tmp_path / f"{extra}-{len(counter)}", lenient)
    [first] = [f for f in _findings(store, "fixation") if f["time"] == at(ACT_DAY - 1, 14)]
    store.close()
    looks = int(
        re.search(r"over ([0-9,]+) case-less look-ups", first["reason"])[1].replace(",", "")
    )
    chance = float(re.search(r"\(chance ([0-9.e+-]+)\)$", first["reason"])[1])
    assert "1 customer(s) revisited" in first["reason"]
    mean = -math.log1p(-chance)
    # a prediction below one keeps its significant digits ("predicts 0.0" told nothing)
    predicted = float(re.search(r"predicts ([0-9.e+-]+) \(chance", first["reason"])[1])
    assert predicted == pytest.approx(mean, rel=0.1), first["reason"]
    return mean / looks


def test_fixation_leaves_the_employees_own_lookups_out_of_the_company_rate(tmp_path: Path):
    """Sixty more one-off look-ups of the insider's own raise how many returns their work
    should bring (more look-ups) but not the rate per look-up the peers set: the
    company's rate is the others' returns over the others' look-ups."""
    alone, busy = _rate_per_lookup(tmp_path, 0), _rate_per_lookup(tmp_path, 60)
    assert busy == pytest.approx(alone, rel=0.1)  # the chance is printed to two digits


def test_fixation_judges_a_busy_member_by_the_rate_at_their_volume(tmp_path: Path):
    """At a counter customers come back on their own, and meet the same member of staff
    again with that member's share of the counter's traffic: the member who serves as
    many strangers as the busiest colleague is judged by a rate per look-up raised by
    their volume over the peers' (weighed by look-ups), where a quiet member's is not.
    Padding beyond the busiest colleague's volume buys no more: the term is capped
    there."""
    counter = (60, 20, 20, 20)
    quiet = _rate_per_lookup(tmp_path, 0, counter)
    busy = _rate_per_lookup(tmp_path, 60, counter)
    padded = _rate_per_lookup(tmp_path, 180, counter)
    assert busy > 1.25 * quiet
    assert padded == pytest.approx(busy, rel=0.1)


def test_fixation_never_uses_a_later_lookup(tmp_path: Path):
    """Stopped just before the fourth day's look-up, nothing has fired; the finding that
    fires later is stamped with that look-up."""
    c = _fixation_with_history()
    from insiderwatch.detect import run_detection
    from insiderwatch.ingest import ingest_dataset
    from insiderwatch.privacy import HashKey
    from insiderwatch.store import Store
    from sample_data import KEY_HEX

    c.write(tmp_path / "dataset")
    key = HashKey(bytes.fromhex(KEY_HEX))
    store = Store(tmp_path / "iw.duckdb", threads=1)
    ingest_dataset(store, tmp_path / "dataset", key)
    run_detection(store, DetectionConfig(), key, until=at(ACT_DAY - 1, 13, 59))
    assert _findings(store, "fixation") == []
    run_detection(store, DetectionConfig(), key)
    assert _findings(store, "fixation")[0]["time"] == at(ACT_DAY - 1, 14)
    store.close()


def test_fixation_weighs_more_for_a_relative_and_for_contact_details(tmp_path: Path):
    def points(fields: list[str], customer: str) -> float:
        c = scenario("fixation")
        for row in c.access:
            if row["event_id"] in c.act:
                row["fields"] = fields
                if row["customer_ids"] == ["c261"]:
                    row["customer_ids"] = [customer]
        # The first finding (on the day before the act's) is the one weighed: detection
        # never reads a later day, so the company ends before the act's.
        c.access = [r for r in c.access if r["time"] < at(ACT_DAY, 0)]
        folder = tmp_path / f"{customer}-{len(fields)}"
        store = detect(c, folder)
        (first, *_) = [f for f in _findings(store, "fixation") if f["customer_ids"] == [customer]]
        store.close()
        return first["points"]

    plain = points(["name"], "c261")
    assert points(["name", "phone"], "c261") > plain
    c = base_company()
    related = next(r for r in c.customers if r["customer_id"] == "rel1")
    assert related["surname"] == "Agent0"  # the insider's surname and postcode
    assert points(["name"], "rel1") > plain


def _vip_desk(days: int = ACT_DAY):
    """The base company plus a desk of two relationship managers (a group of its own, too
    small to learn from alone) whose book is the VIPs: each looks up three a day."""
    c = scenario("vip")
    for i in range(2):
        c.employees.append({"employee_id": f"rm{i}", "surname": f"Manager{i}",
                            "role": "relationship_manager", "team": f"private-{i + 1}x",
                            "hired_on": "2020-01-01", "home_postcode": f"RM{i} 1AA"})  # fmt: skip
        for day in range(1, days + 1):
            for k in range(3):
                c.event(f"rm{i}", at(day, 10 + k), "view", [f"c00{k}"], ["name", "orders"])
    return c


def test_vip_lookups_of_a_desk_whose_book_is_vips_are_its_routine(tmp_path: Path):
    store = detect(_vip_desk(), tmp_path)
    found = _findings(store, "vip")
    store.close()
    # The desk's managers are two teams of one: each is judged by the other's days (its
    # role across teams), where three VIPs a day are every day's work.
    assert {f["employee_id"] for f in found} == {INSIDER}
    points = DetectionConfig().detector_config(DETECTORS.get("vip")()).points
    assert found[0]["points"] == points  # the agent's peers never look up a VIP


def test_vip_ignores_the_employees_own_earlier_days(tmp_path: Path):
    """An agent who looked up VIPs on every earlier day is still judged by the peers."""
    c = scenario("vip")
    for day in range(1, ACT_DAY):
        c.event(INSIDER, at(day, 12), "view", ["c002"], ["name"])
    store = detect(c, tmp_path)
    act = [f for f in _findings(store, "vip") if f["customer_ids"] == ["c001"]]
    store.close()
    points = DetectionConfig().detector_config(DETECTORS.get("vip")()).points
    assert [f["points"] for f in act] == [points]


def _alone_company(tellers: int = 4, app: str = "cube", fields: tuple = ("name", "address")):
    """The fixation scenario's agents, each also looking up a dozen customers a day with no
    case and never the same one twice (a rate of returns near none); a branch of four
    tellers who come back to thirty regulars each every day with no case (most of the
    company's returns); and a modeller, the only one of their group who ever looks a
    customer up, who does so in a tool of their own, the way the agents do in theirs, and
    comes back to one person on four days (in ``app``, opening ``fields``)."""
    c = base_company()
    for i in range(tellers):
        c.employees.append({"employee_id": f"t{i}", "surname": f"Teller{i}", "role": "teller",
                            "team": "branch-1", "hired_on": "2020-01-01",
                            "home_postcode": f"TL{i} 1AA"})  # fmt: skip
    for e, team in (("mod", "risk-1"), ("mod2", "risk-1")):
        c.employees.append({"employee_id": e, "surname": f"Model{e}", "role": "modeller",
                            "team": team, "hired_on": "2020-01-01", "home_postcode": "MD1 1AA"})  # fmt: skip
    for k in range(1500):
        c.customers.append({"customer_id": f"x{k:04d}", "surname": f"Other{k}", "postcode": "OT1 1AA"})  # fmt: skip
    for day in range(1, ACT_DAY + 1):
        for i, e in enumerate(AGENTS):
            for k in range(12):
                c.event(e, at(day, 15, k), "view", [f"x{(day * 12 + k) * 12 + i:04d}"],
                        ["name", "address"])  # fmt: skip
        for i in range(tellers):
            for k in range(30):
                c.event(f"t{i}", at(day, 10, k), "view", [f"c{200 + 30 * i + k:03d}"],
                        ["name", "orders"], app="till")  # fmt: skip
        for e in ("mod", "mod2"):  # the group's work: broad queries, never a look-up
            c.event(e, at(day, 9), "search", [f"c{k:03d}" for k in range(3, 103)], ["name"],
                    app="cube")  # fmt: skip
    for day in (ACT_DAY - 5, ACT_DAY - 3, ACT_DAY - 1, ACT_DAY):
        c.event("mod", at(day, 14), "view", ["c390"], list(fields), app=app, act=True)
    return c


def test_fixation_judges_someone_alone_in_their_group_by_those_who_look_up_alike(tmp_path: Path):
    """The modeller's group teaches nothing about returns (nobody else looks anyone up), and
    the company's rate is the tellers' regulars: judged by it, four days on one person
    look usual. The agents look customers up the same way (a view of name and address),
    and almost never come back: judged by them, it is rare. (Two tellers, too few keepers
    to be a book group: a book group's returns stay out of the company's rate anyway.)"""
    store = detect(_alone_company(tellers=2), tmp_path)
    found = [f for f in _findings(store, "fixation") if f["employee_id"] == "mod"]
    store.close()
    assert [f["customer_ids"] for f in found][-1:] == [["c390"]]
    assert found[-1]["time"] == at(ACT_DAY, 14)
    assert "pulled towards cs_agent" in found[-1]["reason"], found[-1]["reason"]


def test_fixation_judges_someone_alone_by_the_same_action_where_nobody_opens_their_fields(
    tmp_path: Path,
):
    """The modeller opens name, address and notes, a field set no other group shows: no
    group makes their kind of look-up, nor that action with those fields in any app. The
    company's rate is the tellers' regulars, by which four days on one person look usual;
    the agents, who view customers too and almost never come back, are the group whose
    look-ups theirs resemble, and by them the returns are rare. (Two tellers, as above.)"""
    c = _alone_company(tellers=2, fields=("name", "address", "notes"))
    store = detect(c, tmp_path)
    found = [f for f in _findings(store, "fixation") if f["employee_id"] == "mod"]
    store.close()
    assert [f["customer_ids"] for f in found][-1:] == [["c390"]]
    assert found[-1]["time"] == at(ACT_DAY, 14)
    assert "pulled towards cs_agent" in found[-1]["reason"], found[-1]["reason"]


def test_fixation_never_judges_someone_alone_by_a_book_groups_returns(tmp_path: Path):
    """The modeller looks c390 up in the tellers' till, opening what they open: the
    tellers look customers up exactly that way, but they are a book group (each comes
    back to thirty regulars of their own), and looking customers up alike gives nobody
    their clients. Nor do their returns set the company's rate (version 9), which is then
    the agents', who open the same fields in their own tool: four days on one person are
    rare among them."""
    store = detect(_alone_company(app="till", fields=("name", "orders")), tmp_path)
    found = [f for f in _findings(store, "fixation") if f["employee_id"] == "mod"]
    store.close()
    assert [f["customer_ids"] for f in found][-1:] == [["c390"]]
    assert found[-1]["time"] == at(ACT_DAY, 14)
    # No resembling group judged it (the reason would name it): the company's rate did.
    assert "pulled towards" not in found[-1]["reason"], found[-1]["reason"]


def test_fixation_never_judges_someone_alone_more_leniently_than_the_company(tmp_path: Path):
    """Two tellers (too few keepers to be a book group) who come back to their regulars
    every day resemble the modeller's look-ups in the till most; their rate is above the
    company's, which is then the one the modeller is judged by (a lenient max_chance
    keeps the finding, to read its reason)."""
    lenient = DetectionConfig(detectors={"fixation": {"max_chance": 0.9}})
    c = _alone_company(tellers=2, app="till", fields=("name", "orders"))
    store = detect(c, tmp_path, lenient)
    found = [f for f in _findings(store, "fixation") if f["employee_id"] == "mod"]
    store.close()
    assert found and found[-1]["time"] == at(ACT_DAY, 14)
    assert "pulled towards" not in found[-1]["reason"], found[-1]["reason"]


def _like(rows: list[tuple]) -> dict[str, str]:
    """The resembling group per employee, from allowance_kinds rows (employee, day of
    September 2026, peer group, kind, look-ups), judged on 20 September."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE allowance_kinds (employee_id VARCHAR, day DATE, kind VARCHAR, "
        "peer_group VARCHAR, role VARCHAR, lookups BIGINT)"
    )
    for emp, day, grp, kind, n in rows:
        con.execute(
            "INSERT INTO allowance_kinds VALUES (?, ?, ?, ?, NULL, ?)",
            [emp, dt.date(2026, 9, day), kind, grp, n],
        )
    sql = _like_sql(28, DetectionConfig().allowance.kind_min_staff, book_groups=False)
    return dict(execute(con, sql, {"day": dt.date(2026, 9, 20)}).fetchall())


def test_the_resembling_group_never_counts_the_employees_own_rows():
    kind = "crm view name,address"
    # Moved from "old" to "new" in the window: "old" has one other maker of the kind,
    # fewer than a kind needs; only the mover's own rows there made it look like two.
    moved = [("e", 2, "old", kind, 3), ("e", 12, "new", kind, 9), ("o1", 3, "old", kind, 4)]
    assert "e" not in _like(moved)
    # Nor is the mover matched to the group they are in now through their old rows.
    joined = [("e", 2, "old", kind, 3), ("e", 12, "new", kind, 9),
              ("n1", 3, "new", kind, 4), ("n2", 4, "new", kind, 4)]  # fmt: skip
    assert _like(joined).get("e") != "new"
    # Staff of another group making the kind are still found.
    other = [*moved, ("x1", 5, "third", kind, 2), ("x2", 6, "third", kind, 2)]
    assert _like(other)["e"] == "third"


def test_the_resembling_group_falls_back_to_the_same_action_last():
    """Where no other group makes the employee's kind of look-up, nor its action with its
    fields in any app, the group whose staff make the same action most is theirs; a group
    making the action with the same fields, or the very kind, always comes first."""
    odd, view = "hub view name,notes", "crm view name,address"
    rows = [("e", 2, "alone", odd, 4),
            ("a1", 3, "agents", view, 9), ("a2", 4, "agents", view, 9),
            ("a3", 5, "agents", view, 9),
            ("s1", 3, "search", "crm search name", 9), ("s2", 4, "search", "crm search name", 9),
            ("s3", 5, "search", "crm search name", 9)]  # fmt: skip
    assert _like(rows)["e"] == "agents"  # the same action; never the searchers
    fields = [*rows, ("f1", 6, "desk", "tool view name,notes", 1),
              ("f2", 7, "desk", "tool view name,notes", 1)]  # fmt: skip
    assert _like(fields)["e"] == "desk"  # the same action and fields, in another app
    exact = [*fields, ("k1", 6, "kin", odd, 1), ("k2", 7, "kin", odd, 1)]
    assert _like(exact)["e"] == "kin"  # the same kind
    assert "e" not in _like([r for r in rows if r[2] != "agents"])  # nobody views at all


def test_fixation_weighs_little_a_return_to_a_customer_of_ones_relationship_book(built_once):
    """In a desk where everyone keeps clients of their own (a book group), the agent's
    client on a fifth day is still deeper than the peers' returns go, but the relationship
    book explained it: the finding stays, below the points of any other return."""
    store = detected(_desk(3), built_once)
    [fifth] = [f for f in _findings(store, "fixation") if f["time"] == at(ACT_DAY, 14)]
    booked = store.scalar(
        "SELECT explanation FROM access_explained a JOIN access e USING (event_id) "
        "WHERE e.employee_id = ? AND e.time = ?",
        [INSIDER, at(ACT_DAY, 14)],
    )
    store.close()
    assert booked == "book:relationship"
    assert fifth["points"] < DetectionConfig().detector_config(DETECTORS.get("fixation")()).points
    assert "relationship book" in fifth["reason"]


BOOK_DAYS = 14
DEEP_CLIENT = "c330"


def _small_book_desk():
    """A desk where everyone keeps clients of their own, called with no case, over two
    weeks: each other agent two clients on three days and one on four, and a stranger a
    day once; the agent (a smaller book, called more often) sixteen clients, ten on
    three days, four on four and two on five (as deep as the peers' go, or a day more),
    and one client on every day from the second to the thirteenth, far deeper than any
    peer's. Far more of their customers reach three days than the peers' rate per look-up
    predicts."""
    c = base_company(BOOK_DAYS)
    days = ([1, 3, 5], [2, 4, 6], [1, 4, 6, 8])
    for i, e in enumerate(AGENTS[1:], start=1):
        for j, when in enumerate(days):
            for day in when:
                c.event(e, at(day, 12, j), "view", [f"c{200 + 3 * i + j:03d}"], ["name"])
        for day in range(1, BOOK_DAYS + 1):
            for k in range(1):  # a stranger, looked up once
                cust = f"o{i:02d}{day:02d}{k}"
                c.customers.append({"customer_id": cust, "surname": f"Once{cust}",
                                    "postcode": "ON1 1CE"})  # fmt: skip
                c.event(e, at(day, 13, k), "view", [cust], ["name"])
    for j in range(16):
        deeper = [13] * (j >= 10) + [14] * (j >= 14)
        for day in (2 + j % 3, 6 + j % 3, 10 + j % 2, *deeper):
            c.event(INSIDER, at(day, 14, j), "view", [f"c{300 + j:03d}"], ["name"])
    for day in range(2, 14):
        c.event(INSIDER, at(day, 15), "view", [DEEP_CLIENT], ["name"])
    return c


def test_fixation_judges_returns_to_ones_relationship_book_by_their_depth(tmp_path: Path):
    """How many of one's own clients come back on three days is the size of one's book,
    which varies between members of a desk: the agent's sixteen clients at three to five
    days, each in the relationship book, raise nothing (before version 8 each was a
    finding, judged against the peers' rate per look-up), those at four and five days
    judged by the share of the peers' returns that go that deep. Their depth is still
    judged: in this small book the client called on every day, far deeper than any peer's
    return, stays a finding, also once all sixteen came back (an expected count of every
    client come back to would call it usual)."""
    store = detect(_small_book_desk(), tmp_path)
    booked = store.scalar(
        "SELECT count(*) FROM access_explained a JOIN access e USING (event_id) "
        "WHERE e.employee_id = ? AND a.explanation = 'book:relationship'",
        [INSIDER],
    )
    found = [f for f in _findings(store, "fixation") if f["employee_id"] == INSIDER]
    store.close()
    assert booked >= 16  # the third day of each client, at least
    assert {c for f in found for c in f["customer_ids"]} == {DEEP_CLIENT}
    assert max(f["time"] for f in found) >= at(12, 0)  # after every client's last third day
    assert all("relationship book" in f["reason"] for f in found)


def _desk_and_snoop(tellers: int = 4):
    """The base company's agents, each with one quick look-up a day and no case, never of
    the same customer twice (their group comes back to nobody), beside a branch of
    ``tellers`` tellers who come back to thirty regulars each every day with no case (with
    four, a book group: most of the company's returns are their clients); an agent comes
    back to one stranger on three days. The other agents make ten more one-off look-ups a
    day: history enough to show their group comes back to no one."""
    c = _base_without_returns()
    _one_offs(c, 10, "h")
    for i in range(tellers):
        c.employees.append({"employee_id": f"t{i}", "surname": f"Teller{i}", "role": "teller",
                            "team": "branch-1", "hired_on": "2020-01-01",
                            "home_postcode": f"TL{i} 1AA"})  # fmt: skip
    for day in range(1, ACT_DAY + 1):
        for i in range(tellers):
            for k in range(30):
                c.event(f"t{i}", at(day, 10, k), "view", [f"c{200 + 30 * i + k:03d}"],
                        ["name", "orders"], app="till")  # fmt: skip
    for day in (ACT_DAY - 4, ACT_DAY - 2, ACT_DAY):
        c.event(INSIDER, at(day, 14), "view", ["c340"], ["name", "address"], act=True)
    return c


def test_fixation_judges_returns_outside_a_desk_without_the_desks_clients(tmp_path: Path):
    """The company's returns are the branch's regulars, which its relationship books
    explain: by that rate three days on one stranger look usual for an agent, whose own
    group makes too few case-less look-ups to outweigh it (before version 9 nothing fired).
    Without the book groups' returns, the company's rate is the agents', and the snoop's
    third day is rare; the tellers' returns to their own regulars, as deep as each
    other's, still raise nothing."""
    store = detect(_desk_and_snoop(), tmp_path)
    booked = store.scalar(
        "SELECT count(*) FROM access_explained WHERE explanation = 'book:relationship'"
    )
    found = _findings(store, "fixation")
    store.close()
    assert booked > 0  # the branch works from books
    assert [(f["employee_id"], f["customer_ids"]) for f in found] == [(INSIDER, ["c340"])]
    assert found[0]["time"] == at(ACT_DAY, 14)


BUSY = AGENTS[1]  # comes back to a stranger too, among a colleague's many look-ups


def _quiet_counter_and_a_sync_job():
    """The base company's agents, each making 25 case-less look-ups a day besides their
    cases, never of the same customer twice (the group comes back to nobody), and a sync
    job that reads the same 100 customers in every hour of every day with no case (a
    machine: the routine learns it after its first week, and its earlier look-ups stay
    in the window). On the act's day two agents reach a third day on one stranger each:
    the insider, whose only other case-less look-ups are one a day, and a busy colleague
    among their 200-odd."""
    c = _base_without_returns()
    _one_offs(c, 25, "h")
    for day in range(1, ACT_DAY + 1):
        for hour in range(24):
            for k in range(100 // 24 + 1):
                c.event("sync", at(day, hour, k), "view", [f"s{(24 * k + hour) % 100:03d}"],
                        ["name", "orders"], app="billing-sync")  # fmt: skip
    c.customers += [{"customer_id": f"s{i:03d}", "surname": f"Synced{i}", "postcode": "SY1 1AA"}
                    for i in range(100)]  # fmt: skip
    c.employees.append({"employee_id": "sync", "surname": "", "role": "integration",
                        "team": "it", "hired_on": "2020-01-01", "home_postcode": ""})  # fmt: skip
    for who, cust, minute in ((INSIDER, "c340", 0), (BUSY, "c341", 30)):
        for day in (ACT_DAY - 4, ACT_DAY - 2, ACT_DAY):
            c.event(who, at(day, 14, minute), "view", [cust], ["name", "address"],
                    act=who == INSIDER)  # fmt: skip
    return c


def test_fixation_leaves_the_service_accounts_out_of_the_company_rate(built_once):
    """The sync job made nearly every case-less look-up of the window and every return:
    counted, its rate (a hundred customers on every day) made the insider's third day on
    one stranger look usual. The service accounts the day's routine knows are left out of
    the company's rate, their returns and their look-ups."""
    store = detected(_quiet_counter_and_a_sync_job(), built_once)
    machines = store.scalar(
        "SELECT list(DISTINCT grp) FROM routine_flows WHERE machine AND day = ?",
        [at(ACT_DAY, 0).date()],
    )
    found = [f for f in _findings(store, "fixation") if f["employee_id"] == INSIDER]
    store.close()
    assert machines == ["self:sync"]
    assert [(f["time"], f["customer_ids"]) for f in found] == [(at(ACT_DAY, 14), ["c340"])]


def test_fixation_never_judges_a_group_that_came_back_to_no_one_as_never_returning(built_once):
    """The agents came back to no one in some 2,000 case-less look-ups: that says their
    rate is below about one in 2,000, not that it is nil. Judged at half a return in
    them, the busy colleague's one third day among 200-odd look-ups is no rarity (chance
    about 0.04), while the insider's among a dozen still is; judged at the company's rate
    over one typical colleague's look-ups, both fired."""
    store = detected(_quiet_counter_and_a_sync_job(), built_once)
    found = _findings(store, "fixation")
    store.close()
    assert {(f["employee_id"], *f["customer_ids"]) for f in found} == {(INSIDER, "c340")}
