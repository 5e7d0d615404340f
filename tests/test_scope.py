"""A live step evaluates only the employees its new events touched (detect/scope.py),
and still ends where one replay of the same events ends."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from detect_scenarios import (
    ACT_DAY,
    AGENTS,
    INSIDER,
    Company,
    at,
    base_company,
    detected_before,
    ingest_events,
    replayed,
    scenario,
)
from insiderwatch.alerts import read_alert_history
from insiderwatch.detect import DetectionConfig, run_detection
from insiderwatch.detect.config import Explanation
from insiderwatch.detect.history import read_findings
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from sample_data import KEY_HEX, copy_store

KEY = HashKey(bytes.fromhex(KEY_HEX))
D = ACT_DAY


class Arrivals:
    """The company's context loaded first, then its events in the pieces given (each a
    predicate on an event), one detection run after each; and one replay of all of it.

    The days before the act day that the first piece holds are a copy of a store that
    detected them once for the run (``detected_before``: shared by every test whose
    company has the same context and the same such events); the first piece's events of
    the act day arrive as a piece, as every later one does."""

    def __init__(self, company: Company, folder: Path, built_once, cfg=None):
        self.company, self.folder, self.cfg = company, folder, cfg or DetectionConfig()
        self.built_once = built_once
        company.write(folder / "dataset")
        # The context as written now: a test may add to the company's tables later.
        self.context = Company(*(list(rows) for rows in (company.employees, company.customers,
                                                          company.cases, company.canaries,
                                                          company.orders)))  # fmt: skip
        self.store: Store | None = None
        self.sent: set[str] = set()

    def arrive(self, which) -> object:
        if self.store is None:  # the first piece: its earlier days come detected
            early = [r for r in self.company.access if r["time"] < at(D, 0) and which(r)]
            self.context.access = early
            ids = {r["event_id"] for r in early}
            db = detected_before(self.context, D, self.built_once, self.cfg)
            self.store = Store(copy_store(db, self.folder / "live" / db.name), threads=1)
            self.sent |= ids
        rows = [r for r in self.company.access if r["event_id"] not in self.sent and which(r)]
        self.sent |= {r["event_id"] for r in rows}
        ingest_events(self.store, rows, self.folder / f"piece{len(self.sent)}")
        return run_detection(self.store, self.cfg, KEY)

    def assert_replay(self) -> None:
        """Every event arrived: findings and alert history equal one replay's (shared by
        the tests that replay the same company with the same settings)."""
        assert self.sent == {r["event_id"] for r in self.company.access}
        db = replayed(self.folder / "dataset", self.built_once, self.cfg)
        once = Store(db, threads=1, read_only=True)
        assert read_findings(self.store.con) == read_findings(once.con)
        assert read_alert_history(self.store) == read_alert_history(once)
        once.close()


@pytest.fixture
def arrivals(tmp_path, built_once):
    made = []

    def make(company: Company, cfg: DetectionConfig | None = None) -> Arrivals:
        made.append(Arrivals(company, tmp_path, built_once, cfg))
        return made[-1]

    yield make
    for a in made:
        if a.store is not None:
            a.store.close()


def _findings(store: Store, detector: str) -> list[str]:
    return [f.employee_id for f in read_findings(store.con) if f.detector == detector]


def test_a_step_with_one_employees_events_evaluates_that_employee_alone(arrivals):
    """The insider's export and later look-ups arrive alone: the step evaluates the
    insider's day only (the colleagues' rows of the day stay), raises the exfiltration
    finding, and the end equals a replay."""
    c = base_company()
    for e in AGENTS[1:]:
        c.event(e, at(D, 10), "view", ["c100"], ["name"])
    harvest = [f"c{200 + k:03d}" for k in range(30)]
    c.event(INSIDER, at(D, 10, 30), "search", harvest, ["name", "email", "phone"])
    c.event(INSIDER, at(D, 12, 30), "export", harvest, ["email", "phone"],
            destination="personal_email")  # fmt: skip
    for k in range(5):
        c.event(INSIDER, at(D, 13, k), "view", [f"c{250 + k:03d}"], ["name", "email"])
    c.event(AGENTS[5], at(D, 12, 45), "view", ["c101"], ["name"])
    live = arrivals(c)
    morning = live.arrive(lambda r: r["time"] < at(D, 12))
    assert morning.employees == len(AGENTS)  # a new day: everyone active is evaluated
    colleagues = live.store.scalar(
        "SELECT count(*) FROM access_explained WHERE day = ? AND employee_id <> ?",
        [at(D, 0).date(), INSIDER],
    )
    step = live.arrive(lambda r: r["employee_id"] == INSIDER)
    assert (step.employees, step.events) == (1, 7)  # the insider's day: 2 + 5 events
    assert "exfiltration" in {f.detector for f in read_findings(live.store.con)
                              if f.employee_id == INSIDER}  # fmt: skip
    assert (
        live.store.scalar(
            "SELECT count(*) FROM access_explained WHERE day = ? AND employee_id <> ?",
            [at(D, 0).date(), INSIDER],
        )
        == colleagues
    )
    # The colleague's look-up, before the insider's last event: the colleague, and the
    # insider whose export shared_harvest reads again.
    late = live.arrive(lambda r: True)
    assert late.employees == 2 and late.rewound is None
    live.assert_replay()


def test_a_case_opened_since_the_last_step_is_applied_to_its_employee(arrivals):
    """With slack before a case, a case that opens after the last step explains a look-up
    its employee made before it; that employee made nothing new and is evaluated anyway."""
    c = base_company()
    for e in AGENTS[1:]:
        c.event(e, at(D, 10), "view", ["c100"], ["name"])
    # c230: no case of theirs ever was about it, so nothing else explains the look-up.
    c.cases.append({"case_id": "k-late", "customer_id": "c230", "employee_id": AGENTS[2],
                    "opened_at": at(D, 11, 5), "closed_at": at(D, 12)})  # fmt: skip
    early = c.event(AGENTS[2], at(D, 11), "view", ["c230"], ["name", "address"])
    c.event(AGENTS[7], at(D, 11, 30), "view", ["c121"], ["name"])
    cfg = DetectionConfig(explanation=Explanation(slack_before_minutes=10))
    live = arrivals(c, cfg)
    live.arrive(lambda r: r["time"] <= at(D, 11))
    explained = "SELECT explanation FROM access_explained WHERE event_id = ?"
    assert live.store.scalar(explained, [early]) is None  # the case is not open yet
    step = live.arrive(lambda r: True)
    assert step.employees == 2  # the new event's employee and the case's
    assert live.store.scalar(explained, [early]) == "own_case"
    live.assert_replay()


def test_a_company_scope_detector_sees_the_colleague_the_sender_links(arrivals):
    """shared_harvest flags the insider for a list a colleague sent out: when only the
    sender's export arrives, the insider (no new event) gets the finding; when only the
    insider's next look-up arrives, the step evaluates the sender again (the finding's
    source) and the finding stays; the end equals a replay."""
    c = scenario("shared_harvest")
    c.event(INSIDER, at(D, 16), "view", ["c110"], ["name"])
    live = arrivals(c)
    live.arrive(lambda r: r["time"] < at(D, 14))
    assert _findings(live.store, "shared_harvest") == []
    sent = live.arrive(lambda r: r["employee_id"] == AGENTS[1])
    assert sent.employees == 1  # the sender alone
    assert _findings(live.store, "shared_harvest") == [INSIDER]
    later = live.arrive(lambda r: True)
    assert later.employees == 2  # the insider, and the sender shared_harvest names
    assert _findings(live.store, "shared_harvest") == [INSIDER]
    live.assert_replay()


def test_a_changed_context_table_evaluates_everyone(arrivals, tmp_path):
    c = base_company()
    for e in AGENTS:
        c.event(e, at(D, 10), "view", ["c100"], ["name"])
    c.event(AGENTS[4], at(D, 12), "view", ["c102"], ["name"])
    live = arrivals(c)
    live.arrive(lambda r: r["time"] < at(D, 11))
    case = {"case_id": "k-new", "customer_id": "c102", "employee_id": AGENTS[4],
            "opened_at": at(D, 11, 55), "closed_at": None}  # fmt: skip
    c.cases.append(case)
    c.write(live.folder / "dataset")  # the replay compared with is of the context as it ends
    folder = tmp_path / "new-case"
    folder.mkdir()
    (folder / "cases.jsonl").write_text(json.dumps(case, default=lambda v: v.isoformat()) + "\n")
    ingest_dataset(live.store, folder, KEY)
    step = live.arrive(lambda r: True)
    assert step.employees == len(AGENTS)
    live.assert_replay()


def test_a_run_reaching_the_next_day_evaluates_everyone(arrivals):
    c = base_company()
    for e in AGENTS:
        c.event(e, at(D, 10), "view", ["c100"], ["name"])
    c.event(AGENTS[3], at(D + 1, 9), "view", ["c103"], ["name"])
    live = arrivals(c)
    live.arrive(lambda r: r["time"] < at(D, 11))
    step = live.arrive(lambda r: True)
    assert step.steps == 2 and step.employees == 1  # day D+1 has one active employee
    assert dt.date.fromisoformat(live.store.meta("detect_watermark")) == at(D + 1, 0).date()
    live.assert_replay()


def test_a_late_event_of_the_previous_day_reaches_the_kept_lookback(arrivals):
    """A live day's scoped steps read the previous day's events from a copy kept once for
    the day; a late event of the previous day (a rewind) is in it for the steps after:
    the insider's export of the morning looks back at the late search."""
    c = base_company()
    for e in AGENTS[1:]:
        c.event(e, at(D, 9), "view", ["c100"], ["name"])
    harvest = [f"c{200 + k:03d}" for k in range(30)]
    late = c.event(INSIDER, at(D - 1, 22), "search", harvest, ["name", "email", "phone"])
    c.event(INSIDER, at(D, 8), "export", harvest, ["email", "phone"],
            destination="personal_email")  # fmt: skip
    c.event(AGENTS[3], at(D, 10), "view", ["c101"], ["name"])
    c.event(INSIDER, at(D, 11), "view", ["c102"], ["name"])
    live = arrivals(c)
    live.arrive(lambda r: r["time"] < at(D, 9, 30) and r["event_id"] != late)
    kept = live.arrive(lambda r: r["time"] < at(D, 10, 30) and r["event_id"] != late)
    assert kept.rewound is None and kept.employees < len(AGENTS)  # scoped: the copy is kept
    assert live.arrive(lambda r: r["event_id"] == late).rewound is not None
    step = live.arrive(lambda r: True)
    assert step.rewound is None and step.employees < len(AGENTS)  # scoped, with the insider
    in_copy = "SELECT count(*) FROM temp.main.daily_lookback WHERE event_id = ?"
    assert live.store.scalar(in_copy, [late]) == 1
    live.assert_replay()


