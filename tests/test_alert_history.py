"""The alert history (alerts.jsonl): a line each time an alert opens or changes, never
citing evidence later than its own time, with ids and lines that any split of the same
events into steps reproduces exactly."""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import tempfile
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from detect_scenarios import ACT_DAY, AGENTS, INSIDER, at, base_company
from insiderwatch.alerts import evidence_after_detection, read_alert_history, read_alerts
from insiderwatch.contract import Alert
from insiderwatch.detect import DetectionConfig, run_detection
from insiderwatch.detect.config import Suppression
from insiderwatch.detect.history import FindingsBefore, read_findings, update_history
from insiderwatch.detect.risk import alert_id
from insiderwatch.errors import ConfigError
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from sample_data import KEY_HEX, OTHER_KEY_HEX, copy_store

KEY = HashKey(bytes.fromhex(KEY_HEX))
FIRST, END = at(1, 0), at(ACT_DAY + 1, 0)


def episode_company():
    """Eight ordinary days, then an insider's day that escalates: a slow start of
    look-ups with no case, a VIP, a harvest, an export to a personal mailbox, and more
    look-ups after it; a colleague trips the canary."""
    company = base_company()
    d = ACT_DAY
    for e in AGENTS[1:]:
        company.event(e, at(d, 10), "view", ["c100"], ["name"])
    for k in range(12):
        company.event(INSIDER, at(d, 8, 5 * k), "view", [f"c{300 + k:03d}"], ["name"])
    company.event(INSIDER, at(d, 9, 30), "view", ["c001"], ["name", "orders"])
    harvest = [f"c{200 + k:03d}" for k in range(40)]
    company.event(INSIDER, at(d, 10), "search", harvest, ["name", "email", "phone"])
    company.event(INSIDER, at(d, 12, 30), "export", harvest, ["email", "phone"],
                  destination="personal_email")  # fmt: skip
    for k in range(20):
        company.event(INSIDER, at(d, 15, k), "view", [f"c{250 + k:03d}"], ["name", "email"])
    company.event(AGENTS[3], at(d, 11), "search", ["c150", "decoy1"], ["name"])
    return company


def detect_episode(folder: Path) -> None:
    """The episode company in ``folder``: its dataset, and the store (``iw.duckdb``) that
    ingesting and detecting it once, with the default settings, gives. Built once per
    run (the ``built_once`` fixture) for every module that starts from it."""
    dataset = episode_company().write(folder / "dataset")
    with fresh_store(dataset, folder) as store:
        run_detection(store, DetectionConfig(), KEY)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return episode_company().write(tmp_path_factory.mktemp("episode") / "dataset")


def write_arrivals(dataset: Path, folder: Path, cuts: list[dt.datetime]) -> list[Path]:
    """The dataset's events cut at ``cuts`` into folders that arrive one after another."""
    rows = [
        msgspec.json.decode(line) for line in (dataset / "access.jsonl").read_bytes().splitlines()
    ]
    bounds = [FIRST, *cuts, END + dt.timedelta(days=1)]
    pieces = []
    for k, (lo, hi) in enumerate(zip(bounds, bounds[1:], strict=False)):
        piece = folder / f"arrival{k}"
        piece.mkdir()
        inside = [r for r in rows if lo <= dt.datetime.fromisoformat(r["time"]) < hi]
        (piece / "access.jsonl").write_bytes(
            b"".join(msgspec.json.encode(r) + b"\n" for r in inside)
        )
        pieces.append(piece)
    return pieces


def fresh_store(dataset: Path, folder: Path) -> Store:
    store = Store(folder / "iw.duckdb", threads=1)
    ingest_dataset(store, dataset, KEY)
    return store


@pytest.fixture(scope="module")
def replayed(built_once, tmp_path_factory):
    """One replay of everything: the reference history (a copy of the run's one)."""
    built = built_once("episode-detected", detect_episode)
    copied = copy_store(built / "iw.duckdb", tmp_path_factory.mktemp("once") / "iw.duckdb")
    store = Store(copied, threads=1)
    yield store
    store.close()


def test_every_line_cites_only_evidence_up_to_its_own_time(replayed):
    history = read_alert_history(replayed)
    assert len(history) >= 2, "the escalating day should open an alert and change it"
    assert evidence_after_detection(replayed) == 0
    times = dict(replayed.con.execute("SELECT event_id, time FROM access").fetchall())
    for line in history:
        assert max(times[e] for e in line.event_ids) <= line.detected_at
        assert line.first_seen <= line.last_seen <= line.detected_at


