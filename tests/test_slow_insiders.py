"""The detectors for insiders who know the rules: look-ups judged against the peers'
pace per unit of work, colleagues linked by the list that left, and copies made of
one's own case-less look-ups."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from detect_scenarios import (
    ACT_DAY,
    AGENTS,
    INSIDER,
    OWN_LOOKED,
    at,
    base_company,
    continued,
    detect,
    scenario,
)
from insiderwatch.detect import DetectionConfig, run_detection
from insiderwatch.detect.detectors.own_copies import Config as OwnCopiesConfig
from insiderwatch.detect.history import read_findings
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from sample_data import KEY_HEX


def _findings(store, detector: str) -> list[tuple[str, list[str]]]:
    return store.con.execute(
        "SELECT employee_id, event_ids FROM findings WHERE detector = ? ORDER BY time", [detector]
    ).fetchall()


def test_lookup_pace_weighs_lookups_against_the_work_they_come_with(tmp_path: Path):
    """Two agents make the same extra case-less look-ups for a week: the one who also
    works twice the cases of everyone else is at the peers' pace, the other is not."""
    c = base_company(days=ACT_DAY)
    busy, harvester = AGENTS[1], INSIDER
    n = 0
    for day in range(ACT_DAY - 6, ACT_DAY + 1):
        for k in range(4):
            n += 1
            for who in (busy, harvester):
                c.event(who, at(day, 11, k, 30 if who == busy else 0), "view",
                        [f"c{200 + n:03d}"], ["name", "address"])  # fmt: skip
    for day in range(1, ACT_DAY + 1):  # the busy agent's double share of case work
        for k in range(30):
            case_id = f"busy-{day}-{k}"
            cust = f"c{3 + k:03d}"
            c.cases.append({"case_id": case_id, "customer_id": cust, "employee_id": busy,
                            "opened_at": at(day, 8, k), "closed_at": at(day, 8, k + 20)})  # fmt: skip
            c.event(busy, at(day, 8, k, 30), "view", [cust], ["name"], case_id=case_id)
    store = detect(c, tmp_path)
    flagged = {emp for emp, _ in _findings(store, "lookup_pace")}
    store.close()
    assert flagged == {harvester}


def _light_fortnight(extra_lookups: int):
    """Every agent answers two quick case-less questions a day; one agent has a light
    fortnight (cases on one day only) and looks ``extra_lookups`` more customers up
    each day of the last week."""
    c = base_company(days=ACT_DAY)
    light = AGENTS[1]
    c.access = [r for r in c.access if r["employee_id"] != light or not r.get("case_id")
                or r["time"].day == 2]  # fmt: skip
    for day in range(1, ACT_DAY + 1):
        for i, who in enumerate(AGENTS):
            c.event(who, at(day, 15, i), "view", [f"c{350 + (day * 7 + i) % 50:03d}"],
                    ["name", "orders"])  # fmt: skip
    for day in range(ACT_DAY - 6, ACT_DAY + 1):
        for k in range(extra_lookups):
            c.event(light, at(day, 11, k), "view", [f"c{200 + 4 * (day - 3) + k:03d}"],
                    ["name", "address"])  # fmt: skip
    return c, light


def test_lookup_pace_judges_a_light_workload_by_the_groups_usual_day(tmp_path: Path):
    """The peers' pace per access was learned on their usual workloads: an agent with
    almost no case work for a fortnight, who asks the same two quick questions a day as
    everyone, is not a harvester (lookup_pace version 2 flagged them: their ordinary
    look-ups over a handful of accesses passed the line). The same agent adding four
    look-ups a day of their own still is."""
    c, light = _light_fortnight(extra_lookups=0)
    store = detect(c, tmp_path / "usual")
    assert {emp for emp, _ in _findings(store, "lookup_pace")} == set()
    store.close()
    c, light = _light_fortnight(extra_lookups=4)
    store = detect(c, tmp_path / "harvest")
    assert {emp for emp, _ in _findings(store, "lookup_pace")} == {light}
    # the reason gives the work the prediction was made for: the group's usual day's,
    # more than the agent's own accesses
    reason = store.scalar("SELECT min(reason) FROM findings WHERE detector = 'lookup_pace'")
    store.close()
    own, judged = re.search(r"over ([\d,]+) accesses,.* for ([\d,]+) accesses", reason).groups()
    assert int(judged.replace(",", "")) > int(own.replace(",", ""))


