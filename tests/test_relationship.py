"""The relationship detector on a hand-built company: each relative or neighbour an
employee chose to look at is a finding of its own, while a search that shows several
people of the employee's household (typing the family name shows them all) counts one
of each kind, as someone was sought, not each one shown."""

from __future__ import annotations

import pytest

from detect_scenarios import ACT_DAY, AGENTS, at, base_company, detect

SEARCHER, VIEWER = AGENTS[0], AGENTS[1]  # surnames Agent0 / Agent1, homes HP0 / HP1 1AA


def company():
    c = base_company()
    for k in range(3):  # each one's household: same surname and home postcode
        c.customers.append({"customer_id": f"hs{k}", "surname": "Agent0", "postcode": "HP0 1AA"})
        c.customers.append({"customer_id": f"hv{k}", "surname": "Agent1", "postcode": "HP1 1AA"})
    d = ACT_DAY
    # One search for the family name shows all three; then one of them is opened.
    c.event(SEARCHER, at(d, 11), "search", ["hs0", "hs1", "hs2"], ["name"], act=True)
    c.event(SEARCHER, at(d, 11, 2), "view", ["hs2"], ["name", "address"], act=True)
    for k in range(3):  # three separate views: three people chosen
        c.event(VIEWER, at(d, 12, k), "view", [f"hv{k}"], ["name", "address"], act=True)
    return c


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    s = detect(company(), tmp_path_factory.mktemp("relationship"))
    yield s
    s.close()


def _found(store, employee: str) -> list[list[str]]:
    rows = store.con.execute(
        "SELECT customer_ids FROM findings WHERE detector = 'relationship' AND employee_id = ?"
        " ORDER BY customer_ids",
        [employee],
    ).fetchall()
    return [r[0] for r in rows]


def test_a_search_showing_a_household_counts_one_of_them(store):
    # The search's three are one person sought (the lowest id stands for them); the view
    # of another of them is a finding of its own.
    assert _found(store, SEARCHER) == [["hs0"], ["hs2"]]


def test_each_relative_viewed_is_a_finding(store):
    assert _found(store, VIEWER) == [["hv0"], ["hv1"], ["hv2"]]
