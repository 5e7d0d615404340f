"""A detector's table of earlier days over a window (``DayWindow``, detect/daily.py) is
carried from one day to the next: the day that left the window dropped, the day that
joined it added. Carried, it holds exactly what reading the whole window gives; a rewind
reads it whole again; and runs of a day each end as one replay does. The cases the
portfolios are learned from, and exfiltration's days with a bulk send, are carried the
same way."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from pathlib import Path
from unittest import mock

import msgspec

from detect_scenarios import ACT_DAY, AGENTS, at, scenario
from insiderwatch.alerts import read_alert_history
from insiderwatch.detect import DetectionConfig, daily, run_detection
from insiderwatch.detect.base import StepContext, execute
from insiderwatch.detect.casework import TEAM_CASES, casework_settings, team_cases_window
from insiderwatch.detect.detectors.exfiltration import BULK_EMPLOYEE_DAYS, Exfiltration
from insiderwatch.detect.detectors.shared_harvest import EARLIER, SharedHarvest
from insiderwatch.detect.history import read_findings
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from sample_data import KEY_HEX
from test_daily import company as seller_desk
from test_exfiltration import _company as printing_desk

KEY = HashKey(bytes.fromhex(KEY_HEX))
WINDOW = 3  # the harvest's window, in days with the step's: two earlier days carried
_BASE = DetectionConfig(detectors={"shared_harvest": {"window_days": WINDOW}})
# Detectors judge from the second day on, so the window rolls over most of the history.
CFG = msgspec.structs.replace(
    _BASE, routine=msgspec.structs.replace(_BASE.routine, learning_days=1)
)
MARKER = "SELECT count(*) FROM daily_harvest_caseless WHERE event_id = 'marker'"


def _end(day: int) -> dt.datetime:
    return at(day + 1, 0) - dt.timedelta(microseconds=1)


def _store(tmp_path: Path, name: str = "iw.duckdb") -> tuple[Store, Path]:
    dataset = scenario("shared_harvest").write(tmp_path / "dataset")
    store = Store(tmp_path / name, threads=1)
    ingest_dataset(store, dataset, KEY)
    return store, dataset


def _window_rows(store: Store) -> list[tuple]:
    return store.con.execute(f"SELECT * FROM {EARLIER} ORDER BY ALL").fetchall()


def _read_whole(store: Store, day: int) -> list[tuple]:
    """What the harvest's window holds for ``day`` read whole from the stored days."""
    on = at(day, 0)
    ctx = StepContext(day=on.date(), start=on, end=on + dt.timedelta(days=1),
                      lookback_start=on - dt.timedelta(days=1),
                      baseline_start=on.date(), config=CFG)  # fmt: skip
    window = SharedHarvest().daily(ctx, CFG.detector_config(SharedHarvest()))[EARLIER]
    since = on.date() - dt.timedelta(days=window.days)
    rows = execute(store.con, f"{window.sql} ORDER BY ALL", {**ctx.params, "since": since})
    return rows.fetchall()


def _assert_finds_as_one_replay(
    store: Store, dataset: Path, path: Path, *, carry: bool,
    cfg: DetectionConfig = CFG, detector: str = "shared_harvest",
):  # fmt: skip
    """``store`` holds the findings (``detector``'s among them) and alert history of one
    replay of ``dataset`` into a new store at ``path``: one that carries its windows
    between steps, or (``carry`` false) one that finds nothing to carry and reads every
    day's window whole."""
    whole = (
        contextlib.nullcontext() if carry else mock.patch.object(daily, "_windows", lambda con: {})
    )
    with Store(path, threads=1) as once, whole:
        ingest_dataset(once, dataset, KEY)
        run_detection(once, cfg, KEY)
        assert any(f.detector == detector for f in read_findings(once.con))
        assert read_findings(store.con) == read_findings(once.con)
        assert read_alert_history(store) == read_alert_history(once)


def test_a_carried_window_holds_what_reading_it_whole_gives(tmp_path):
    """Day by day, each run continuing the last: the window dropped the days that left
    it and holds every case-less look-up of those that stayed, no more."""
    store, _ = _store(tmp_path)
    seen = set()
    for day in range(1, ACT_DAY + 1):
        run_detection(store, CFG, KEY, until=_end(day))
        if day >= 2:  # judged from the second day on: the window is made
            rows = _window_rows(store)
            assert rows == _read_whole(store, day)
            seen.update(r[1] for r in rows)
            assert {r[2].date() for r in rows} <= {at(day - k, 0).date() for k in (1, 2)}
    assert len(seen) > 2 * len(AGENTS)  # the look-ups of many days went through it
    store.close()