def _searched_then_viewed(c, who: str, day: int, k: int, searched: str, viewed: str) -> None:
    c.event(who, at(day, 11, 2 * k), "search", [searched], ["name"])
    c.event(who, at(day, 11, 2 * k + 1), "view", [viewed], ["name", "phone"])


def test_lookup_pace_weighs_records_opened_with_no_search_against_the_peers_habit(
    tmp_path: Path,
):
    """For a week every agent searches four callers a day by name and opens their
    records, with no case: the same number of case-less look-ups each. The insider's
    searches find one set of customers while the records opened are others that no search
    found (ids from a list): the pace of look-ups is the peers', the pace of unsought
    ones is not. Where the peers open unsought records as often, nobody is flagged."""

    def company(peers_unsought: bool):
        c = base_company(days=ACT_DAY)
        n = 0
        for day in range(ACT_DAY - 6, ACT_DAY + 1):
            for k in range(4):
                n += 1
                for i, who in enumerate(AGENTS):
                    searched = f"c{200 + (n + 28 * i) % 150:03d}"
                    viewed = f"c{200 + (n + 28 * i + 75) % 150:03d}"
                    unsought = who == INSIDER or peers_unsought
                    _searched_then_viewed(c, who, day, k, searched,
                                          viewed if unsought else searched)  # fmt: skip
        return c

    store = detect(company(peers_unsought=False), tmp_path / "alone")
    found = _findings(store, "lookup_pace")
    reasons = store.con.execute(
        "SELECT reason FROM findings WHERE detector = 'lookup_pace'"
    ).fetchall()
    store.close()
    assert {emp for emp, _ in found} == {INSIDER}
    assert all("no search of theirs had found" in r for (r,) in reasons)
    store = detect(company(peers_unsought=True), tmp_path / "usual")
    assert _findings(store, "lookup_pace") == []
    store.close()


def test_whether_a_record_was_sought_never_depends_on_what_the_day_brings_later(built_once):
    """A search just before midnight and the record opened just after: whether the
    employee sends something out later that day (which keeps the day before's rows in the
    step for them) must not change whether that opening counts as unsought, or a live step
    before the export and a replay of the day would disagree."""

    def unsought(export_later: bool) -> int:
        c = base_company(days=ACT_DAY)
        c.event(INSIDER, at(ACT_DAY - 1, 23, 58), "search", ["c201"], ["name"])
        c.event(INSIDER, at(ACT_DAY, 0, 5), "view", ["c201"], ["name", "phone"])
        if export_later:
            c.event(INSIDER, at(ACT_DAY, 15), "export", ["c202"], ["name"],
                    destination="local", record_count=1)  # fmt: skip
        store = continued(c, built_once)
        value = store.scalar(
            "SELECT unsought FROM allowance_days WHERE employee_id = ? AND day = ?",
            [INSIDER, at(ACT_DAY, 0).date()],
        )
        store.close()
        return value

    quiet = unsought(False)
    assert quiet >= 1  # the day's first opening had no search of that day before it
    assert unsought(True) == quiet


def test_shared_harvest_needs_lookups_without_a_case(tmp_path: Path):
    """The same customers looked up under the colleague's own cases link nobody."""
    c = scenario("shared_harvest")
    looked = [r for r in c.access if r["employee_id"] == INSIDER and r["event_id"] in c.act]
    for k, row in enumerate(looked):
        case_id = f"own-{k}"
        c.cases.append({"case_id": case_id, "customer_id": row["customer_ids"][0],
                        "employee_id": INSIDER, "opened_at": row["time"],
                        "closed_at": row["time"] + (at(1, 1) - at(1, 0))})  # fmt: skip
        row["case_id"] = case_id
    store = detect(c, tmp_path)
    assert _findings(store, "shared_harvest") == []
    store.close()