def test_an_episode_is_one_alert_whose_lines_only_grow(replayed):
    history = [a for a in read_alert_history(replayed) if a.employee_id == INSIDER]
    assert len({a.alert_id for a in history}) == 1
    assert [a.revision for a in history] == list(range(len(history)))
    for before, after in zip(history, history[1:], strict=False):
        assert after.detected_at > before.detected_at
        assert set(before.event_ids) < set(after.event_ids)
        assert after.score >= before.score
    (current,) = [a for a in read_alerts(replayed) if a.employee_id == INSIDER]
    assert current == history[-1]


def test_the_summary_reads_each_detector_once_with_its_peak(replayed):
    (current,) = [a for a in read_alerts(replayed) if a.employee_id == INSIDER]
    found = [f for f in read_findings(replayed.con) if f.finding_id in current.finding_ids]
    per_detector = {f.detector for f in found}
    assert len(current.reasons) == len(per_detector) == len(current.detectors)
    assert any(sum(f.detector == d for f in found) > 1 for d in per_detector), (
        "the day should make some detector fire repeatedly"
    )
    for detector in per_detector:
        assert sum(detector in r for r in current.reasons) >= 1
    assert current.summary.count("; then ") == len(per_detector) - 1
    # The baseline detector's line quotes the peak it measured and the usual it beat.
    volume = [f for f in found if f.detector == "volume"]
    peak = max(volume, key=lambda f: f.observed)
    assert peak.measure == "unexplained_customers" and peak.peer_usual is not None
    assert f"looked up {peak.observed:,.0f} customers with no case" in current.summary
    assert "personal_email" in current.summary


def test_alert_ids_depend_on_employee_and_opening_time_only(replayed, dataset, tmp_path):
    again = fresh_store(dataset, tmp_path)
    run_detection(again, DetectionConfig(), KEY)
    assert [a.alert_id for a in read_alert_history(again)] == [
        a.alert_id for a in read_alert_history(replayed)
    ]
    again.close()


def test_alert_ids_are_keyed_so_the_roster_cannot_tell_whose_alert_it_is(replayed):
    """An id is not the plain hash of employee and opening time (anyone with the roster
    could compute that), it is the keyed one, and another key gives other ids."""
    other = HashKey(bytes.fromhex(OTHER_KEY_HEX))
    for line in read_alert_history(replayed):
        pair = f"{line.employee_id}|{line.opened_at.isoformat()}"
        assert line.alert_id != "A-" + hashlib.sha256(pair.encode()).hexdigest()[:16]
        assert line.alert_id == alert_id(KEY, line.employee_id, line.opened_at)
        assert alert_id(other, line.employee_id, line.opened_at) != line.alert_id


def test_detection_refuses_a_key_other_than_the_stores(replayed):
    with pytest.raises(ConfigError, match="hashed with key"):
        run_detection(replayed, DetectionConfig(), HashKey(bytes.fromhex(OTHER_KEY_HEX)))


def test_a_line_citing_later_evidence_is_rejected():
    t = at(ACT_DAY, 12)
    line = dict(alert_id="A-1", revision=0, employee_id="e", summary="s", finding_ids=["f"], score=60.0, severity="medium",
                detected_at=t, opened_at=t, first_seen=t - dt.timedelta(hours=1),
                last_seen=t + dt.timedelta(minutes=1), detectors=["volume"],
                reasons=["x"], event_ids=["e1"], customer_ids=[])  # fmt: skip
    with pytest.raises(msgspec.ValidationError, match="later than detected_at"):
        msgspec.json.decode(msgspec.json.encode(line), type=Alert)
    line["last_seen"] = t
    assert msgspec.json.decode(msgspec.json.encode(line), type=Alert).last_seen == t


def history_in_steps(
    dataset: Path, cuts: list[dt.datetime], *, arrive: str = "", cfg: DetectionConfig | None = None
):
    """Detection run once per cut (live, in pieces), then to the end. With ``arrive`` the
    events also arrive in those pieces (the context tables first): "in order", or
    "latest first" (every later piece is late and rewinds the engine)."""
    cfg = cfg or DetectionConfig()
    folder = Path(tempfile.mkdtemp(prefix="steps-"))
    try:
        if arrive:
            context = folder / "context"
            shutil.copytree(dataset, context, ignore=shutil.ignore_patterns("access*"))
            store = fresh_store(context, folder)
            pieces = write_arrivals(dataset, folder, cuts)
            for piece in reversed(pieces) if arrive == "latest first" else pieces:
                ingest_dataset(store, piece, KEY)
                run_detection(store, cfg, KEY)
        else:
            store = fresh_store(dataset, folder)
            for cut in cuts:
                run_detection(store, cfg, KEY, until=cut)
            run_detection(store, cfg, KEY)
        result = read_findings(store.con), read_alert_history(store)
        store.close()
        return result
    finally:
        shutil.rmtree(folder)


