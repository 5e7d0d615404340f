"""The alert page and the case page over a real detected company: the summary, the
baselines that moved with the days up to the alert (never later), evidence with its
explanation or none, triage into a case, the case workflow with structured dismissal,
attached evidence, and containment approvals by the roles that decide, all audited."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from console_world import csrf_of, logged_in, make_world
from insiderwatch.app.alert_view import alert_view
from insiderwatch.app.cases import containment_for, show_case
from insiderwatch.app.ops import audit_entries


@pytest.fixture(scope="module")
def world(tmp_path_factory, built_once):
    world = make_world(tmp_path_factory.mktemp("cases"), built_once)
    yield world
    world.service.stop()


@pytest.fixture(scope="module")
def clients(world):
    with logged_in(world, ("analyst", "investigator")) as opened:
        yield opened


def the_insiders_alert(world) -> str:
    """The alert whose findings crossed a baseline (the escalating insider's)."""
    with world.service.reading() as store:
        for alert_id in world.alert_ids:
            view = alert_view(world.service.ops.store, store, alert_id, actor="test",
                              baseline_days=28)  # fmt: skip
            if view.baselines:
                return alert_id
    raise AssertionError("no alert with a baseline")


def test_the_alert_page_shows_the_baseline_that_moved_up_to_the_alert_only(world, clients):
    alert_id = the_insiders_alert(world)
    reply = clients["analyst"].get(f"/alerts/{alert_id}")
    assert reply.status_code == 200
    page = reply.text
    with world.service.reading() as store:
        view = alert_view(world.service.ops.store, store, alert_id, actor="test", baseline_days=28)
    assert view.dossier.alert.summary.split(":")[0] in page
    move = view.baselines[0]
    # The chart's data is in the page, days up to the day the finding fired, no later.
    charts = re.findall(r'<script type="application/json">(.*?)</script>', page, re.S)
    spec = json.loads(charts[0])
    last_day = dt.datetime.fromtimestamp(spec["data"][0][-1], dt.UTC).date()
    assert last_day == move.window_end <= view.dossier.alert.detected_at.date()
    assert len(spec["data"][0]) == (move.window_end - move.window_start).days + 1
    # On the alert's day: what detection observed when it fired and the line it crossed,
    # not the day's total (which counts events after the alert).
    assert spec["data"][1][-1] == pytest.approx(move.observed)
    assert spec["data"][4][-1] == pytest.approx(move.threshold)
    assert spec["data"][2][-1] is None and spec["data"][3][-1] is None
    assert all(v is None for v in spec["data"][4][:-1])
    assert move.peer_group and move.peer_group in page


def test_evidence_shows_each_explanation_or_its_absence(world, clients):
    alert_id = the_insiders_alert(world)
    with world.service.reading() as store:
        view = alert_view(world.service.ops.store, store, alert_id, actor="test", baseline_days=28)
    assert view.evidence and len(view.evidence) <= view.evidence_total
    page = clients["analyst"].get(f"/alerts/{alert_id}").text
    unexplained = [e for e in view.evidence if e.explanation is None]
    assert unexplained, "the insider's evidence has accesses nothing explains"
    assert page.count("nothing explains it") == len(unexplained)
    for e in view.evidence:
        if e.explanation:
            assert e.explanation in page


def test_opening_an_alert_is_audited_and_shows_no_employee_id(world, clients):
    alert_id = world.alert_ids[-1]
    page = clients["analyst"].get(f"/alerts/{alert_id}").text
    reads = audit_entries(world.service.ops.store, actor="analyst", action="alert.read")
    assert any(e.detail.get("alert_id") == alert_id for e in reads)
    employee = reads[-1].subject_id
    assert f">{employee}<" not in page and "anon-" in page


def test_an_unknown_alert_is_a_404_page(clients):
    reply = clients["analyst"].get("/alerts/A-doesnotexist")
    assert reply.status_code == 404 and "No such alert" in reply.text


def test_triage_on_the_alert_page_into_a_new_case(world, clients):
    client = clients["analyst"]
    alert_id = world.alert_ids[-1]
    token = csrf_of(client, f"/alerts/{alert_id}")
    post = lambda what, **data: client.post(f"/alerts/{alert_id}/{what}",  # noqa: E731
                                            data={"csrf_token": token, **data})  # fmt: skip
    refused = post("move", to_state="escalated", new_case="too early")
    assert refused.status_code == 400 and "cannot go from new to escalated" in refused.text
    assert post("move", to_state="triaging", why="looks real").status_code == 303
    assert post("assign", assignee="investigator").status_code == 303
    assert post("note", text="manager says no task explains this").status_code == 303
    assert post("move", to_state="escalated", new_case="harvest").status_code == 303
    page = client.get(f"/alerts/{alert_id}").text
    assert "manager says no task explains this" in page and "investigator" in page
    case_id = int(re.search(r'href="/cases/(\d+)"', page).group(1))
    dossier = show_case(world.service.ops.store, case_id, actor="test")
    assert dossier.case.title == "harvest" and [a.alert_id for a in dossier.alerts] == [alert_id]


def test_the_case_workflow_needs_a_structured_reason_to_dismiss(world, clients):
    client = clients["investigator"]
    case = world.case_id
    token = csrf_of(client, f"/cases/{case}")

    def move(**data):
        return client.post(f"/cases/{case}/move", data={"csrf_token": token, **data})

    assert move(to_state="closed").status_code == 400  # new -> closed is no move
    assert move(to_state="investigating").status_code == 303
    no_reason = move(to_state="dismissed")
    assert no_reason.status_code == 400 and "dismissing needs a reason" in no_reason.text
    assert (
        move(to_state="dismissed", reason="known_business_reason", why="audit").status_code == 303
    )
    page = client.get(f"/cases/{case}").text
    assert "dismissed (known business reason)" in page
    assert move(to_state="investigating").status_code == 303
    assert move(to_state="confirmed").status_code == 303
    assert client.post(f"/cases/{case}/assign",
                       data={"csrf_token": token, "assignee": "investigator"}).status_code == 303  # fmt: skip
    assert client.post(f"/cases/{case}/note",
                       data={"csrf_token": token, "text": "HR informed"}).status_code == 303  # fmt: skip
    dossier = show_case(world.service.ops.store, case, actor="test")
    assert dossier.case.state == "confirmed" and dossier.assignee == "investigator"
    assert [n.text for n in dossier.notes] == ["HR informed"]
    assert [t.to_state for t in dossier.transitions] == [
        "new", "investigating", "dismissed", "investigating", "confirmed"]  # fmt: skip
    actions = {e.action for e in audit_entries(world.service.ops.store, subject_id=str(case))}
    assert {"case.dismissed", "case.confirmed", "case.assign", "case.note"} <= actions


def test_evidence_is_attached_only_from_the_cases_own_alerts(world, clients):
    client = clients["analyst"]
    alert_id = world.alert_ids[0]  # escalated into the world case
    with world.service.reading() as store:
        view = alert_view(world.service.ops.store, store, alert_id, actor="test", baseline_days=28)
    events = [e.event_id for e in view.evidence][:2]
    token = csrf_of(client, f"/alerts/{alert_id}")
    case = world.case_id
    stranger = client.post(f"/cases/{case}/evidence", data={
        "csrf_token": token, "alert_id": alert_id, "event_ids": ["not-evidence"]})  # fmt: skip
    assert stranger.status_code == 400 and "not in the evidence" in stranger.text
    attached = client.post(f"/cases/{case}/evidence", data={
        "csrf_token": token, "alert_id": alert_id, "event_ids": events, "why": "the export"})  # fmt: skip
    assert attached.status_code == 303
    dossier = show_case(world.service.ops.store, case, actor="test")
    assert [e.event_id for e in dossier.evidence] == sorted(events) or {
        e.event_id for e in dossier.evidence} == set(events)  # fmt: skip
    assert "the export" in client.get(f"/cases/{case}").text


def test_containment_is_approved_by_a_decider_only(world, clients, monkeypatch):
    monkeypatch.setenv("INSIDERWATCH_TEST_SCIM_TOKEN", "not a real token")
    ops = world.service.ops.store
    case = world.case_id
    pending = [a for a in containment_for(ops, [world.alert_ids[0]]) if a.status == "pending"]
    assert pending, "the world's playbook asks for an approval on every alert"
    action = pending[0]
    analyst_page = clients["analyst"].get(f"/cases/{case}").text
    assert "an investigator or admin decides" in analyst_page
    token = csrf_of(clients["analyst"], f"/cases/{case}")
    denied = clients["analyst"].post(f"/cases/{case}/containment/{action.action_id}",
                                     data={"csrf_token": token, "decision": "approve"})  # fmt: skip
    assert denied.status_code == 403
    client = clients["investigator"]
    token = csrf_of(client, f"/cases/{case}")
    assert 'value="approve"' in client.get(f"/cases/{case}").text
    approved = client.post(f"/cases/{case}/containment/{action.action_id}",
                           data={"csrf_token": token, "decision": "approve", "note": "agreed"})  # fmt: skip
    assert approved.status_code == 303
    after = next(
        a for a in containment_for(ops, [world.alert_ids[0]]) if a.action_id == action.action_id
    )
    # Approved and run: no identity provider listens in this world, so it failed there.
    assert after.approvers == ["investigator"] and after.status == "failed"
    assert any(e.event == "approved" and e.actor == "investigator" for e in after.events)
    again = client.post(f"/cases/{case}/containment/{action.action_id}",
                        data={"csrf_token": token, "decision": "reject"})  # fmt: skip
    assert again.status_code == 400 and "not pending" in again.text
    assert audit_entries(ops, actor="investigator", action="containment.approve")


def test_a_malformed_case_number_is_a_page_naming_the_field(clients):
    reply = clients["analyst"].get("/cases/not-a-number")
    assert reply.status_code == 422
    assert "case_id:" in reply.text and "Traceback" not in reply.text
    assert reply.headers["content-type"].startswith("text/html")