def test_shared_harvest_cites_the_lookups_and_the_list_that_left(built_once):
    c = scenario("shared_harvest")
    store = continued(c, built_once)
    [(emp, events)] = _findings(store, "shared_harvest")
    store.close()
    sent = next(r["event_id"] for r in c.access if r["action"] == "copy")
    looked = {
        r["event_id"] for r in c.access if r["employee_id"] == INSIDER and r["event_id"] in c.act
    }
    assert emp == INSIDER
    assert set(events) == looked | {sent}


def test_shared_harvest_discounts_what_chance_gives_for_a_list_of_most_customers(built_once):
    """A copy holding most customers holds most of anyone's look-ups: no link."""
    c = scenario("shared_harvest")
    copy = next(r for r in c.access if r["action"] == "copy")
    copy["customer_ids"] = sorted({*copy["customer_ids"], *(f"c{k:03d}" for k in range(3, 350))})
    store = continued(c, built_once)
    assert _findings(store, "shared_harvest") == []
    store.close()


def test_own_copies_weighs_a_copy_of_own_lookups_by_how_rare_it_is_among_peers(
    tmp_path: Path, built_once
):
    """The same copy of the insider's own case-less look-ups is a finding where no peer
    copies as many of theirs, and none where every peer does so every day."""
    alone = continued(scenario("own_copies"), built_once)
    [(emp, events)] = _findings(alone, "own_copies")
    alone.close()
    assert emp == INSIDER
    c = scenario("own_copies")
    for day in range(1, ACT_DAY):
        for i, who in enumerate(AGENTS[1:]):
            mine = [f"c{300 + (8 * (day + i) + k) % 50:03d}" for k in range(len(OWN_LOOKED))]
            for k, cust in enumerate(mine):
                c.event(who, at(day, 12, k), "view", [cust], ["name", "phone"])
            c.event(who, at(day, 12, 10), "copy", mine, ["name", "phone"], destination="local")
    store = detect(c, tmp_path / "usual")
    assert _findings(store, "own_copies") == []
    store.close()


def _in_role(c, role: str, *employees: str):
    """The employees given (by default the insider) moved into ``role``: a peer group of
    their own (the insider alone: the team's only queue manager)."""
    for row in c.employees:
        if row["employee_id"] in (employees or (INSIDER,)):
            row["role"] = role
    return c


def _copies_own_lookups(c, who: str, day: int, customers: list[str], minute: int = 0):
    """``who`` looks each of ``customers`` up with no case that day, then copies them."""
    for k, cust in enumerate(customers):
        c.event(who, at(day, 12, minute + k), "view", [cust], ["name", "phone"])
    c.event(who, at(day, 12, minute + 20), "copy", customers, ["name", "phone"],
            destination="local")  # fmt: skip


def _everyone_copies_daily(c, staff: list[str]):
    for day in range(1, ACT_DAY):
        for i, who in enumerate(staff):
            mine = [f"c{300 + (8 * (day + i) + k) % 50:03d}" for k in range(len(OWN_LOOKED))]
            _copies_own_lookups(c, who, day, mine)


def test_own_copies_leaves_the_employees_own_days_out_of_the_peers(tmp_path: Path):
    """The insider's own earlier copies (three of their eight days) are not the peer
    group's or the company's: the copy is still one nobody else makes, weighing in full."""
    c = scenario("own_copies")
    for day in (3, 5, 7):
        _copies_own_lookups(c, INSIDER, day, [f"c{210 + 8 * day + k:03d}" for k in range(8)])
    store = detect(c, tmp_path)
    rows = store.con.execute(
        "SELECT employee_id, severity, reason FROM findings WHERE detector = 'own_copies'"
        " AND time >= ?",
        [at(ACT_DAY, 0)],
    ).fetchall()
    store.close()
    [(emp, severity, reason)] = rows
    assert (emp, severity) == (INSIDER, "medium")
    assert "other staff did so on 0 of 88 earlier days, the company's on 0 of 88" in reason


