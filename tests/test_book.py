"""The customer book and leavers' handover on hand-built companies: golden cases per rule
(small events in, expected explanations and findings out). Each routine habit is
explained; an insider doing the same thing differently (a stranger, a relative, a
repeated case-less look-up, a destination the team never uses, more than their book) is
not."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from detect_scenarios import Company, at, detect, explanations
from insiderwatch.detect import DetectionConfig
from insiderwatch.detect.config import Book

DAYS = 16
MANAGERS = [f"am{i}" for i in range(6)]
SNOOP = "am0"
SHARE = "cloud:team-share"  # where the team keeps its case notes


def workdays(days: int) -> list[int]:
    """Weekdays only: staff on every calendar day for weeks would be machines (routine.py)."""
    return [d for d in range(1, days + 1) if at(d, 0).weekday() < 5]


def customers_of(k: int) -> list[str]:
    """Account manager k's clients: twenty of their own."""
    return [f"c{20 * k + i:03d}" for i in range(20)]


def book_company() -> Company:
    """Six account managers each work cases about their own clients and, days later, look
    the same clients up again with no case: what their book is."""
    c = Company()
    for k, e in enumerate(MANAGERS):
        c.employees.append({"employee_id": e, "surname": f"Mgr{k}", "role": "account_manager",
                            "team": "accounts-1", "hired_on": "2020-01-01",
                            "home_postcode": f"HM{k} 1AA"})  # fmt: skip
    for i in range(200):
        c.customers.append({"customer_id": f"c{i:03d}", "surname": f"Cust{i}",
                            "postcode": f"PC{i % 40} 2BB"})  # fmt: skip
    # A relative of the snoop (same surname) among his own clients' customers.
    c.customers.append({"customer_id": "kin", "surname": "Mgr0", "postcode": "PX 1AA"})
    n = 0
    served: dict[str, list[tuple[int, str]]] = {e: [] for e in MANAGERS}
    for day in workdays(DAYS):
        for k, e in enumerate(MANAGERS):
            mine = customers_of(k)
            for j in range(2):  # two cases a day, each about one of their clients
                cust = mine[(2 * day + j) % 20]
                n += 1
                opened = at(day, 9 + j, k)
                c.cases.append({"case_id": f"k{n:05d}", "customer_id": cust, "employee_id": e,
                                "opened_at": opened,
                                "closed_at": opened + dt.timedelta(minutes=30)})  # fmt: skip
                c.event(e, opened + dt.timedelta(minutes=5), "view", [cust], ["name", "email"],
                        case_id=f"k{n:05d}")  # fmt: skip
                served[e].append((day, cust))
            earlier = [cust for d, cust in served[e] if d <= day - 3]
            if earlier:  # a client served days ago calls back directly
                c.event(e, at(day, 15, k), "view", [earlier[-1]], ["name", "orders"])
    # The relative was viewed once, under a case of the snoop's (a namesake it was not).
    n += 1
    c.cases.append({"case_id": f"k{n:05d}", "customer_id": "kin", "employee_id": SNOOP,
                    "opened_at": at(3, 11), "closed_at": at(3, 11, 30)})  # fmt: skip
    c.event(SNOOP, at(3, 11, 5), "view", ["kin"], ["name"], case_id=f"k{n:05d}")
    # The snoop returns to a stranger (never his client) on three days running, looks at
    # his relative, and searches broadly with his clients among strangers.
    for day in (12, 13, 14):
        c.event(SNOOP, at(day, 16), "view", ["c150"], ["name", "email"], act=True)
    c.event(SNOOP, at(14, 16, 10), "view", ["kin"], ["name", "email"], act=True)
    c.event(SNOOP, at(14, 16, 20), "view", customers_of(0)[:2] + ["c151", "c152", "c153"],
            ["name"], act=True)  # fmt: skip
    return c


@pytest.fixture(scope="module")
def book_world(tmp_path_factory):
    c = book_company()
    store = detect(c, tmp_path_factory.mktemp("book"))
    yield c, explanations(store), store
    store.close()


