"""Each access is explained once: a live step keeps the explanations earlier steps of the
same day gave, explains only what is new, and ends where one replay of the day ends."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import msgspec
import pytest

from detect_scenarios import ACT_DAY, AGENTS, INSIDER, Company, at, base_company, replayed
from insiderwatch.alerts import read_alert_history
from insiderwatch.detect import DetectionConfig, explain, run_detection
from insiderwatch.detect.casescope import limit_case_scope
from insiderwatch.detect.config import Explanation
from insiderwatch.detect.history import read_findings
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from sample_data import KEY_HEX, copy_store, folder_digest

KEY = HashKey(bytes.fromhex(KEY_HEX))


def busy_day() -> Company:
    """Nine ordinary days of case work; on the last the insider also harvests, exports
    and keeps looking, and a colleague looks a customer up just before a case about it
    opens."""
    c = base_company(days=ACT_DAY)
    d = ACT_DAY
    for k in range(12):
        c.event(INSIDER, at(d, 8, 5 * k), "view", [f"c{300 + k:03d}"], ["name"])
    harvest = [f"c{200 + k:03d}" for k in range(30)]
    c.event(INSIDER, at(d, 10), "search", harvest, ["name", "email", "phone"])
    c.event(INSIDER, at(d, 12, 30), "export", harvest, ["email", "phone"],
            destination="personal_email")  # fmt: skip
    for k in range(10):
        c.event(INSIDER, at(d, 15, k), "view", [f"c{250 + k:03d}"], ["name", "email"])
    c.event(AGENTS[2], at(d, 11, 50), "view", ["c150"], ["name", "address"])
    c.cases.append({"case_id": "k-late", "customer_id": "c150", "employee_id": AGENTS[2],
                    "opened_at": at(d, 11, 55), "closed_at": at(d, 12, 30)})  # fmt: skip
    for e in AGENTS[1:]:
        c.event(e, at(d, 14), "view", ["c100"], ["name"])
    return c


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return busy_day().write(tmp_path_factory.mktemp("busy") / "dataset")


def split(dataset: Path, folder: Path, pieces: list[tuple[dt.datetime, dt.datetime]]):
    """The context tables, then the events of each [from, to) piece as its own arrival."""
    context = folder / "context"
    shutil.copytree(dataset, context, ignore=shutil.ignore_patterns("access*"))
    rows = [msgspec.json.decode(x) for x in (dataset / "access.jsonl").read_bytes().splitlines()]
    arrivals = []
    for k, (lo, hi) in enumerate(pieces):
        piece = folder / f"piece{k}"
        piece.mkdir()
        inside = [r for r in rows if lo <= dt.datetime.fromisoformat(r["time"]) < hi]
        (piece / "access.jsonl").write_bytes(
            b"".join(msgspec.json.encode(r) + b"\n" for r in inside)
        )
        arrivals.append((piece, len(inside)))
    return context, arrivals


def state(store: Store):
    explained = store.con.execute(
        "SELECT event_id, day, employee_id, role, explanation FROM access_explained ORDER BY ALL"
    ).fetchall()
    return explained, read_findings(store.con), read_alert_history(store)


def replay(dataset: Path, built_once, cfg: DetectionConfig) -> Store:
    """One replay of the dataset, shared by the tests that use the same settings."""
    return Store(replayed(dataset, built_once, cfg), threads=1, read_only=True)


def history_step(dataset: Path, built_once, cfg: DetectionConfig) -> tuple[Path, int]:
    """The first step of every split here: the context tables, then the days before the
    act day arriving, and one run. Built once per run for each setting (``built_once``):
    the database file, read-only, and the events that run explained."""

    def build(folder: Path) -> None:
        context, [(piece, _)] = split(dataset, folder, [(at(1, 0), at(ACT_DAY, 0))])
        with Store(folder / "steps.duckdb", threads=1) as store:
            ingest_dataset(store, context, KEY)
            ingest_dataset(store, piece, KEY)
            explained = run_detection(store, cfg, KEY).explained
        (folder / "explained").write_text(str(explained))

    settings = msgspec.json.encode(cfg, enc_hook=str)
    built = built_once(f"explain-history-{folder_digest(dataset, settings)}", build)
    return built / "steps.duckdb", int((built / "explained").read_text())


def steps_through_the_day(dataset, folder, cfg, cuts, built_once, *, order=None):
    """The history up to the day in one run (``history_step``'s), then the day arriving
    in pieces, each followed by a run: the events each run explained afresh, and the
    store."""
    bounds = [at(1, 0), at(ACT_DAY, 0), *cuts, at(ACT_DAY + 1, 0)]
    _, arrivals = split(dataset, folder, list(zip(bounds, bounds[1:], strict=False)))
    db, explained = history_step(dataset, built_once, cfg)
    store = Store(copy_store(db, folder / "steps.duckdb"), threads=1)
    order = order or range(len(arrivals))
    assert order[0] == 0, "the history comes first"
    counted = [(arrivals[0][1], explained)]
    for k in order[1:]:
        piece, events = arrivals[k]
        ingest_dataset(store, piece, KEY)
        counted.append((events, run_detection(store, cfg, KEY).explained))
    return store, counted


def test_small_steps_explain_each_event_once_and_end_as_one_replay(dataset, tmp_path, built_once):
    cfg = DetectionConfig()
    cuts = [at(ACT_DAY, h, 2) for h in range(8, 18)]  # hourly, just after each hour
    store, counted = steps_through_the_day(dataset, tmp_path, cfg, cuts, built_once)
    # Every run explains exactly the events that arrived for it: nothing of the day twice.
    assert all(explained == events for events, explained in counted)
    assert sum(n > 0 for n, _ in counted[1:]) >= 8, "the day comes in many pieces"
    once = replay(dataset, built_once, cfg)
    assert state(store) == state(once)
    assert read_alert_history(store), "the busy day should raise an alert"
    # The day is still open (no later event yet): only its explanations are kept.
    kept = store.con.execute("SELECT DISTINCT day FROM step_explained").fetchall()
    assert kept == [(at(ACT_DAY, 0).date(),)]
    store.close()
    once.close()


def test_a_case_opened_after_a_look_up_within_the_slack_explains_it_again(
    dataset, tmp_path, built_once
):
    """With slack before a case opens, a step that learns of a new case re-explains the
    look-ups of its employee just before it: the colleague's view at 11:50."""
    cfg = DetectionConfig(explanation=Explanation(slack_before_minutes=10))
    cuts = [at(ACT_DAY, 11, 52), at(ACT_DAY, 13)]
    store, counted = steps_through_the_day(dataset, tmp_path, cfg, cuts, built_once)
    view = store.con.execute(
        "SELECT explanation FROM access_explained a JOIN access USING (event_id) "
        "WHERE a.employee_id = ? AND time = ?",
        [AGENTS[2], at(ACT_DAY, 11, 50)],
    ).fetchall()
    assert view == [("own_case",)]
    (before, _), (middle, again), _ = counted[1:]
    assert again == middle + 1, "only the view before the new case is explained again"
    once = replay(dataset, built_once, cfg)
    assert state(store) == state(once)
    store.close()
    once.close()


def test_events_of_the_day_arriving_late_are_explained_in_their_place(
    dataset, tmp_path, built_once
):
    """The afternoon arrives before the morning: the insider's morning look-ups are new
    to a day already partly explained, and everything after them is explained again."""
    cfg = DetectionConfig()
    cuts = [at(ACT_DAY, 12), at(ACT_DAY, 16)]
    # pieces: history, day 00-12, 12-16, 16-24; the 12-16 piece comes before 00-12
    store, counted = steps_through_the_day(
        dataset, tmp_path, cfg, cuts, built_once, order=[0, 2, 1, 3]
    )
    afternoon, morning = counted[1][0], counted[2][0]
    assert counted[1][1] == afternoon
    assert counted[2][1] > morning, "the afternoon's events after the morning's are redone"
    once = replay(dataset, built_once, cfg)
    assert state(store) == state(once)
    store.close()
    once.close()


def test_kept_touches_are_made_with_their_stored_case_reasons(
    dataset, tmp_path, built_once, monkeypatch
):
    """A step that keeps the day's explanations makes ``step_touch`` with each kept touch's
    stored case reason (the book and the handover read them), not with none to be filled
    in by an update after: what the case-scope limit sees. The touches it explains afresh
    have theirs from the step, and the day ends as one replay."""
    seen = []

    def limit(con, params):  # step_touch as made, before anything updates it
        seen.append(
            con.execute(
                """SELECT t.touch_explanation, k.reason FROM step_touch t
                   LEFT JOIN step_touch_explained k
                     ON k.day = $day AND k.event_id = t.event_id
                    AND k.customer_id = t.customer_id
                   WHERE NOT t.fresh""",
                {"day": params["day"]},
            ).fetchall()
        )
        limit_case_scope(con, params)

    monkeypatch.setattr(explain, "limit_case_scope", limit)
    cfg = DetectionConfig()
    cuts = [at(ACT_DAY, h, 2) for h in (10, 12, 14)]
    store, _ = steps_through_the_day(dataset, tmp_path, cfg, cuts, built_once)
    kept = [row for rows in seen for row in rows]
    assert sum(stored is not None for _, stored in kept) >= 3, "kept touches with case reasons"
    assert all(made == stored for made, stored in kept)
    once = replay(dataset, built_once, cfg)
    assert state(store) == state(once)
    store.close()
    once.close()