def test_own_copies_judges_someone_alone_in_their_group_by_the_company(tmp_path: Path):
    """A peer group of one has no colleague's days to learn from (version 3 judged nobody
    there): the employee's own earlier days stand in for the group's, pulled towards the
    company's share, so the lone queue manager's copy of their own look-ups, which no one
    in the company makes and they made once before, is a finding, and is none where
    every other employee copies as many of theirs each day."""
    c = _in_role(scenario("own_copies"), "queue_manager")
    _copies_own_lookups(c, INSIDER, 4, [f"c{220 + k:03d}" for k in range(8)])
    alone = detect(c, tmp_path / "alone")
    found = _findings(alone, "own_copies")
    reason = alone.con.execute(
        "SELECT reason FROM findings WHERE detector = 'own_copies' AND time >= ?",
        [at(ACT_DAY, 0)],
    ).fetchall()
    alone.close()
    assert {emp for emp, _ in found} == {INSIDER}
    assert (
        "the peer group's other staff did so on 0 of 0 earlier days, the employee on 1 of 8"
        " of theirs, the company's on 0 of 88"
    ) in reason[0][0]
    c = _in_role(scenario("own_copies"), "queue_manager")
    _everyone_copies_daily(c, AGENTS[1:])
    usual = detect(c, tmp_path / "usual")
    assert _findings(usual, "own_copies") == []
    usual.close()


def test_own_copies_learns_a_lone_employees_daily_copies_as_their_routine(tmp_path: Path):
    """The team's only queue manager copies the four customers they looked up to a local
    file every day: with no colleague to learn from, their own earlier days show it is
    their routine (version 4 flagged every day's copy: the group had no days, and the
    company nobody copying)."""
    c = _in_role(base_company(days=ACT_DAY), "queue_manager")
    for day in range(1, ACT_DAY + 1):
        _copies_own_lookups(c, INSIDER, day, [f"c{200 + 4 * day + k:03d}" for k in range(4)])
    store = detect(c, tmp_path)
    copied = store.scalar(
        "SELECT count(*) FROM own_copy_days WHERE employee_id = ? AND fresh = 4", [INSIDER]
    )
    found = _findings(store, "own_copies")
    store.close()
    assert copied == ACT_DAY
    assert found == []


def _own_copy_reasons(store) -> list[tuple[str, str]]:
    return store.con.execute(
        "SELECT employee_id, reason FROM findings WHERE detector = 'own_copies' ORDER BY time"
    ).fetchall()


def test_own_copies_never_counts_a_copy_of_the_day_as_an_earlier_day(tmp_path: Path):
    """A live day cut into steps: a colleague's copy of their own look-ups arrives in the
    day's first step, which records it among the copies; the lone queue manager's copy
    arrives in a later step, scoped to them, where the colleague's record of the day is
    kept. The day's copies are not earlier days (a filter on the day itself counted the
    colleague's, and the manager's copy no longer looked rare enough to fire): the
    findings equal one replay of the day's events."""
    c = _in_role(scenario("own_copies"), "queue_manager")
    _copies_own_lookups(c, INSIDER, 4, [f"c{220 + k:03d}" for k in range(8)])
    # Copies of four: lists too short for shared_harvest to bring the colleague into the
    # afternoon step's scope (their record of the day stays as the morning wrote it).
    next(r for r in c.access if r["event_id"] in c.act and r["action"] == "copy")[
        "customer_ids"
    ] = OWN_LOOKED[4:]
    _copies_own_lookups(c, AGENTS[1], ACT_DAY, [f"c{300 + k:03d}" for k in range(4)])
    noon = at(ACT_DAY, 13)
    dataset = c.write(tmp_path / "dataset")
    key = HashKey(bytes.fromhex(KEY_HEX))
    live = Store(tmp_path / "live.duckdb", threads=1)
    for piece, rows in (
        ("context", []),
        ("morning", [r for r in c.access if r["time"] < noon]),
        ("afternoon", [r for r in c.access if r["time"] >= noon]),
    ):
        folder = tmp_path / piece
        folder.mkdir()
        for path in dataset.iterdir():
            if path.name != "access.jsonl":
                (folder / path.name).write_bytes(path.read_bytes())
        with (folder / "access.jsonl").open("w") as fh:
            for row in rows:
                fh.write(json.dumps(row, default=lambda v: v.isoformat()) + "\n")
        ingest_dataset(live, folder, key)
        if rows:
            step = run_detection(live, DetectionConfig(), key)
    assert step.rewound is None and step.employees == 1  # the afternoon: the insider alone
    found = [f for f in read_findings(live.con) if f.detector == "own_copies"]
    live.close()
    once = detect(c, tmp_path / "once")
    expected = [f for f in read_findings(once.con) if f.detector == "own_copies"]
    once.close()
    assert [f.employee_id for f in expected] == [AGENTS[1], INSIDER]  # the colleague's too
    assert "the employee on 1 of 8 of theirs, the company's on 0 of 88" in expected[1].reason
    assert found == expected