@pytest.mark.parametrize(
    "step",
    [dt.timedelta(days=1), dt.timedelta(hours=1)],
    ids=["daily", "hourly"],
)
def test_regular_steps_give_the_history_of_one_replay(step, dataset, replayed):
    # Hourly over the insider's day (the ordinary days before it in one step).
    start = FIRST if step == dt.timedelta(days=1) else at(ACT_DAY, 0)
    cuts = [start + k * step for k in range(1, (END - start) // step)]
    found, history = history_in_steps(dataset, cuts)
    assert found == read_findings(replayed.con)
    assert history == read_alert_history(replayed)


@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
@given(
    seconds=st.lists(
        st.integers(min_value=0, max_value=int((END - FIRST).total_seconds())),
        min_size=1,
        max_size=5,
    ),
    arrive=st.sampled_from(["", "in order", "latest first"]),
)
# Each arrival mode at least once, whatever the draw: cuts on ordinary days and in the act.
@example(seconds=[4 * 86400 + 3 * 3600, 8 * 86400 + 10 * 3600 + 1800], arrive="in order")
@example(seconds=[4 * 86400 + 3 * 3600, 8 * 86400 + 13 * 3600], arrive="latest first")
def test_any_split_into_steps_gives_the_history_of_one_replay(seconds, arrive, dataset, replayed):
    cuts = [FIRST + dt.timedelta(seconds=s) for s in sorted(set(seconds))]
    found, history = history_in_steps(dataset, cuts, arrive=arrive)
    assert found == read_findings(replayed.con)
    assert history == read_alert_history(replayed)


def test_a_step_rescores_only_the_employees_whose_findings_changed(dataset, tmp_path):
    """The colleague's canary search is the only finding between the two cuts: the step
    rewrites the insider's day too, but only the colleague's alert lines are recomputed."""
    store = fresh_store(dataset, tmp_path)
    run_detection(store, DetectionConfig(), KEY, until=at(ACT_DAY, 10, 45))
    step = run_detection(store, DetectionConfig(), KEY, until=at(ACT_DAY, 11, 30))
    assert step.rescored == 1
    assert step.changed_lines and {a.employee_id for a in step.changed_lines} == {AGENTS[3]}
    assert run_detection(store, DetectionConfig(), KEY, until=at(ACT_DAY, 11, 30)).rescored == 0
    store.close()


def test_changing_what_scoring_reads_rescores_everyone(dataset, replayed, tmp_path, built_once):
    """Suppressions and risk settings shape alerts only: changed with no new event, the
    whole history is recomputed, as a replay under the new settings gives it. The store
    starts as the run's one replay with the default settings (a copy of it)."""
    built = built_once("episode-detected", detect_episode)
    store = Store(copy_store(built / "iw.duckdb", tmp_path / "live" / "iw.duckdb"), threads=1)
    drill = Suppression(employee_id=INSIDER, until=END.date(), reason="red-team drill")
    silenced = DetectionConfig(suppressions=[drill])
    run = run_detection(store, silenced, KEY)
    assert run.rescored is None
    assert INSIDER not in {a.employee_id for a in read_alert_history(store)}
    once = fresh_store(dataset, tmp_path / "once")
    run_detection(once, silenced, KEY)
    assert read_findings(store.con) == read_findings(once.con)
    assert read_alert_history(store) == read_alert_history(once)
    back = run_detection(store, DetectionConfig(), KEY)
    assert back.rescored is None and any(a.employee_id == INSIDER for a in back.changed_lines)
    assert read_findings(store.con) == read_findings(replayed.con)
    assert read_alert_history(store) == read_alert_history(replayed)
    # Everyone rescored with nothing changed: the lines read back equal the recomputed
    # ones, so none is offered for publishing again.
    store.con.execute("BEGIN")
    again = update_history(store, DetectionConfig(), KEY, FindingsBefore(None))
    store.con.execute("COMMIT")
    assert again.rescored is None and again.changed == []
    store.close()
    once.close()


def test_suppression_marks_survive_steps_that_do_not_rescore_their_employee(dataset, tmp_path):
    """The colleague's canary finding is suppressed; later steps of the same day rewrite
    it without rescoring the colleague (only the insider's findings change): its mark
    stays, and findings and history equal one replay's under the same settings."""
    drill = Suppression(employee_id=AGENTS[3], detector="canary", until=END.date(),
                        reason="red-team drill")  # fmt: skip
    cfg = DetectionConfig(suppressions=[drill])
    cuts = [at(ACT_DAY, 11, 30), at(ACT_DAY, 13), at(ACT_DAY, 15, 30)]
    found, history = history_in_steps(dataset, cuts, cfg=cfg)
    once = fresh_store(dataset, tmp_path)
    run_detection(once, cfg, KEY)
    assert any(f.suppressed_by for f in found if f.employee_id == AGENTS[3])
    assert found == read_findings(once.con)
    assert history == read_alert_history(once)
    once.close()
