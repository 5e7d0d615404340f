"""The alert line per day (detect/alertline.py): lowered to the analysts' capacity where
the days before opened fewer alerts, never above ``alert_score``, read from earlier days
only. Findings are written straight into a store: the line reads nothing else."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from insiderwatch.detect.alertline import computed_lines
from insiderwatch.detect.config import DetectionConfig, Risk
from insiderwatch.detect.history import FindingsBefore, update_history
from insiderwatch.detect.state import ensure_tables
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from sample_data import KEY_HEX

KEY = HashKey(bytes.fromhex(KEY_HEX))
DAY1 = dt.date(2026, 9, 1)
STAFF = [f"e{i:03d}" for i in range(200)]
# Routine learning off: every day is judged from the first.
QUIET = msgspec.convert({"routine": {"enabled": False}}, DetectionConfig)


def day(n: int) -> dt.date:
    return DAY1 + dt.timedelta(days=n - 1)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "iw.duckdb", threads=1)
    ensure_tables(s.con)
    # 200 staff at work every day of three weeks: 2,800 employee-days in a 14-day window.
    s.con.execute(
        "INSERT INTO employee_days (employee_id, day) "
        "SELECT e, ?::DATE + d::INTEGER FROM unnest(?::VARCHAR[]) t(e), range(21) r(d)",
        [DAY1, STAFF],
    )
    yield s
    s.close()


def add_finding(store: Store, employee: str, on: int, points: float, hour: int = 10) -> None:
    time = dt.datetime.combine(day(on), dt.time(hour), tzinfo=dt.UTC)
    store.con.execute(
        "INSERT INTO findings VALUES (?, 'volume', '1-x', ?, ?, ?, ?, ?, 'medium', false, "
        "'test', ['ev'], [], NULL, NULL, NULL, NULL, NULL, NULL)",
        [f"F-{employee}-{on}-{hour}", employee, day(on), time, time, points],
    )


def lines(store: Store, cfg: DetectionConfig = QUIET) -> dict[dt.date, float]:
    return {r["day"]: r["line"] for r in computed_lines(store.con, cfg, None).to_pylist()}


def history(store: Store, cfg: DetectionConfig = QUIET):
    store.con.execute("BEGIN")
    update_history(store, cfg, KEY, FindingsBefore(None))
    store.con.execute("COMMIT")
    return store.con.execute(
        "SELECT employee_id, score, reasons FROM alerts WHERE revision = 0"
    ).fetchall()


def test_a_quiet_company_lowers_the_line_and_a_finding_below_50_opens_a_capacity_alert(store):
    # A few benign findings, none near 50; then, on day 18, an insider's finding of 18
    # points: a score of 36, which the fixed line lets pass.
    for k, on in enumerate((3, 6, 9, 12)):
        add_finding(store, STAFF[k + 1], on, 6)
    add_finding(store, STAFF[0], 18, 18)
    line = lines(store)[day(18)]
    assert 30 <= line < 50
    opened = history(store)
    assert [(e, round(s)) for e, s, _ in opened] == [(STAFF[0], 36)]
    assert any(r.startswith("capacity alert") for r in opened[0][2])
    # With the capacity line off, the same findings open nothing.
    off = msgspec.structs.replace(QUIET, risk=Risk(alert_capacity_per_1k=0))
    assert history(store, off) == []


def test_the_line_never_rises_above_alert_score(store):
    # A noisy company: a dozen staff past 50 every few days, far more than the capacity.
    for on in range(1, 20, 3):
        for e in STAFF[:12]:
            add_finding(store, e, on, 40)
    assert set(lines(store).values()) == {50.0}
    strict = msgspec.structs.replace(QUIET, risk=Risk(alert_score=40))
    assert max(lines(store, strict).values()) <= 40


def test_a_day_s_line_reads_no_later_day(store):
    for k, on in enumerate((3, 6, 9, 12, 15)):
        add_finding(store, STAFF[k + 1], on, 5 + k)
    before = lines(store)
    # A later day's findings change: a high score on day 15 and new ones on day 20.
    add_finding(store, STAFF[9], 15, 30, hour=12)
    add_finding(store, STAFF[10], 20, 30)
    after = lines(store)
    assert {d: v for d, v in after.items() if d <= day(15)} == {
        d: v for d, v in before.items() if d <= day(15)
    }
    assert after[day(20)] != before.get(day(20))  # the days after it do read it
