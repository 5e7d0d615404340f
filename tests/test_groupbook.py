"""The relationship book on a hand-built company: golden cases (small events in, expected
explanations out). Relationship managers who call their own clients without cases are
explained once the group is seen to work from books; their look-ups outside their book, a
relative, a VIP only one of them keeps, and a support agent's returns to one customer are
not; and one member's (or a pair's) returns never make their group a book group."""

from __future__ import annotations

import pytest

from detect_scenarios import Company, at, detect, explanations
from insiderwatch.detect import DetectionConfig
from insiderwatch.detect.calibrate import calibration, policy_yaml
from insiderwatch.detect.config import Book, PublicFigures, RelationshipBook
from insiderwatch.detect.groupbook import EXPLANATIONS
from insiderwatch.detect.reasons import BOOK_DESK as DESK_EXPLANATION
from insiderwatch.detect.reasons import BOOK_RELATIONSHIP as EXPLANATION
from insiderwatch.privacy import HashKey
from insiderwatch.privacy.pseudonyms import pseudonym
from sample_data import KEY_HEX

DAYS = 20
# Tests that judge only the look-ups from the ninth workday on need no more than five such
# workdays: their company ends on day 17 (detection never reads a later day).
SHORT_DAYS = 17
MANAGERS = [f"rm{i}" for i in range(6)]
AGENTS = [f"sa{i}" for i in range(6)]
RM_SNOOP, AGENT_SNOOP, AGENT_PAIR = "rm0", "sa0", "sa1"
BOOK_SIZE = 12


def workdays(days: int = DAYS) -> list[int]:
    """Weekdays only: staff on every calendar day for weeks would be machines (routine.py)."""
    return [d for d in range(1, days + 1) if at(d, 0).weekday() < 5]


def book_of(k: int) -> list[str]:
    return [f"b{k}-{i:02d}" for i in range(BOOK_SIZE)]


def company(days: int = DAYS) -> Company:
    """Six relationship managers each call four of their own twelve clients a day, no case
    (every client every three workdays; rm0 three a day, then eight from the sixth workday); six support agents look up four customers a day
    with no case, each a different one. The insiders: rm0 looks up strangers (once each),
    a relative and a VIP of his book; sa0 and sa1 come back to one customer each day, half
    of their case-less look-ups: each on their own would keep a book."""
    c = Company()
    for k, e in enumerate(MANAGERS):
        c.employees.append({"employee_id": e, "surname": f"Mgr{k}", "role": "relationship",
                            "team": "clients-1", "hired_on": "2020-01-01",
                            "home_postcode": f"HM{k} 1AA"})  # fmt: skip
    for k, e in enumerate(AGENTS):
        c.employees.append({"employee_id": e, "surname": f"Agt{k}", "role": "agent",
                            "team": "care-1", "hired_on": "2020-01-01",
                            "home_postcode": f"HA{k} 1AA"})  # fmt: skip
    for k in range(len(MANAGERS)):
        for cust in book_of(k):
            c.customers.append({"customer_id": cust, "surname": f"S{cust}", "postcode": "PB 1"})
    for i in range(600):
        c.customers.append({"customer_id": f"c{i:03d}", "surname": f"Cust{i}",
                            "postcode": f"PC{i % 40} 2BB"})  # fmt: skip
    c.customers += [
        {"customer_id": "kin", "surname": "Mgr0", "postcode": "PX 1AA"},  # rm0's relative
        {"customer_id": "star", "surname": "Famous", "postcode": "PV 1", "is_vip": True},
        {"customer_id": "target", "surname": "Someone", "postcode": "PT 1"},
        {"customer_id": "target2", "surname": "Another", "postcode": "PT 2"},
    ]
    fresh = iter(range(600))
    for n, day in enumerate(workdays(days)):
        for k, e in enumerate(MANAGERS):
            book = book_of(k)
            calls = 4 if e != RM_SNOOP else 3 if n < 5 else 8  # rm0 gets busy: allowance spent
            for j in range(calls):
                c.event(e, at(day, 9, 7 * j + k), "view", [book[(4 * n + j) % BOOK_SIZE]],
                        ["name", "email", "phone"])  # fmt: skip
            if e == RM_SNOOP:  # his relative and a VIP, on every workday like a client
                c.event(e, at(day, 14), "view", ["kin"], ["name", "address"], act=True)
                c.event(e, at(day, 14, 30), "view", ["star"], ["name", "phone"], act=True)
        for k, e in enumerate(AGENTS):
            for j in range(1 if e in (AGENT_SNOOP, AGENT_PAIR) else 4):
                c.event(e, at(day, 9 + j, 10 + k), "view", [f"c{next(fresh) % 600:03d}"],
                        ["name", "email"])  # fmt: skip
        for e, target in ((AGENT_SNOOP, "target"), (AGENT_PAIR, "target2")):
            c.event(e, at(day, 15), "view", [target], ["name", "address"], act=True)
    # rm0 looks up strangers once each near the end, a view and a search (not his book).
    c.event(RM_SNOOP, at(days - 1, 16), "view", ["c590"], ["name", "email", "phone"], act=True)
    c.event(RM_SNOOP, at(days - 1, 16, 5), "search", ["c591", "c592"], ["name", "phone"],
            act=True)  # fmt: skip
    return c