def test_own_copies_uses_own_days_while_the_colleagues_have_too_few(tmp_path: Path):
    """The insider shares the queue-manager role with one colleague who has twelve days
    that could carry such a copy, the insider (who started later) eight: together twenty,
    the colleague's alone fewer than ``min_peer_days``. The insider's own days stand in
    with the colleague's, as they do for someone alone in their group."""
    last = ACT_DAY + 3
    c = _in_role(base_company(days=last), "queue_manager", INSIDER, AGENTS[1])
    _copies_own_lookups(c, INSIDER, last + 1, OWN_LOOKED)
    # the insider's first four days left out (after the last event id is drawn)
    c.access = [r for r in c.access if r["employee_id"] != INSIDER or r["time"] >= at(5, 0)]
    store = detect(c, tmp_path)
    found = _own_copy_reasons(store)
    store.close()
    [(emp, reason)] = found
    assert emp == INSIDER
    assert (
        "the peer group's other staff did so on 0 of 12 earlier days, the employee on 0 of 8"
        " of theirs"
    ) in reason


def _case_workers(c, count: int) -> list[str]:
    """``count`` claims handlers who only ever open customers under their own cases."""
    staff = [f"h{i:02d}" for i in range(count)]
    for i, who in enumerate(staff):
        c.employees.append({"employee_id": who, "surname": f"Handler{i}",
                            "role": "claims_handler", "team": "claims", "hired_on": "2020-01-01",
                            "home_postcode": f"HH{i} 1AA"})  # fmt: skip
        for day in range(1, ACT_DAY + 1):
            case_id = f"h-{who}-{day}"
            cust = f"c{3 + (i + day) % 190:03d}"
            c.cases.append({"case_id": case_id, "customer_id": cust, "employee_id": who,
                            "opened_at": at(day, 9), "closed_at": at(day, 17)})  # fmt: skip
            c.event(who, at(day, 10, i % 60), "view", [cust], ["name", "address"],
                    case_id=case_id)  # fmt: skip
    return staff


def test_own_copies_counts_only_the_days_that_could_carry_such_a_copy(tmp_path: Path):
    """The agents copy as many of their own case-less look-ups on ten of their 88 days:
    not rare. Forty claims handlers who only work under cases could never make such a copy;
    their days do not make the lone queue manager's copy look rarer than it is (version 4
    counted every other employee-day and flagged it)."""
    c = _in_role(scenario("own_copies"), "queue_manager")
    for n in range(10):
        who, day = AGENTS[1 + n], 1 + n % (ACT_DAY - 1)
        _copies_own_lookups(c, who, day, [f"c{300 + 4 * n + k:03d}" for k in range(8)], 30)
    _case_workers(c, 40)
    store = detect(c, tmp_path)
    days = store.scalar("SELECT count(*) FROM employee_days WHERE role = 'claims_handler'")
    found = [emp for emp, _ in _findings(store, "own_copies")]
    store.close()
    assert days == 40 * ACT_DAY
    assert INSIDER not in found


def test_own_copies_weighs_a_groups_days_more_the_more_it_has(tmp_path: Path):
    """The same copy in a company where the agents copy as many of their own look-ups on
    six of their days: the more days the insider's peer group has in which nobody did,
    the less the company's share counts, and the rarer (heavier) the copy; the points
    follow the shrunk share the reason's counts give."""
    points = {}
    for size in (2, 6):
        c = _in_role(scenario("own_copies"), "queue_manager", *AGENTS[:size])
        for n in range(6):
            who = AGENTS[6 + n]
            _copies_own_lookups(c, who, 2 + n, [f"c{300 + 4 * n + k:03d}" for k in range(8)], 30)
        store = detect(c, tmp_path / str(size))
        [(pts, reason)] = store.con.execute(
            "SELECT points, reason FROM findings WHERE detector = 'own_copies' AND employee_id = ?",
            [INSIDER],
        ).fetchall()
        store.close()
        counts = re.search(
            r"other staff did so on (\d+) of (\d+) earlier days"
            r"(?:, the employee on (\d+) of (\d+) of theirs)?, the company's on (\d+) of (\d+)",
            reason,
        )
        k, n, own_k, own_n, all_k, all_n = (int(g or 0) for g in counts.groups())
        assert (k, n, all_k, all_n) == (0, 8 * (size - 1), 6, 88)
        assert (own_k, own_n) == ((0, 8) if size == 2 else (0, 0))
        tail = (k + own_k + 20 * (all_k + 1) / (all_n + 1)) / (n + own_n + 20)
        full = OwnCopiesConfig().points
        assert pts == pytest.approx(full * min(1.0, math.log(tail) / math.log(0.01)))
        points[size] = pts
    assert points[6] > points[2]


