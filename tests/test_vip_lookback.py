"""The vip look-back over the learning window: flagged VIPs opened in the first week are
judged once, at the first step after it, with what the window taught; a day cut into
runs finds the same."""

from __future__ import annotations

import datetime as dt
import shutil

import msgspec
import pytest

from detect_scenarios import AGENTS, Company, at, base_company, detect, explanations
from insiderwatch.detect import DetectionConfig, run_detection
from insiderwatch.detect.history import read_findings
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from sample_data import KEY_HEX

LEARN = DetectionConfig().routine.learning_days
JUDGED = LEARN + 1  # the first day after the window (days count from 1)
SNOOP_DAY = LEARN - 1  # inside the window
DAYS = JUDGED + 2
INSIDER, COLLEAGUE = AGENTS[0], AGENTS[1]


def company() -> Company:
    """The base company; on day 6 of the 7-day window the insider searches one flagged
    VIP by name and opens two, and a colleague opens another before the case about that
    customer she works the same afternoon (the book, learned by the window's end,
    explains her look-up; at the time nothing did)."""
    c = base_company(days=DAYS)
    c.event(INSIDER, at(SNOOP_DAY, 11), "search", ["c001"], ["name"], act=True)
    c.event(INSIDER, at(SNOOP_DAY, 11, 1), "view", ["c001"], ["name", "address"], act=True)
    c.event(INSIDER, at(SNOOP_DAY, 11, 5), "view", ["c002"], ["name", "address"], act=True)
    c.event(COLLEAGUE, at(SNOOP_DAY, 8), "view", ["c000"], ["name", "address"])
    opened = at(SNOOP_DAY, 17)
    c.cases.append({"case_id": "kvip", "customer_id": "c000", "employee_id": COLLEAGUE,
                    "opened_at": opened, "closed_at": opened + dt.timedelta(minutes=30)})  # fmt: skip
    c.event(COLLEAGUE, opened + dt.timedelta(minutes=5), "view", ["c000"], ["name"],
            case_id="kvip")  # fmt: skip
    return c


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    c = company()
    store = detect(c, tmp_path_factory.mktemp("lookback"))
    yield c, store
    store.close()


def _vip(store: Store, employee: str) -> list[tuple]:
    return store.con.execute(
        "SELECT day, time, event_ids, reason FROM findings WHERE detector = 'vip' "
        "AND employee_id = ? ORDER BY time, reason",
        [employee],
    ).fetchall()


def test_a_first_week_vip_snoop_is_flagged_when_the_window_ends_not_the_booked_colleague(world):
    c, store = world
    found = _vip(store, INSIDER)
    assert [(f[0], f[1]) for f in found] == [(at(JUDGED, 0).date(), at(JUDGED, 0))] * 2
    # each cites the figure's first opening (the name search for c001), all before the step
    cited = sorted(e for f in found for e in f[2])
    assert cited == sorted([c.act[0], c.act[2]])
    assert all(f[3].startswith("in the learning window: opened VIP customer") for f in found)
    # the colleague's early look-up was unexplained when it happened; the book learned
    # from her case that afternoon explains it when the window is judged
    early = next(r["event_id"] for r in c.access
                 if r["employee_id"] == COLLEAGUE and r["time"] == at(SNOOP_DAY, 8))  # fmt: skip
    assert explanations(store)[early] is None
    assert _vip(store, COLLEAGUE) == []


def test_runs_cut_through_the_window_and_its_first_day_find_what_a_replay_finds(world, tmp_path):
    """The look-back runs at every step of its day and finds the same each time: the
    events arrive in pieces (mid-window, mid-snoop-day, mid-first-judged-day), each
    followed by a run, and the findings equal the replay's."""
    c, store = world
    dataset = c.write(tmp_path / "dataset")
    key = HashKey(bytes.fromhex(KEY_HEX))
    context = tmp_path / "context"
    shutil.copytree(dataset, context, ignore=shutil.ignore_patterns("access*"))
    steps = Store(tmp_path / "steps.duckdb", threads=1)
    ingest_dataset(steps, context, key)
    rows = (dataset / "access.jsonl").read_bytes().splitlines()
    bounds = [at(1, 0), at(3, 12), at(SNOOP_DAY, 11, 3), at(JUDGED, 9), at(JUDGED, 14),
              at(DAYS + 1, 0)]  # fmt: skip
    for k, (lo, hi) in enumerate(zip(bounds, bounds[1:], strict=False)):
        piece = tmp_path / f"piece{k}"
        piece.mkdir()
        inside = [r for r in rows if lo <= _time(r) < hi]
        (piece / "access.jsonl").write_bytes(b"".join(r + b"\n" for r in inside))
        ingest_dataset(steps, piece, key)
        run_detection(steps, DetectionConfig(), key)
    try:
        found = read_findings(steps.con)
        assert sum(f.reason.startswith("in the learning window") for f in found) == 2
        assert found == read_findings(store.con)
    finally:
        steps.close()


def _time(row: bytes) -> dt.datetime:
    return dt.datetime.fromisoformat(msgspec.json.decode(row)["time"])


def test_the_step_after_the_window_is_the_only_one_that_looks_back(world):
    _, store = world
    days = store.con.execute(
        "SELECT DISTINCT day FROM findings WHERE starts_with(reason, 'in the learning window')"
    ).fetchall()
    assert days == [(at(JUDGED, 0).date(),)]