@pytest.fixture(scope="module")
def detected_company(tmp_path_factory):
    """The company detected with the default settings, once for the module: the golden
    cases read its explanations, calibrate what it learned."""
    c = company()
    store = detect(c, tmp_path_factory.mktemp("groupbook"))
    yield c, store
    store.close()


@pytest.fixture(scope="module")
def world(detected_company):
    c, store = detected_company
    return c, explanations(store)


def _events(c: Company, employee: str, customers: list[str]) -> list[str]:
    return [r["event_id"] for r in c.access
            if r["employee_id"] == employee and r["customer_ids"] == customers]  # fmt: skip


def test_a_relationship_managers_returns_to_their_own_book_are_explained(world):
    c, why = world
    days = workdays()
    for k, e in enumerate(MANAGERS):
        late = [r["event_id"] for r in c.access if r["employee_id"] == e
                and r["customer_ids"][0] in book_of(k) and r["time"] >= at(days[8], 0)]  # fmt: skip
        assert late and {why[x] for x in late} == {EXPLANATION}, e


def test_the_book_is_learned_from_earlier_days_only(world):
    c, why = world
    first = [r["event_id"] for r in c.access if r["time"] < at(workdays()[1], 0)]
    assert first and EXPLANATION not in {why[x] for x in first}


def test_look_ups_outside_the_book_a_relative_and_a_lone_vip_are_not_explained(world):
    c, why = world
    strangers = _events(c, RM_SNOOP, ["c590"]) + _events(c, RM_SNOOP, ["c591", "c592"])
    kin, star = _events(c, RM_SNOOP, ["kin"]), _events(c, RM_SNOOP, ["star"])
    assert len(strangers) == 2 and len(kin) == len(star) == len(workdays())
    assert all(why[x] != EXPLANATION for x in strangers + kin + star)


def test_support_agents_returns_to_one_customer_are_not_explained(world):
    c, why = world
    agents = [r["event_id"] for r in c.access if r["employee_id"] in AGENTS]
    returns = _events(c, AGENT_SNOOP, ["target"]) + _events(c, AGENT_PAIR, ["target2"])
    assert len(returns) == 2 * len(workdays())
    assert EXPLANATION not in {why[x] for x in agents}


def test_a_snoop_and_a_partner_cannot_teach_their_group(tmp_path):
    """With one keeper enough, the two agents' returns would make their group a book group
    and be explained: what keeps them out is the group rule, not the data."""
    c = company(SHORT_DAYS)
    lax = DetectionConfig(book=Book(relationship=RelationshipBook(min_staff=1, group_share=0.0)))
    store = detect(c, tmp_path, lax)
    try:
        why = explanations(store)
        returns = _events(c, AGENT_SNOOP, ["target"]) + _events(c, AGENT_PAIR, ["target2"])
        assert EXPLANATION in {why[x] for x in returns}
    finally:
        store.close()


def test_a_vip_kept_by_most_of_the_group_is_explained(tmp_path):
    """Where the group's books hold VIPs the way peers' do, a VIP of one's book is
    explained like any other client."""
    c = company(SHORT_DAYS)
    c.customers = [{**x, "is_vip": True} if x["customer_id"].endswith("-00") else x
                   for x in c.customers]  # fmt: skip
    store = detect(c, tmp_path)
    try:
        why = explanations(store)
        late = [r["event_id"] for r in c.access if r["customer_ids"][0].endswith("-00")
                and r["time"] >= at(workdays()[8], 0)]  # fmt: skip
        assert late and {why[x] for x in late} == {EXPLANATION}
    finally:
        store.close()