def _alerts(store) -> list[tuple[str, list[str]]]:
    """Each alert's employee and the detectors of its last line."""
    return store.con.execute(
        "SELECT employee_id, arg_max(detectors, revision) FROM alerts GROUP BY alert_id, employee_id"
    ).fetchall()


def test_own_copies_in_full_opens_an_alert_alone(built_once):
    """A copy made only of the employee's own case-less look-ups, which no one in the
    company makes, is the harvest leaving: it opens an alert with no other finding (volume
    and sustained, which count the same look-ups, switched off), where version 5's 20
    points stayed under the line. The same copy with a third of its customers nobody
    looked up weighs a third less and opens none alone."""
    quiet = DetectionConfig(disabled=["volume", "sustained", "unusual_fields"])
    store = continued(scenario("own_copies"), built_once, quiet)
    assert _alerts(store) == [(INSIDER, ["own_copies"])]
    store.close()
    c = scenario("own_copies")
    copy = next(r for r in c.access if r["action"] == "copy")
    copy["customer_ids"] = sorted({*OWN_LOOKED, *(f"c{k:03d}" for k in range(100, 104))})
    store = continued(c, built_once, quiet)
    assert [emp for emp, _ in _findings(store, "own_copies")] == [INSIDER]
    assert _alerts(store) == []
    store.close()


def test_own_copies_needs_a_positive_prior():
    from insiderwatch.detect.config import ConfigError
    from insiderwatch.detect.detectors.own_copies import OwnCopies

    with pytest.raises(ConfigError):
        DetectionConfig(detectors={"own_copies": {"prior_days": 0}}).detector_config(OwnCopies)


def test_own_copies_needs_the_action_to_be_mostly_own_lookups(built_once):
    """Eight looked-up customers inside a copy of thirty are not what the copy is made of."""
    c = scenario("own_copies")
    copy = next(r for r in c.access if r["action"] == "copy")
    copy["customer_ids"] = sorted({*OWN_LOOKED, *(f"c{k:03d}" for k in range(100, 122))})
    store = continued(c, built_once)
    assert _findings(store, "own_copies") == []
    store.close()


def test_own_copies_cites_the_lookups_and_the_copy(built_once):
    c = scenario("own_copies")
    store = continued(c, built_once)
    [(_, events)] = _findings(store, "own_copies")
    store.close()
    assert set(events) == set(c.act)


def test_own_copies_judges_a_list_sent_again_as_the_same_copy(built_once):
    """The same list copied again the same day is no new copy; the next day's copy of it
    with three new look-ups is one, counted by what it adds and citing both before it."""
    c = scenario("own_copies")
    first = next(r["event_id"] for r in c.access if r["action"] == "copy")
    again = c.event(INSIDER, at(ACT_DAY, 16), "copy", OWN_LOOKED, ["name", "phone"],
                    destination="local")  # fmt: skip
    new = [f"c{210 + k:03d}" for k in range(3)]
    for k, cust in enumerate(new):
        c.event(INSIDER, at(ACT_DAY + 1, 10, k), "view", [cust], ["name", "phone"])
    more = c.event(INSIDER, at(ACT_DAY + 1, 11), "copy", [*OWN_LOOKED, *new], ["name", "phone"],
                   destination="local")  # fmt: skip
    store = continued(c, built_once)
    found = store.con.execute(
        "SELECT event_ids, reason FROM findings WHERE detector = 'own_copies' ORDER BY time"
    ).fetchall()
    store.close()
    assert len(found) == 2
    (events_1, _), (events_2, reason_2) = found
    assert first in events_1 and again not in events_1 and more not in events_1
    assert {more, first, again} <= set(events_2)
    assert "3 of those sent out for the first time" in reason_2


