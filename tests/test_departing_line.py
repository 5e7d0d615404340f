"""departing's look-up line is learned: a leaver is judged against the peers' and their own
usual days of case-less look-ups, never against a fixed handful alone."""

from __future__ import annotations

import datetime as dt

import pytest

from detect_scenarios import ACT_DAY, AGENTS, INSIDER, at, base_company, detected
from insiderwatch.detect.detectors.departing import Config

# Case-less look-ups every agent makes on an ordinary day (a counter's walk-ins): more
# than departing's fixed floor of ten customers.
ROUTINE = 16


def _counter_company(leaving_lookups: int):
    c = base_company()
    for day in range(1, ACT_DAY + 1):
        for n, e in enumerate(AGENTS):
            if e == INSIDER and day == ACT_DAY:
                continue
            for k in range(ROUTINE):
                cust = f"c{200 + (day * 7 + n * 3 + k) % 150:03d}"
                c.event(e, at(day, 12, k, n), "view", [cust], ["name", "orders"])
    return _leaving(c, leaving_lookups)


def _leaving(c, lookups: int):
    """The insider leaves in ten days and, on the act day, looks up ``lookups`` customers."""
    for row in c.employees:
        if row["employee_id"] == INSIDER:
            row["departs_on"] = (at(ACT_DAY, 0) + dt.timedelta(days=10)).date().isoformat()
    for k in range(lookups):
        c.event(INSIDER, at(ACT_DAY, 12, k), "view", [f"c{200 + k:03d}"], ["name", "orders"],
                act=True)  # fmt: skip
    return c


def _lookup_findings(store) -> list[tuple[str, str]]:
    return store.con.execute(
        "SELECT employee_id, reason FROM findings WHERE detector = 'departing' "
        "AND reason LIKE 'looked up%'"
    ).fetchall()


def test_a_leaver_at_the_counters_usual_pace_is_not_flagged(built_once):
    # The group's allowance explains the first few look-ups of the day; past it the leaver's
    # case-less customers (13) pass the fixed floor of ten but stay under the colleagues'
    # (and their own) usual day of 17.
    with detected(_counter_company(ROUTINE + 8), built_once) as store:
        (left,) = store.con.execute(
            "SELECT unexplained_customers FROM employee_days WHERE employee_id = ? AND day = ?",
            [INSIDER, at(ACT_DAY, 0).date()],
        ).fetchone()
        assert left > Config().min_customers  # past the old fixed line: the case is real
        assert _lookup_findings(store) == []


@pytest.mark.parametrize("factor", [3])
def test_a_leaver_far_past_the_counters_pace_is_flagged(built_once, factor):
    with detected(_counter_company(ROUTINE * factor), built_once) as store:
        found = _lookup_findings(store)
    assert [e for e, _ in found] == [INSIDER]
    assert "peers' 95th percentile day" in found[0][1]


# Look-ups every agent makes on an ordinary day, and the leaver's usual day of updates
# with no case (a back-office habit of theirs nobody else has).
FEW = 2
UPDATES = 40


def _updating_company(leaving_lookups: int):
    c = base_company()
    for day in range(1, ACT_DAY + 1):
        for n, e in enumerate(AGENTS):
            if e == INSIDER and day == ACT_DAY:
                continue
            for k in range(FEW):
                c.event(e, at(day, 11, k, n), "view", [f"c{(day * 5 + n * 2 + k) % 150:03d}"],
                        ["name"])  # fmt: skip
            if e == INSIDER:
                for k in range(UPDATES):
                    cust = f"c{(day * 41 + k) % 150:03d}"
                    c.event(e, at(day, 14, k), "update", [cust], ["address"])
    return _leaving(c, leaving_lookups)


def test_a_leaver_whose_usual_days_are_updates_is_judged_by_their_usual_look_ups(built_once):
    """The line is learned from look-ups alone, as the day is counted: forty unexplained
    updates a day are no usual day of look-ups, so twenty-five look-ups pass it."""
    with detected(_updating_company(25), built_once) as store:
        (usual,) = store.con.execute(
            "SELECT median(unexplained_customers) FROM employee_days "
            "WHERE employee_id = ? AND day < ?",
            [INSIDER, at(ACT_DAY, 0).date()],
        ).fetchone()
        found = _lookup_findings(store)
    assert usual > 25  # counted with the updates, the usual day is above the day's look-ups
    assert [e for e, _ in found] == [INSIDER]
    assert "line 10: peers" in found[0][1]  # the floor: neither usual day reaches it