_TODAY = "SELECT count(*), count(DISTINCT event_id), min(time) FROM temp.main.daily_today"


def _day_company(day: int = D) -> Company:
    c = base_company()
    for e in AGENTS:
        c.event(e, at(day, 9), "view", ["c100"], ["name"])
    harvest = [f"c{200 + k:03d}" for k in range(30)]
    c.event(INSIDER, at(day, 10), "search", harvest, ["name", "email", "phone"])
    c.event(INSIDER, at(day, 12), "export", harvest, ["email", "phone"],
            destination="personal_email")  # fmt: skip
    c.event(AGENTS[3], at(day, 13), "view", ["c101"], ["name"])
    c.event(AGENTS[5], at(day, 14), "view", ["c102"], ["name"])
    return c


def _sent_of_day(live: Arrivals, day: int) -> int:
    return sum(1 for r in live.company.access
               if r["event_id"] in live.sent and r["time"].date() == at(day, 0).date())  # fmt: skip


def test_the_days_events_are_copied_once_and_a_late_one_of_the_day_joins_the_copy(arrivals):
    """Scoped steps read the day's events from a copy to which each step adds only the
    batches loaded since: a late event of the day (before the latest processed) joins
    it, and no event is in it twice."""
    c = _day_company()
    late = c.event(INSIDER, at(D, 9, 30), "view", ["c103"], ["name", "email"])
    live = arrivals(c)
    live.arrive(lambda r: r["time"] < at(D, 9, 45) and r["event_id"] != late)
    step = live.arrive(lambda r: r["time"] < at(D, 12, 30) and r["event_id"] != late)
    assert step.rewound is None and step.employees < len(AGENTS)  # scoped
    step = live.arrive(lambda r: r["event_id"] == late)
    assert step.rewound is None and step.employees == 1  # the late event's employee alone
    n = _sent_of_day(live, D)
    assert live.store.con.execute(_TODAY).fetchall()[0][:2] == (n, n)
    assert live.store.scalar("SELECT count(*) FROM daily_today WHERE event_id = ?", [late]) == 1
    live.arrive(lambda r: True)
    live.assert_replay()