def test_clients_served_under_a_case_on_earlier_days_are_the_book(book_world):
    c, why, _ = book_world
    returns = [r for r in c.access if not r.get("case_id") and r["event_id"] not in c.act]
    assert returns
    assert {why[r["event_id"]] for r in returns} == {"book"}


def test_a_stranger_looked_up_again_and_again_never_enters_the_book(book_world):
    c, why, store = book_world
    stranger = [r["event_id"] for r in c.access if r["customer_ids"] == ["c150"]]
    assert len(stranger) == 3 and all(why[e] != "book" for e in stranger)
    assert store.scalar("SELECT count(*) FROM book_days WHERE customer_id = 'c150'") == 0


def test_a_relative_served_once_and_broad_accesses_are_never_the_book(book_world):
    c, why, store = book_world
    assert store.scalar("SELECT count(*) FROM book_days WHERE customer_id = 'kin'") == 1
    kin, broad = c.act[3], c.act[4]
    assert why[kin] != "book" and why[broad] != "book"


def test_the_book_is_learned_from_earlier_days_only(book_world):
    c, why, store = book_world
    # What a case explained today is today's case work; the book starts tomorrow.
    first = store.scalar("SELECT min(day) FROM book_days")
    assert first == at(1, 0).date()
    day_one = [r for r in c.access if r["time"] < at(2, 0)]
    assert "book" not in {why[r["event_id"]] for r in day_one}


def test_switched_off_the_book_explains_nothing(tmp_path, book_world):
    # The first nine days already hold returns the book explains when on (the module's
    # run); detection never reads a later day, so the run with it off ends there.
    _, why, _ = book_world
    c = book_company()
    c.access = [r for r in c.access if r["time"] < at(10, 0)]
    assert "book" in {why[r["event_id"]] for r in c.access}
    cfg = DetectionConfig(book=Book(enabled=False))
    store = detect(c, tmp_path, cfg)
    try:
        assert "book" not in set(explanations(store).values())
    finally:
        store.close()


# --- leavers' handover -----------------------------------------------------------------

AGENTS = [f"ag{i}" for i in range(7)]
LEAVER, THIEF, GREEDY, STAYER, EARLY, OPEN = "ag1", "ag2", "ag3", "ag4", "ag5", "ag6"
HANDOVER_DAY = 14


def handover_company() -> Company:
    """Six agents work cases and save each case's note to the team's share (routine);
    five of them export their book on one day: a leaver to the share (a handover), a
    leaver to a personal cloud, a leaver to the share with strangers added, someone who is
    not leaving, and a leaver adding the customer of a case assigned to him only later.
    A seventh agent never closes his cases and leaves too: every customer of his export
    has an open case of his (a case explains viewing them, never sending them out)."""
    c = Company()
    for k, e in enumerate(AGENTS):
        departs = "2026-09-20" if e in (LEAVER, THIEF, GREEDY, EARLY, OPEN) else None
        c.employees.append({"employee_id": e, "surname": f"Ag{k}", "role": "cs_agent",
                            "team": "care-1", "hired_on": "2020-01-01", "departs_on": departs,
                            "home_postcode": f"HA{k} 1AA"})  # fmt: skip
    for i in range(300):
        c.customers.append({"customer_id": f"c{i:03d}", "surname": f"Cust{i}",
                            "postcode": f"PC{i % 40} 2BB"})  # fmt: skip
    served: dict[str, list[str]] = {e: [] for e in AGENTS}
    n = 0
    for day in workdays(HANDOVER_DAY):
        for k, e in enumerate(AGENTS):
            for j in range(3):
                cust = f"c{(40 * k + 3 * day + j) % 240:03d}"
                n += 1
                case = f"k{n:05d}"
                opened = at(day, 9 + j, k)
                c.cases.append({"case_id": case, "customer_id": cust, "employee_id": e,
                                "opened_at": opened,
                                "closed_at": None if e == OPEN
                                else opened + dt.timedelta(minutes=40)})  # fmt: skip
                c.event(e, opened + dt.timedelta(minutes=5), "view", [cust], ["name"],
                        case_id=case)  # fmt: skip
                c.event(e, opened + dt.timedelta(minutes=20), "export", [cust], ["name"],
                        case_id=case, destination=SHARE, record_count=1)  # fmt: skip
                served[e].append(cust)
    # A case handed over to the leaver the day before, which he never opened: his to hand on.
    c.cases.append({"case_id": "k-moved", "customer_id": "c295", "employee_id": LEAVER,
                    "opened_at": at(HANDOVER_DAY - 1, 16), "closed_at": None})  # fmt: skip
    served[LEAVER].append("c295")
    # A case assigned to another leaver an hour after his export: not his when he sent it.
    c.cases.append({"case_id": "k-later", "customer_id": "c296", "employee_id": EARLY,
                    "opened_at": at(HANDOVER_DAY, 16), "closed_at": None})  # fmt: skip
    for e, dest, extra in ((LEAVER, SHARE, []), (THIEF, "cloud:dropbox", []),
                           (GREEDY, SHARE, ["c290", "c291"]), (STAYER, SHARE, []),
                           (EARLY, SHARE, ["c296"]), (OPEN, SHARE, [])):  # fmt: skip
        book = sorted(set(served[e])) + extra
        c.event(e, at(HANDOVER_DAY, 15), "export", book, ["name", "orders"], act=True,
                destination=dest, record_count=len(book))  # fmt: skip
    return c