def test_a_window_is_carried_to_the_next_day_and_read_whole_after_a_rewind(tmp_path):
    """A row only the carried table holds (a marker) stays with the day it is placed in
    while that day is in the window; it goes when the day leaves, and a rewind (a late
    event of an earlier day) reads the window whole again."""
    store, _ = _store(tmp_path)
    run_detection(store, CFG, KEY, until=_end(4))
    store.con.execute(
        f"INSERT INTO {EARLIER} SELECT employee_id, 'marker', ?, customer_id "
        f"FROM {EARLIER} LIMIT 1",
        [at(3, 12)],
    )
    run_detection(store, CFG, KEY, until=_end(5))  # day 5's window: days 3 and 4
    assert store.scalar(MARKER) == 1
    run_detection(store, CFG, KEY, until=_end(6))  # day 6's: days 4 and 5
    assert store.scalar(MARKER) == 0
    assert _window_rows(store) == _read_whole(store, 6)

    store.con.execute(
        f"INSERT INTO {EARLIER} SELECT employee_id, 'marker', ?, customer_id "
        f"FROM {EARLIER} LIMIT 1",
        [at(5, 12)],
    )
    late = {"event_id": "ev-late", "time": at(5, 17).isoformat(), "employee_id": AGENTS[2],
            "action": "view", "customer_ids": ["c351"], "fields": ["name"], "app": "crm",
            "src_ip": "10.0.0.3", "device_id": f"dev-{AGENTS[2]}"}  # fmt: skip
    (tmp_path / "late").mkdir()
    (tmp_path / "late" / "access.jsonl").write_text(json.dumps(late) + "\n")
    ingest_dataset(store, tmp_path / "late", KEY)
    run_detection(store, CFG, KEY, until=_end(7))  # rewound to day 5: read whole
    assert store.scalar(MARKER) == 0  # day 5 is in day 7's window: the marker would stay
    rows = _window_rows(store)
    assert rows == _read_whole(store, 7)
    assert at(5, 17) in {r[2] for r in rows}  # the late look-up is in it
    store.close()


def test_runs_of_a_day_each_end_as_one_replay(tmp_path):
    """A run per day (the windows carried between runs) and one replay (carried between
    its steps) find and alert alike."""
    store, dataset = _store(tmp_path)
    for day in range(1, ACT_DAY + 1):
        run_detection(store, CFG, KEY, until=_end(day))
    _assert_finds_as_one_replay(store, dataset, tmp_path / "once.duckdb", carry=True)
    store.close()


def test_steps_within_days_find_as_a_replay_that_reads_every_window_whole(tmp_path):
    """Live steps that stop mid-day (the window carried between them) find and alert as
    a replay that never carries and reads each day's window whole: a carrying bug both
    paths of the engine share shows here, where comparing two carried runs cannot."""
    store, dataset = _store(tmp_path)
    for day in range(1, ACT_DAY + 1):
        for hour in (6, 13, 20):
            run_detection(store, CFG, KEY, until=at(day, hour))
            if day >= 2:
                assert _window_rows(store) == _read_whole(store, day)
        run_detection(store, CFG, KEY, until=_end(day))
    _assert_finds_as_one_replay(store, dataset, tmp_path / "whole.duckdb", carry=False)
    store.close()


def test_the_portfolios_cases_carried_hold_what_reading_them_whole_gives(tmp_path):
    """The cases the teams' portfolios are learned from are a window too (casework.py):
    carried day by day over a short history, they are the window's cases read whole."""
    c, _ = seller_desk()
    base = DetectionConfig()
    cfg = msgspec.structs.replace(
        base, explanation=msgspec.structs.replace(base.explanation, portfolio_history_days=3)
    )
    store = Store(tmp_path / "iw.duckdb", threads=1)
    ingest_dataset(store, c.write(tmp_path / "dataset"), KEY)
    window = team_cases_window(cfg)
    for day in range(1, 9):
        run_detection(store, cfg, KEY, until=_end(day))
        on = at(day, 0)
        params = {"s": on, "since": on.date() - dt.timedelta(days=window.days),
                  **casework_settings(cfg)}  # fmt: skip
        whole = execute(store.con, f"{window.sql} ORDER BY ALL", params).fetchall()
        carried = store.con.execute(f"SELECT * FROM {TEAM_CASES} ORDER BY ALL").fetchall()
        assert carried == whole
        assert day < 4 or len({r[4].date() for r in carried}) == 3  # three days' cases
    store.close()


def test_the_bulk_send_days_carried_hold_what_reading_them_whole_gives(tmp_path):
    """Exfiltration's employee-days with or without a bulk send no reason explains are a
    window too: carried day by day over a short baseline, they are the window read
    whole, and a replay that reads every day's window whole finds and alerts alike."""
    base = DetectionConfig(baseline_days=3)
    cfg = msgspec.structs.replace(
        base, routine=msgspec.structs.replace(base.routine, learning_days=1)
    )
    c, _ = printing_desk(peers_print=True)  # peers print in bulk on every other day
    dataset = c.write(tmp_path / "dataset")
    store = Store(tmp_path / "iw.duckdb", threads=1)
    ingest_dataset(store, dataset, KEY)
    det = Exfiltration()
    bulk = set()
    for day in range(1, ACT_DAY + 1):
        run_detection(store, cfg, KEY, until=_end(day))
        if day < 2:  # judged from the second day on: the window is made
            continue
        on = at(day, 0)
        ctx = StepContext(day=on.date(), start=on, end=on + dt.timedelta(days=1),
                          lookback_start=on - dt.timedelta(days=1),
                          baseline_start=on.date() - dt.timedelta(days=3), config=cfg)  # fmt: skip
        window = det.daily(ctx, cfg.detector_config(det))[BULK_EMPLOYEE_DAYS]
        params = {**ctx.params, "since": on.date() - dt.timedelta(days=window.days)}
        whole = execute(store.con, f"{window.sql} ORDER BY ALL", params).fetchall()
        carried = store.con.execute(f"SELECT * FROM {BULK_EMPLOYEE_DAYS} ORDER BY ALL")
        assert carried.fetchall() == whole
        assert {r[1] for r in whole} == {at(day - k, 0).date() for k in (1, 2, 3) if day > k}
        bulk.update((r[0], r[1]) for r in whole if r[3])
    assert len(bulk) > 2 * ACT_DAY  # many employee-days with a bulk send went through it
    _assert_finds_as_one_replay(
        store, dataset, tmp_path / "whole.duckdb", carry=False, cfg=cfg, detector="exfiltration"
    )
    store.close()