def test_own_copies_counts_a_peers_list_sent_daily_as_one_copy(tmp_path: Path):
    """Two peers look up a list once and send the same list every day: one copy each,
    not one a day, so the insider's copy stays rare among the group's days."""
    c = scenario("own_copies")
    for i, who in enumerate(AGENTS[1:3]):
        mine = [f"c{300 + 10 * i + k:03d}" for k in range(len(OWN_LOOKED))]
        for k, cust in enumerate(mine):
            c.event(who, at(1, 12, k), "view", [cust], ["name", "phone"])
        for day in range(1, ACT_DAY):
            c.event(who, at(day, 12, 30), "copy", mine, ["name", "phone"], destination="local")
    store = detect(c, tmp_path)
    assert [emp for emp, _ in _findings(store, "own_copies")] == [INSIDER]
    recorded = store.con.execute(
        "SELECT count(*) FILTER (WHERE fresh > 0), count(*) FROM own_copy_days "
        "WHERE employee_id <> ?",
        [INSIDER],
    ).fetchall()[0]
    store.close()
    assert recorded == (2, 2 * (ACT_DAY - 1))  # every copy recorded, the first one fresh


def _copied_days(store) -> list[tuple]:
    return store.con.execute(
        "SELECT employee_id, day, event_id, covered FROM own_copy_days ORDER BY ALL"
    ).fetchall()


def test_own_copies_history_follows_a_changed_window(tmp_path: Path):
    """Peers copy what they looked up two days before; with a one-day window that is no
    copy of their look-ups. Changing the window rebuilds the recorded history of every
    day, not only of the days after the last run: it equals a store that always had it."""
    c = scenario("own_copies")
    for i, who in enumerate(AGENTS[1:4]):
        for day in range(3, ACT_DAY):
            mine = [f"c{300 + 10 * i + k:03d}" for k in range(4)]
            for k, cust in enumerate(mine):
                c.event(who, at(day - 2, 12, k), "view", [cust], ["name", "phone"])
            c.event(who, at(day, 12, 30), "copy", mine, ["name", "phone"], destination="local")
    narrow = DetectionConfig(detectors={"own_copies": {"window_days": 1}})
    store = detect(c, tmp_path / "changed")
    wide = _copied_days(store)
    run_detection(store, narrow, HashKey(bytes.fromhex(KEY_HEX)))
    changed = _copied_days(store)
    store.close()
    always = detect(c, tmp_path / "always", narrow)
    expected = _copied_days(always)
    always.close()
    assert changed == expected
    assert wide != expected  # the window does shape the history


def _searches_under_cover(with_case_customer: bool):
    """The case_mismatch scenario's three look-ups made as name searches under the
    colleague's case, each listing three customers; with or without the case's own."""
    c = scenario("case_mismatch")
    for row in c.access:
        if row["event_id"] in c.act:
            k = int(row["customer_ids"][0][1:]) - 200
            listed = [f"c{210 + 3 * k + j:03d}" for j in range(3)]
            row["action"] = "search"
            row["customer_ids"] = ["c150", *listed[1:]] if with_case_customer else listed
    return c


def test_case_mismatch_counts_searches_that_find_nobody_of_the_case(built_once):
    """Searches under a real, open case that list none of the case's customers are the
    same false reason as views; a name search that lists the case's customer among
    namesakes is the case's work."""
    c = _searches_under_cover(with_case_customer=False)
    store = continued(c, built_once)
    rows = _findings(store, "case_mismatch")
    store.close()
    assert {emp for emp, _ in rows} == {INSIDER}
    # The first search's three customers pass the floor of two; the nine of all three
    # pass it twice and four times over, further findings citing the searches up to each.
    assert [events for _, events in rows] == [c.act[:1], c.act[:2], c.act[:3]]
    store = continued(_searches_under_cover(with_case_customer=True), built_once)
    assert _findings(store, "case_mismatch") == []
    store.close()
