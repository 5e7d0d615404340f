"""The console's alert queue over the real operational store: every filter keeps exactly
the alerts it should, keyset pages walk the whole queue once in order, noisy detectors
fold into one row (never high or critical alerts), bulk triage changes what it may and
names what it refused, bad input is a clear 400, and staff appear only as pseudonyms."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from console_world import (
    client_for,
    csrf_of,
    employees_of,
    login,
    make_world,
    synthetic_alerts,
)
from insiderwatch.app.alerts import record_published
from insiderwatch.app.ops import audit_entries
from insiderwatch.app.queue import QueueError, alert_queue, peer_group_members
from insiderwatch.contract.console import UNASSIGNED, QueueQuery
from insiderwatch.store.ops.history import detector_key

NOISY_AFTER = 1_000_000  # grouping off unless a test asks for it


@pytest.fixture(scope="module")
def world(tmp_path_factory, built_once):
    world = make_world(tmp_path_factory.mktemp("queue"), built_once)
    world.synthetic = synthetic_alerts(300, employees_of(world), seed=3)
    record_published(world.service.ops.store, world.synthetic, source="test", actor="test")
    yield world
    world.service.stop()


@pytest.fixture(scope="module")
def analyst(world):
    with client_for(world) as client:
        assert login(client, "analyst").status_code == 303
        yield client


def walk(ops, query: QueueQuery, store=None, noisy_after=NOISY_AFTER) -> list:
    """Every page of the queue, following next_cursor."""
    seen, after = [], None
    while True:
        page = alert_queue(ops, msgspec_replace(query, after=after), store=store,
                           noisy_after=noisy_after)  # fmt: skip
        seen.extend(page.alerts)
        if page.next_cursor is None:
            return seen
        after = page.next_cursor


def msgspec_replace(query: QueueQuery, **changes) -> QueueQuery:
    import msgspec

    return msgspec.structs.replace(query, **changes)


@pytest.mark.parametrize("sort", ["score", "newest", "oldest"])
def test_keyset_pages_walk_the_whole_queue_once_in_order(world, sort):
    ops = world.service.ops.store
    got = walk(ops, QueueQuery(sort=sort, limit=37))
    ids = [a.alert_id for a in got]
    assert len(ids) == len(set(ids)) == len(world.synthetic) + len(world.alert_ids)
    if sort == "score":
        keys = [(a.score, a.alert_id) for a in got]
        assert keys == sorted(keys, reverse=True)
    else:
        keys = [(a.detected_at, a.alert_id) for a in got]
        assert keys == sorted(keys, reverse=sort == "newest")


def test_filters_keep_exactly_the_alerts_they_describe(world):
    ops = world.service.ops.store
    day_from, day_to = dt.date(2026, 9, 10), dt.date(2026, 9, 20)
    query = QueueQuery(severities=["high", "critical"], detector="vip",
                       detected_from=day_from, detected_to=day_to, limit=10)  # fmt: skip
    expected = {
        a.alert_id
        for a in world.synthetic
        if a.severity in ("high", "critical")
        and "vip" in a.detectors
        and day_from <= a.detected_at.date() <= day_to
    }
    assert expected, "the synthetic alerts should cover this filter"
    assert {a.alert_id for a in walk(ops, query)} == expected


def test_the_peer_group_filter_uses_the_roster(world):
    ops = world.service.ops.store
    with world.service.reading() as store:
        members = set(peer_group_members(store, "supervisor:cs"))
        got = walk(ops, QueueQuery(peer_group="supervisor:cs"), store=store)
    assert members == {"sup"}
    expected = {a.alert_id for a in world.synthetic if a.employee_id in members}
    assert {a.alert_id for a in got} >= expected and expected
    assert all(a.employee_id in members for a in got)
    with pytest.raises(QueueError, match="analytics store"):
        alert_queue(ops, QueueQuery(peer_group="supervisor:cs"), noisy_after=0)


def test_noisy_detectors_fold_into_one_row_but_never_high_or_critical(world):
    ops = world.service.ops.store
    single = [a for a in world.synthetic if len(a.detectors) == 1]
    by_key: dict[str, int] = {}
    for a in single:
        if a.severity in ("low", "medium"):
            by_key[detector_key(a.detectors)] = by_key.get(detector_key(a.detectors), 0) + 1
    threshold = max(by_key.values())
    noisiest = max(by_key, key=by_key.get)
    page = alert_queue(ops, QueueQuery(state="new", limit=500), noisy_after=threshold)
    assert [g.detectors for g in page.groups] == [[noisiest]]
    assert page.groups[0].alerts == threshold
    listed = {a.alert_id for a in page.alerts}
    for a in world.synthetic:
        folded = detector_key(a.detectors) == noisiest and a.severity in ("low", "medium")
        assert (a.alert_id in listed) != folded, a.alert_id
    for narrowed in (QueueQuery(detector=noisiest), QueueQuery(severities=["low"]),
                     QueueQuery(assignee=UNASSIGNED)):  # fmt: skip
        # A filtered queue is a search: every alert it keeps is its own row.
        assert alert_queue(ops, narrowed, noisy_after=threshold).groups == []


def test_the_page_filters_sorts_and_shows_only_pseudonyms(world, analyst):
    reply = analyst.get("/alerts", params={"severity": ["critical"], "sort": "newest"})
    assert reply.status_code == 200
    rows = re.findall(r'<td class="sev sev-(\w+)">', reply.text)
    assert rows and set(rows) == {"critical"}
    for employee in employees_of(world):
        assert f"<td>{employee}</td>" not in reply.text
    assert re.search(r"<td>[A-Za-z]+[-:][0-9A-Za-z-]+</td>", reply.text)  # pseudonyms instead
    assert 'rel="next"' in analyst.get("/alerts").text  # 300+ alerts: more than one page


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "detected_from"),
        ({"sort": "random"}, "sort"),
        ({"after": "garbage"}, "page link"),
        ({"state": "lost"}, "state"),
    ],  # fmt: skip
)
def test_bad_filters_are_a_clear_400(analyst, params, field):
    reply = analyst.get("/alerts", params=params)
    assert reply.status_code == 400
    assert field in reply.text
    assert "Traceback" not in reply.text


def test_bulk_triage_changes_what_it_may_and_names_what_it_refused(world, analyst):
    ops = world.service.ops.store
    targets = [a.alert_id for a in world.synthetic[:3]]
    token = csrf_of(analyst, "/alerts")
    closed = analyst.post("/alerts/bulk", data={
        "csrf_token": token, "alert_ids": targets[:2], "action": "closed",
        "close_reason": "data_quality", "why": "feed replayed"})  # fmt: skip
    assert closed.status_code == 200
    assert "2 alert(s) changed" in closed.text
    again = analyst.post("/alerts/bulk", data={
        "csrf_token": token, "alert_ids": targets, "action": "closed",
        "close_reason": "data_quality"})  # fmt: skip
    assert "1 alert(s) changed, 2 refused" in again.text
    assert "cannot go from closed to closed" in again.text
    assigned = analyst.post("/alerts/bulk", data={
        "csrf_token": token, "alert_ids": targets, "action": "assign", "assignee": "analyst"})  # fmt: skip
    assert "3 alert(s) changed" in assigned.text
    mine = walk(ops, QueueQuery(assignee="analyst"))
    assert {a.alert_id for a in mine} == set(targets)
    assert not {a.alert_id for a in walk(ops, QueueQuery(assignee=UNASSIGNED))} & set(targets)
    moves = audit_entries(ops, actor="analyst", action="alert.closed")
    assert {e.subject_id for e in moves} == set(targets)
    nobody = analyst.post("/alerts/bulk", data={"csrf_token": token, "action": "closed"})
    assert nobody.status_code == 400 and "no alerts selected" in nobody.text


def test_sqlite_planner_statistics_are_refreshed_at_most_once_per_interval(world):
    ops = world.service.ops.store
    assert ops.refresh_statistics(every_seconds=0)
    assert not ops.refresh_statistics(every_seconds=3600)
    with ops.engine.connect() as con:
        indexes = {r[0] for r in con.exec_driver_sql("SELECT idx FROM sqlite_stat1")}
    assert {"alerts_noisy", "alerts_assignee_detected", "alerts_score_id"} <= indexes