def test_a_merge_of_copied_segments_makes_the_days_copy_again(arrivals):
    """Compaction merges segments the copy was made from: the copy is made again from the
    merged segment (never holding its rows twice) and the end equals a replay."""
    from insiderwatch.store.compact import compact_segments

    live = arrivals(_day_company())
    live.arrive(lambda r: r["time"] < at(D, 9, 30))
    live.arrive(lambda r: r["time"] < at(D, 11))
    live.arrive(lambda r: r["time"] < at(D, 12, 30))
    assert compact_segments(live.store, min_segments=2).written >= 1
    step = live.arrive(lambda r: r["time"] < at(D, 13, 30))
    assert step.rewound is None and step.employees < len(AGENTS)  # scoped
    n = _sent_of_day(live, D)
    assert live.store.con.execute(_TODAY).fetchall()[0][:2] == (n, n)
    live.arrive(lambda r: True)
    live.assert_replay()


def test_a_new_connection_and_a_new_day_make_the_days_copy_again(arrivals):
    """Temp tables are gone on a new connection (a restart): its first scoped step makes
    the copy from the segments; the next day's scoped steps copy that day alone."""
    c = _day_company()
    for e in AGENTS[:4]:
        c.event(e, at(D + 1, 9), "view", ["c104"], ["name"])
    c.event(AGENTS[2], at(D + 1, 11), "view", ["c105"], ["name"])
    live = arrivals(c)
    live.arrive(lambda r: r["time"] < at(D, 9, 30))
    live.arrive(lambda r: r["time"] < at(D, 11))
    path = live.store.path
    live.store.close()
    live.store = Store(path, threads=1)  # the restart
    step = live.arrive(lambda r: r["time"] < at(D, 13, 30))
    assert step.rewound is None and step.employees < len(AGENTS)  # scoped
    n = _sent_of_day(live, D)
    assert live.store.con.execute(_TODAY).fetchall()[0][:2] == (n, n)
    live.arrive(lambda r: r["time"] < at(D + 1, 10))  # completes day D, then D + 1
    step = live.arrive(lambda r: True)
    assert step.rewound is None and step.employees < 4  # scoped, in day D + 1
    n = _sent_of_day(live, D + 1)
    assert live.store.con.execute(_TODAY).fetchall()[0] == (n, n, at(D + 1, 9))
    live.assert_replay()


