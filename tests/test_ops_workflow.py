"""Alert history into the operational store, and triage on top of it, on SQLite and
PostgreSQL: idempotent recording, triage that survives re-recording, refused moves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from sqlalchemy import func, select

from insiderwatch.app import alerts as app_alerts
from insiderwatch.contract import Alert
from insiderwatch.store.ops import OpsStore, open_ops
from insiderwatch.store.ops.models import AlertLine, SyncRejectRow
from insiderwatch.store.ops.users import add_user
from insiderwatch.store.ops.workflow import WorkflowError

T0 = dt.datetime(2026, 9, 1, 9, 0, tzinfo=dt.UTC)


def line(alert_id: str, revision: int, score: float = 40.0, employee: str = "E1") -> Alert:
    at = T0 + dt.timedelta(hours=revision)
    return Alert(
        alert_id=alert_id,
        revision=revision,
        employee_id=employee,
        score=score,
        severity="medium",
        detected_at=at,
        opened_at=T0,
        first_seen=T0,
        last_seen=at,
        summary=f"{employee} read {int(score)} records",
        detectors=["volume"],
        reasons=["volume"],
        event_ids=[f"ev{revision}"],
        customer_ids=[],
        finding_ids=[f"f{revision}"],
    )


def write_history(path: Path, alerts: list[Alert], extra: list[str] = ()) -> Path:
    with path.open("wb") as fh:
        for alert in alerts:
            fh.write(msgspec.json.encode(alert) + b"\n")
        for raw in extra:
            fh.write(raw.encode() + b"\n")
    return path


@pytest.fixture
def ops(ops_url: str) -> Iterator[OpsStore]:
    with open_ops(ops_url) as opened:
        yield opened


def test_recording_the_same_history_twice_records_it_once(ops: OpsStore, tmp_path: Path) -> None:
    history = write_history(
        tmp_path / "alerts.jsonl", [line("A1", 0), line("A1", 1, 60), line("A2", 0)]
    )
    first = app_alerts.sync_file(ops, history, actor="ana")
    again = app_alerts.sync_file(ops, history, actor="ana")
    assert (first.read, first.recorded, first.duplicates, first.alerts_opened) == (3, 3, 0, 2)
    assert (again.read, again.recorded, again.duplicates, again.alerts_opened) == (3, 0, 3, 0)
    with ops.session() as s:
        assert s.scalar(select(func.count()).select_from(AlertLine)) == 3
    queue = {a.alert_id: a for a in app_alerts.queue(ops)}
    assert queue["A1"].revision == 1 and queue["A1"].score == 60
    assert {a.state for a in queue.values()} == {"new"}


def test_triage_survives_a_new_revision_and_a_full_resync(ops: OpsStore, tmp_path: Path) -> None:
    add_user_to(ops, "bo")
    app_alerts.sync_file(ops, write_history(tmp_path / "a.jsonl", [line("A1", 0)]), actor="d")
    app_alerts.triage(ops, "A1", "triaging", actor="ana", why="looking")
    app_alerts.assign(ops, "A1", "bo", actor="ana")
    app_alerts.add_note(ops, "A1", "called the team lead", author="bo")
    # Detection runs again: the old line plus a new revision with a higher score.
    later = write_history(tmp_path / "b.jsonl", [line("A1", 0), line("A1", 1, 85)])
    report = app_alerts.sync_file(ops, later, actor="d")
    assert (report.recorded, report.duplicates) == (1, 1)
    dossier = app_alerts.show(ops, "A1", actor="ana")
    assert dossier.alert.state == "triaging" and dossier.alert.assignee == "bo"
    assert dossier.alert.score == 85 and dossier.alert.revision == 1
    assert [n.text for n in dossier.notes] == ["called the team lead"]
    assert [r["revision"] for r in dossier.revisions] == [0, 1]


def test_a_rewritten_line_supersedes_and_bad_lines_name_file_and_line(
    ops: OpsStore, tmp_path: Path
) -> None:
    first = write_history(tmp_path / "a.jsonl", [line("A1", 0, 40)])
    app_alerts.sync_file(ops, first, actor="d")
    app_alerts.triage(ops, "A1", "triaging", actor="ana")
    # A late event made detection recompute A1's opening line.
    later = write_history(
        tmp_path / "b.jsonl",
        [line("A1", 0, 99), line("A2", 0)],
        extra=['{"alert_id": "A3"}', "not json"],
    )
    report = app_alerts.sync_file(ops, later, actor="d")
    assert (report.read, report.recorded, report.rewritten, report.duplicates) == (4, 2, 1, 0)
    reasons = {r.where.rsplit(":", 1)[-1]: r.reason for r in report.rejected}
    assert set(reasons) == {"3", "4"}
    assert "revision" in reasons["3"]  # a missing required field is named
    dossier = app_alerts.show(ops, "A1", actor="ana")
    assert dossier.alert.score == 99 and dossier.alert.state == "triaging"
    assert [r["score"] for r in dossier.revisions] == [99]
    assert [r["score"] for r in dossier.superseded] == [40]
    # Content seen before changes nothing, in whatever order files come back.
    for again in (first, later):
        assert app_alerts.sync_file(ops, again, actor="d").recorded == 0
    assert app_alerts.show(ops, "A1", actor="ana").alert.score == 99
    with ops.session() as s:
        assert s.scalar(select(func.count()).select_from(SyncRejectRow)) == 2
        assert s.scalar(select(func.count()).select_from(AlertLine)) == 3
    # Rewritten within one file (a live step then its replay): the last one is current.
    twice = write_history(tmp_path / "c.jsonl", [line("A5", 0, 10), line("A5", 0, 20)])
    assert app_alerts.sync_file(ops, twice, actor="d").rewritten == 1
    shown = app_alerts.show(ops, "A5", actor="ana")
    assert [r["score"] for r in shown.revisions] == [20]
    assert [r["score"] for r in shown.superseded] == [10]


def test_the_whole_workflow_is_recorded_with_who_and_why(ops: OpsStore, tmp_path: Path) -> None:
    app_alerts.sync_file(ops, write_history(tmp_path / "a.jsonl", [line("A1", 0)]), actor="d")
    app_alerts.triage(ops, "A1", "triaging", actor="ana", why="volume is odd")
    escalated = app_alerts.triage(ops, "A1", "escalated", actor="ana", new_case="E1 export")
    assert escalated.case_id is not None
    closed = app_alerts.triage(
        ops, "A1", "closed", actor="carl", why="confirmed", close_reason="true_positive"
    )
    assert (closed.state, closed.close_reason, closed.case_id) == (
        "closed",
        "true_positive",
        escalated.case_id,
    )
    moves = app_alerts.show(ops, "A1", actor="carl").transitions
    assert [(t.from_state, t.to_state, t.actor) for t in moves] == [
        ("new", "triaging", "ana"),
        ("triaging", "escalated", "ana"),
        ("escalated", "closed", "carl"),
    ]
    assert moves[0].why == "volume is odd" and moves[2].close_reason == "true_positive"
    reopened = app_alerts.triage(ops, "A1", "triaging", actor="ana", why="new evidence")
    assert reopened.close_reason is None


REFUSED = [
    ("new", "escalated", {"case_id": None}, "cannot go from new to escalated"),
    ("new", "closed", {}, "closing needs a reason"),
    ("new", "closed", {"close_reason": "bored"}, "closing needs a reason"),
    ("new", "closed", {"close_reason": "other"}, "needs an explanation"),
    ("new", "triaging", {"close_reason": "duplicate"}, "only when closing"),
    ("triaging", "escalated", {}, "escalating needs a case"),
    ("triaging", "escalated", {"case_id": 999}, "case 999: no such case"),
    ("triaging", "done", {}, "unknown state 'done'"),
    ("escalated", "triaging", {}, "cannot go from escalated to triaging"),
]


def test_invalid_moves_are_refused_and_change_nothing(ops: OpsStore, tmp_path: Path) -> None:
    # One store for every case (a fresh database each would cost seconds on PostgreSQL).
    alerts = [line(f"A{i}", 0) for i in range(len(REFUSED))]
    app_alerts.sync_file(ops, write_history(tmp_path / "a.jsonl", alerts), actor="d")
    for i, (start, to, kwargs, message) in enumerate(REFUSED):
        alert_id = f"A{i}"
        path = {"new": [], "triaging": ["triaging"], "escalated": ["triaging", "escalated"]}[start]
        for step in path:
            extra = {"new_case": "c"} if step == "escalated" else {}
            app_alerts.triage(ops, alert_id, step, actor="ana", **extra)
        with pytest.raises(WorkflowError, match=message):
            app_alerts.triage(ops, alert_id, to, actor="ana", **kwargs)
        dossier = app_alerts.show(ops, alert_id, actor="ana")
        assert dossier.alert.state == start and len(dossier.transitions) == len(path)


def test_unknown_alerts_and_users_are_named(ops: OpsStore, tmp_path: Path) -> None:
    with pytest.raises(WorkflowError, match="alert nope: not in the ops store"):
        app_alerts.triage(ops, "nope", "triaging", actor="ana")
    app_alerts.sync_file(ops, write_history(tmp_path / "a.jsonl", [line("A1", 0)]), actor="d")
    with pytest.raises(WorkflowError, match="no active user named 'ghost'"):
        app_alerts.assign(ops, "A1", "ghost", actor="ana")


def add_user_to(ops: OpsStore, name: str) -> None:
    with ops.session() as s:
        add_user(s, name, "analyst", "correct horse battery", actor="admin")