def test_switched_off_it_explains_nothing_and_nothing_else_changes(world, tmp_path):
    """The book explains who, not how many: its look-ups still spend the allowance, so
    with it switched off every other look-up (rm0's strangers, past the allowance once
    his book keeps him busy) is explained exactly as with it on."""
    c, why = world
    cfg = DetectionConfig(book=Book(relationship=RelationshipBook(enabled=False)))
    store = detect(company(), tmp_path, cfg)
    try:
        off = explanations(store)
    finally:
        store.close()
    assert EXPLANATION not in set(off.values())
    others = {x: y for x, y in why.items() if y != EXPLANATION}
    assert others == {x: off[x] for x in others}
    strangers = _events(c, RM_SNOOP, ["c590"]) + _events(c, RM_SNOOP, ["c591", "c592"])
    assert {why[x] for x in strangers} == {None}


def test_a_public_figure_learned_from_look_ups_stays_out_of_the_book(tmp_path):
    """Nobody flagged "star", but two support agents looked her up with no case as well as
    rm0: learned as a public figure, she is kept out of his book like a flagged VIP. With
    learned figures switched off, his daily returns to her make her a client of his book."""
    c = company(SHORT_DAYS)
    c.customers = [{**x, "is_vip": False} if x["customer_id"] == "star" else x
                   for x in c.customers]  # fmt: skip
    for n, e in enumerate(("sa2", "sa3")):
        c.event(e, at(workdays()[n], 16), "view", ["star"], ["name", "phone"])
    late = [r["event_id"] for r in c.access if r["employee_id"] == RM_SNOOP
            and r["customer_ids"] == ["star"] and r["time"] >= at(workdays()[8], 0)]  # fmt: skip
    assert late
    runs = {}
    for name, cfg in (("on", DetectionConfig()),
                      ("off", DetectionConfig(public_figures=PublicFigures(enabled=False)))):  # fmt: skip
        store = detect(c, tmp_path / name, cfg)
        try:
            runs[name] = {explanations(store)[x] for x in late}
        finally:
            store.close()
    assert EXPLANATION not in runs["on"]
    assert runs["off"] == {EXPLANATION}


# The last workday whose returns the large-books test judges (workdays 9 to 12); detection
# never reads a later day, so the company ends on it (day 17 of the calendar).
LARGE_LAST_WORKDAY = 12


def large_books(days: int = 17) -> tuple[Company, list[tuple[str, int, str]]]:
    """Six relationship managers, each with a book of eighty clients of their own, call four
    of them a day at random (seeded), no case: each client about once in four weeks, so
    in the first weeks most look-ups are of a client not yet seen twice. Returns the
    company and each look-up's (manager, workday index, client)."""
    import random

    rng = random.Random(1)
    c = Company()
    for k, e in enumerate(MANAGERS):
        c.employees.append({"employee_id": e, "surname": f"Mgr{k}", "role": "relationship",
                            "team": "clients-1", "hired_on": "2020-01-01",
                            "home_postcode": f"HM{k} 1AA"})  # fmt: skip
        for i in range(80):
            c.customers.append({"customer_id": f"L{k}-{i:02d}", "surname": f"L{k}x{i}",
                                "postcode": "PB 1"})  # fmt: skip
    calls = []
    work = [d for d in range(1, days + 1) if at(d, 0).weekday() < 5]
    for n, day in enumerate(work):
        for k, e in enumerate(MANAGERS):
            for j, i in enumerate(rng.sample(range(80), 4)):
                c.event(e, at(day, 9, 7 * j + k), "view", [f"L{k}-{i:02d}"],
                        ["name", "email", "phone"])  # fmt: skip
                calls.append((e, n, f"L{k}-{i:02d}"))
    return c, calls


def test_a_desk_with_large_books_is_learned_before_most_of_its_look_ups_are_returns(tmp_path):
    """A client called about once in four weeks is seen twice only after weeks: on the ninth
    to twelfth workdays a manager's own returns are a third to a half of their look-ups.
    Counting a keeper from a third of own returns (keeper_share 0.3), the desk works from
    books by then and each manager's returns to their own clients are explained; at half,
    as before, the desk is not yet one and they are not."""
    c, calls = large_books()
    assert max(n for _, n, _ in calls) == LARGE_LAST_WORKDAY  # the days judged, no fewer
    seen: dict[tuple[str, str], int] = {}
    returns = []
    for (e, n, cust), row in zip(calls, c.access, strict=True):
        if 9 <= n <= LARGE_LAST_WORKDAY and seen.get((e, cust), 0) >= 2:
            returns.append(row["event_id"])
        seen[(e, cust)] = seen.get((e, cust), 0) + 1
    assert len(returns) >= 10
    runs = {}
    for name, cfg in (("default", DetectionConfig()),
                      ("half", DetectionConfig(book=Book(relationship=RelationshipBook(
                          keeper_share=0.5))))):  # fmt: skip
        store = detect(c, tmp_path / name, cfg)
        try:
            why = explanations(store)
            runs[name] = sum(why[x] == EXPLANATION for x in returns) / len(returns)
        finally:
            store.close()
    assert runs["default"] >= 0.9 and runs["half"] <= 0.2, runs