def test_a_step_that_fails_after_adding_to_the_days_copy_leaves_it_whole(arrivals, monkeypatch):
    """A scoped step that fails after appending the batches loaded since to the day's copy
    rolls back with its run: the next step holds each of the day's events once, and the
    end equals a replay."""
    import insiderwatch.detect.engine as engine

    live = arrivals(_day_company())
    live.arrive(lambda r: r["time"] < at(D, 9, 30))
    step = live.arrive(lambda r: r["time"] < at(D, 11))
    assert step.rewound is None and step.employees < len(AGENTS)  # scoped: the copy is kept
    real = engine.build_step

    def crash(*args, **kwargs):
        raise RuntimeError("the step fails after its copy")

    monkeypatch.setattr(engine, "build_step", crash)
    with pytest.raises(RuntimeError):
        live.arrive(lambda r: r["time"] < at(D, 12, 30))
    monkeypatch.setattr(engine, "build_step", real)
    live.arrive(lambda r: r["time"] < at(D, 13, 30))
    n = _sent_of_day(live, D)
    assert live.store.con.execute(_TODAY).fetchall()[0][:2] == (n, n)
    live.arrive(lambda r: True)
    live.assert_replay()


class _Statements:
    """A connection that remembers the statements run through it."""

    def __init__(self, con):
        self._con, self.seen = con, []

    def __getattr__(self, name):
        return getattr(self._con, name)

    def execute(self, sql, params=None):
        self.seen.append(" ".join(sql.split()))
        return self._con.execute(sql, params) if params is not None else self._con.execute(sql)


def test_a_scoped_step_reads_the_days_copies_and_sorts_its_rows(arrivals):
    """A scoped step reads its events from the day's copies directly, with no table of
    the run's events copied from them, and sorts the step's rows by time, then id, as a
    replay's sorted copy gives them: a late event of the day, the copy's last row, comes
    in its place."""
    c = _day_company()
    late = c.event(INSIDER, at(D, 9, 30), "view", ["c103"], ["name", "email"])
    live = arrivals(c)
    live.arrive(lambda r: r["time"] < at(D, 9, 45) and r["event_id"] != late)
    live.arrive(lambda r: r["time"] < at(D, 12, 30) and r["event_id"] != late)
    real = live.store.con
    live.store.con = spy = _Statements(real)
    step = live.arrive(lambda r: r["event_id"] == late)
    live.store.con = real
    assert step.rewound is None and step.employees == 1  # scoped: the insider alone
    assert not [s for s in spy.seen if "TEMP TABLE run_events" in s]
    rows = real.execute("SELECT time, event_id FROM step_events ORDER BY rowid").fetchall()
    assert late in {e for _, e in rows} and rows == sorted(rows)
    live.arrive(lambda r: True)
    live.assert_replay()