@pytest.fixture(scope="module")
def handover_world(tmp_path_factory):
    c = handover_company()
    store = detect(c, tmp_path_factory.mktemp("handover"))
    yield c, explanations(store), store
    store.close()


def _act(c: Company, employee: str) -> str:
    return next(e for e in c.act if any(r["event_id"] == e and r["employee_id"] == employee
                                        for r in c.access))  # fmt: skip


def _findings(store, event_id: str) -> set[str]:
    rows = store.con.execute(
        "SELECT DISTINCT detector FROM findings WHERE list_contains(event_ids, ?)", [event_id]
    ).fetchall()
    return {r[0] for r in rows}


@pytest.mark.parametrize("who", [LEAVER, OPEN])
def test_a_leavers_book_exported_to_the_teams_share_is_a_handover(handover_world, who):
    c, why, store = handover_world
    event = _act(c, who)
    assert why[event] == "handover"
    assert _findings(store, event) == set()


def test_open_cases_explain_the_leavers_look_ups_but_not_the_export(handover_world):
    # What made the export a handover was the book and the share, not the open cases:
    # the same customers' views stay explained by those cases.
    c, why, store = handover_world
    views = [r["event_id"] for r in c.access if r["employee_id"] == OPEN and r["action"] == "view"]
    assert views and {why[e] for e in views} == {"own_case"}


@pytest.mark.parametrize("who", [THIEF, GREEDY, STAYER, EARLY])
def test_elsewhere_more_than_the_book_or_not_leaving_is_no_handover(handover_world, who):
    c, why, store = handover_world
    event = _act(c, who)
    assert why[event] is None
    expected = {"exfiltration"} | ({"departing"} if who != STAYER else set())
    assert expected <= _findings(store, event)


def test_a_team_case_the_export_itself_touches_never_vouches_for_it(tmp_path):
    """The greedy leaver's two strangers have open cases of someone he manages: the export's own
    touches of them are explained by those cases, yet that does not make them customers he
    served, so his export stays no handover."""
    c = handover_company()
    for emp in c.employees:  # the greedy leaver manages the stayer: her cases are his team's
        if emp["employee_id"] == STAYER:
            emp["manager_id"] = GREEDY
    for k, cust in enumerate(("c290", "c291")):
        c.cases.append({"case_id": f"k-team{k}", "customer_id": cust, "employee_id": STAYER,
                        "opened_at": at(HANDOVER_DAY, 10, k), "closed_at": None})  # fmt: skip
    store = detect(c, tmp_path)
    try:
        why = explanations(store)
        event = _act(c, GREEDY)
        assert why[event] != "handover"
        assert "exfiltration" in _findings(store, event)
    finally:
        store.close()


