"""Reopenings and the allowance, on test_allowance's hand-built company: a customer the
employee opened alone earlier the same day, opened again with no more fields, spends
nothing more, while the group still learns from every opening."""

from __future__ import annotations

import datetime as dt
import itertools
import shutil

import msgspec
import pytest

from detect_scenarios import at, detect, explanations
from insiderwatch.detect import DetectionConfig, run_detection
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from sample_data import KEY_HEX
from test_allowance import ACT, HARVESTER, MANAGERS, allowance_on, company

KEY = HashKey(bytes.fromhex(KEY_HEX))
FIELDS = ["name", "email"]


def session_company():
    """test_allowance's company, where the engineer who harvests on day ACT first debugs
    one account (opened three times) before the harvest, and after it, his allowance
    spent, opens another account twice."""
    c = company()
    debug = [c.event(HARVESTER, at(ACT, 9, 30 + 5 * k), "view", ["c310"], FIELDS, app="console")
             for k in range(3)]  # fmt: skip
    late = [c.event(HARVESTER, at(ACT, 11, 30 + 5 * k), "view", ["c311"], FIELDS, app="console")
            for k in range(2)]  # fmt: skip
    return c, debug, late


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    c, debug, late = session_company()
    store = detect(c, tmp_path_factory.mktemp("reopen"))
    yield c, debug, late, store
    store.close()


def test_a_debugging_session_spends_the_allowance_once(world):
    c, debug, late, store = world
    why = explanations(store)
    used, allowance = allowance_on(store, HARVESTER, ACT)
    assert used + 3 <= allowance  # room for the session opened three times, and more
    # The first opening spends one look-up, the two reopenings nothing: the harvest after
    # them has two more allowed than had every opening spent.
    assert [why[e] for e in debug] == ["allowance"] * 3
    harvest = [r["event_id"] for r in c.access if r["event_id"] in c.act][:20]
    allowed = [e for e in harvest if why[e] == "allowance"]
    assert len(allowed) == allowance - used - 1 and allowed == harvest[: len(allowed)]
    # Past the allowance, a reopening spending nothing is still no look-up within it.
    assert [why[e] for e in late] == [None, None]


def test_the_group_learns_from_every_opening_and_spends_the_first(world):
    _, _, _, store = world
    lookups, spent = store.con.execute(
        "SELECT lookups, spent FROM allowance_days WHERE employee_id = ? AND day = ?",
        [HARVESTER, at(ACT, 0).date()],
    ).fetchone()
    assert (lookups, spent) == (3 + 20 + 2, 1 + 20 + 1)


def test_a_reopening_after_a_case_opening_spends(tmp_path):
    """A manager opens a customer under her case, then again with no case (no call-back
    window here, so no case reason covers it): the reopening followed no opening that
    spent, so it spends like any look-up and stays a follow-up of the case's opening.
    Counting any earlier opening, it spent nothing, a first spend at a running count of
    nothing, which fell within an allowance even where the group has none."""
    c = company()
    manager = MANAGERS[0]
    opened = at(ACT, 10)
    c.cases.append({"case_id": "k-m0", "customer_id": "c390", "employee_id": manager,
                    "opened_at": opened, "closed_at": opened + dt.timedelta(minutes=30)})  # fmt: skip
    first = c.event(manager, at(ACT, 10, 5), "view", ["c390"], FIELDS, case_id="k-m0")
    again = c.event(manager, at(ACT, 13), "view", ["c390"], FIELDS)
    cfg = DetectionConfig()
    cfg = msgspec.structs.replace(
        cfg, explanation=msgspec.structs.replace(cfg.explanation, callback_hours=0)
    )
    store = detect(c, tmp_path, cfg)
    try:
        why = explanations(store)
        assert why[first] is not None and not why[first].startswith("allowance")
        assert why[again] is None or not why[again].startswith("allowance")
        lookups, spent = store.con.execute(
            "SELECT lookups, spent FROM allowance_days WHERE employee_id = ? AND day = ?",
            [manager, at(ACT, 0).date()],
        ).fetchone()
        assert lookups >= 2  # the reopening and the group's daily look-up
        assert spent == lookups  # none of them reopened a customer whose opening spent
    finally:
        store.close()


def _state(store):
    return (
        store.con.execute(
            "SELECT event_id, explanation FROM access_explained ORDER BY ALL"
        ).fetchall(),
        store.con.execute("SELECT * FROM allowance_days ORDER BY ALL").fetchall(),
    )


def test_only_a_reopening_spends_nothing_and_any_split_into_steps_agrees(world, tmp_path):
    """More fields than the first opening, or another customer beside it, is no reopening:
    each spends as any look-up; two reopenings at one instant spend nothing. The day cut
    into steps between the opening and its reopenings ends as one replay does."""
    _, _, _, base = world
    base_lookups, base_spent = base.con.execute(
        "SELECT lookups, spent FROM allowance_days WHERE employee_id = ? AND day = ?",
        [HARVESTER, at(ACT, 0).date()],
    ).fetchone()
    c, _, _ = session_company()
    c.event(HARVESTER, at(ACT, 9, 50), "view", ["c310"], [*FIELDS, "phone"], app="console")
    c.event(HARVESTER, at(ACT, 9, 52), "search", ["c310", "c312"], FIELDS, app="console")
    for _ in range(2):  # the same instant: told apart by event id
        c.event(HARVESTER, at(ACT, 9, 45), "view", ["c310"], FIELDS, app="console")
    once = detect(c, tmp_path / "once")
    try:
        lookups, spent = once.con.execute(
            "SELECT lookups, spent FROM allowance_days WHERE employee_id = ? AND day = ?",
            [HARVESTER, at(ACT, 0).date()],
        ).fetchone()
        assert lookups == base_lookups + 1 + 2 + 2
        assert spent == base_spent + 1 + 2  # the wider view and the search; not the pair
        replayed = _state(once)
    finally:
        once.close()
    cuts = [at(ACT, 9, 32), at(ACT, 9, 40), at(ACT, 9, 45), at(ACT, 9, 51), at(ACT, 11, 31)]
    store = _detect_in_steps(c, tmp_path / "steps", cuts)
    try:
        assert _state(store) == replayed
    finally:
        store.close()


def _detect_in_steps(c, folder, cuts) -> Store:
    """The company's context, then its events loaded and detected in parts cut at ``cuts``."""
    data = c.write(folder / "dataset")
    rows = [msgspec.json.decode(x) for x in (data / "access.jsonl").read_bytes().splitlines()]
    context = folder / "context"
    shutil.copytree(data, context, ignore=shutil.ignore_patterns("access*"))
    store = Store(folder / "iw.duckdb", threads=1)
    ingest_dataset(store, context, KEY)
    bounds = [dt.datetime.min.replace(tzinfo=dt.UTC), *cuts, dt.datetime.max.replace(tzinfo=dt.UTC)]
    for k, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        part = folder / f"part{k}"
        part.mkdir()
        (part / "access.jsonl").write_bytes(b"".join(
            msgspec.json.encode(r) + b"\n" for r in rows
            if lo <= dt.datetime.fromisoformat(r["time"]) < hi
        ))  # fmt: skip
        ingest_dataset(store, part, KEY)
        run_detection(store, DetectionConfig(), KEY)
    return store