def test_a_client_the_desk_shares_is_in_the_book_of_each_who_comes_back_to_them(tmp_path):
    """Three managers come back to one client every other workday (a private desk shares its
    clients): no colleague's book holds him alone, yet each of the three keeps him, so
    their later look-ups are the book's. Not so a client staff of another group come back
    to as well (a customer in the news), nor one look-up of the shared client by a
    manager who never came back to him (a one-day snoop). Their look-ups of him are the
    desk's (book:desk), told apart from those of their own clients (book:relationship)."""
    c = company()
    c.customers += [{"customer_id": "shared", "surname": "Desk", "postcode": "PD 1"},
                    {"customer_id": "news", "surname": "Headline", "postcode": "PN 1"}]  # fmt: skip
    days = workdays()
    for n, day in enumerate(days[:-1]):
        for k, e in enumerate(("rm1", "rm2", "rm3")):
            if n % 2 == k % 2:
                c.event(e, at(day, 11, k), "view", ["shared"], ["name", "email", "phone"])
                c.event(e, at(day, 12, k), "view", ["news"], ["name", "email", "phone"])
        for k, e in enumerate(("sa2", "sa3")):
            if n % 2 == k % 2:
                c.event(e, at(day, 13, k), "view", ["news"], ["name", "email"])
    c.event("rm5", at(days[-1], 11), "view", ["shared"], ["name", "email", "phone"], act=True)
    # Learned public figures off: the customer in the news is kept out by the returning
    # strangers of another group alone, not by being learned famous.
    store = detect(c, tmp_path, DetectionConfig(public_figures=PublicFigures(enabled=False)))
    try:
        why = explanations(store)
    finally:
        store.close()
    late = {name: [r["event_id"] for r in c.access if r["time"] >= at(days[8], 0)
                   and r["employee_id"] in ("rm1", "rm2", "rm3") and r["customer_ids"] == [name]]
            for name in ("shared", "news")}  # fmt: skip
    shared, news = late["shared"], late["news"]
    once = _events(c, "rm5", ["shared"])
    assert len(shared) >= 6 and len(news) >= 6 and len(once) == 1
    # The desk's client is said apart from the employee's own (still their own: EXPLANATION).
    assert {why[x] for x in shared} == {DESK_EXPLANATION}
    assert not set(EXPLANATIONS) & {why[x] for x in news + once}
    own = [x for k, e in enumerate(("rm1", "rm2", "rm3"), start=1)
           for x in _events(c, e, [book_of(k)[0]])][-3:]  # fmt: skip
    assert {why[x] for x in own} == {EXPLANATION}


def test_calibrate_lists_the_desks_and_each_keepers_book_under_a_pseudonym(detected_company):
    """What the relationship book learned, for review: the desk (its keepers and clients)
    and each keeper's number of own and shared clients, staff as keyed pseudonyms; the
    support agents' one-off look-ups make no desk."""
    key = HashKey(bytes.fromhex(KEY_HEX))
    _, store = detected_company
    cal = calibration(store, DetectionConfig(), key)
    keyless = calibration(store, DetectionConfig())
    policy = policy_yaml(cal, store)
    (desk,) = cal.learned.desks
    assert desk.group.startswith("relationship") and desk.keepers >= 5
    assert desk.explained > 0 and desk.shared_clients == 0
    books = {b.employee: b for b in cal.learned.relationship_books}
    assert len(books) == desk.keepers
    assert set(books) <= {pseudonym(key, e) for e in MANAGERS}
    assert not set(books) & set(MANAGERS + AGENTS)  # never the employee id
    assert all(1 <= b.own_clients <= BOOK_SIZE + 2 for b in books.values())  # + kin and star
    assert sum(b.own_clients for b in books.values()) == desk.own_clients
    # Without the key the desk is shown, nobody by name or pseudonym.
    assert keyless.learned.desks == cal.learned.desks
    assert keyless.learned.relationship_books == []
    assert f"#   {desk.group}: {desk.keepers} keepers" in policy
    assert all(f"#     {p}: " in policy for p in books)