DESK_LEAVER, OTHER_ROLE_LEAVER = "dk0", "an0"


def desk_handover_company() -> Company:
    """The agents above, and two desks in a team of their own that work cases but never
    send anything out, so neither has a routine destination: three agents of the same
    role as the care team (``cs_agent``), and three analysts. One of each leaves and
    exports the customers of their cases to the care team's share."""
    c = handover_company()
    desk = {"dk0": "cs_agent", "dk1": "cs_agent", "dk2": "cs_agent",
            "an0": "analyst", "an1": "analyst", "an2": "analyst"}  # fmt: skip
    for i in range(120):
        c.customers.append({"customer_id": f"d{i:03d}", "surname": f"Desk{i}",
                            "postcode": f"PD{i % 30} 2BB"})  # fmt: skip
    served: dict[str, list[str]] = {e: [] for e in desk}
    for k, (e, role) in enumerate(desk.items()):
        departs = "2026-09-20" if e in (DESK_LEAVER, OTHER_ROLE_LEAVER) else None
        c.employees.append({"employee_id": e, "surname": f"Dk{k}", "role": role,
                            "team": "desk-1", "hired_on": "2020-01-01", "departs_on": departs,
                            "home_postcode": f"HD{k} 1AA"})  # fmt: skip
        for day in workdays(HANDOVER_DAY):
            for j in range(2):
                cust = f"d{(20 * k + 2 * day + j) % 120:03d}"
                case = f"kd-{e}-{day}-{j}"
                opened = at(day, 10 + j, k)
                c.cases.append({"case_id": case, "customer_id": cust, "employee_id": e,
                                "opened_at": opened,
                                "closed_at": opened + dt.timedelta(minutes=40)})  # fmt: skip
                c.event(e, opened + dt.timedelta(minutes=5), "view", [cust], ["name"],
                        case_id=case)  # fmt: skip
                served[e].append(cust)
    for e in (DESK_LEAVER, OTHER_ROLE_LEAVER):
        book = sorted(set(served[e]))
        c.event(e, at(HANDOVER_DAY, 15, 30), "export", book, ["name", "orders"], act=True,
                destination=SHARE, record_count=len(book))  # fmt: skip
    return c


def test_a_desk_leaver_hands_over_where_their_role_keeps_its_work(tmp_path):
    """A desk that never sends data out has no routine destination of its own; its
    leaver's book, exported to the share the same role's case-working team uses every day,
    is a handover (before, a departing export and a new data flow: a benign alert). A
    leaver of another role sending the same to that share is judged as before: it is not
    where their role keeps its work."""
    c = desk_handover_company()
    store = detect(c, tmp_path)
    try:
        why = explanations(store)
        desk_export = _act(c, DESK_LEAVER)
        assert why[desk_export] == "handover"
        assert _findings(store, desk_export) == set()
        other = _act(c, OTHER_ROLE_LEAVER)
        assert why[other] is None
        assert {"exfiltration", "departing"} <= _findings(store, other)
        for who in (THIEF, GREEDY):  # the care team's own leavers, as before
            assert why[_act(c, who)] is None
    finally:
        store.close()


def test_case_notes_sent_to_the_teams_share_raise_nothing(handover_world):
    c, why, store = handover_world
    notes = [r["event_id"] for r in c.access
             if r["action"] == "export" and r.get("case_id") and r["time"] >= at(8, 0)]  # fmt: skip
    assert notes and {why[e] for e in notes} == {"own_case"}
    flagged = store.scalar(
        "SELECT count(*) FROM findings WHERE detector = 'exfiltration' AND day >= ?",
        [at(8, 0).date()],
    )
    assert flagged == len(c.act) - 2  # the exports that are no handover


def test_the_configuration_round_trips_the_book_settings():
    cfg = msgspec.convert({"book": {"enabled": True, "handover_days": 14}}, DetectionConfig)
    assert cfg.book.handover_days == 14
