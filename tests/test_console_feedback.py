"""Feedback over a real detected company: dismissing an alert for a structured reason
closes it and proposes a suppression whose preview says which of the last 30 days'
alerts would not have fired; applying it (deciders only, audited) makes detection
suppress exactly that, which rerunning detection confirms against the preview."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from console_world import csrf_of, logged_in, make_world
from insiderwatch.app.detect import detect
from insiderwatch.app.feedback import proposal
from insiderwatch.app.ops import audit_entries
from insiderwatch.app.queue import alert_queue
from insiderwatch.contract.console import QueueQuery
from insiderwatch.store.ops import reads


@pytest.fixture(scope="module")
def world(tmp_path_factory, built_once):
    world = make_world(tmp_path_factory.mktemp("feedback"), built_once)
    yield world
    world.service.stop()


@pytest.fixture(scope="module")
def clients(world):
    with logged_in(world, ("analyst", "investigator")) as opened:
        yield opened


def current_alert_ids(world) -> set[str]:
    with world.service.reading() as store:
        return {r[0] for r in store.con.execute("SELECT DISTINCT alert_id FROM alerts").fetchall()}


def test_bad_dismissals_are_refused_with_the_field_named(world, clients):
    client = clients["analyst"]
    alert_id = world.alert_ids[1]
    assert client.get(f"/alerts/{alert_id}/dismiss").status_code == 200
    token = csrf_of(client, f"/alerts/{alert_id}/dismiss")
    soon = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    base = {"csrf_token": token, "reason": "data_quality", "detector": "*", "why": "replayed",
            "until": soon}  # fmt: skip
    for change, words in (({"until": "soon"}, "until"), ({"until": "2001-01-01"}, "after today"),
                          ({"until": "2999-01-01"}, "at most 366 days"),
                          ({"reason": "bored"}, "feedback needs one of"),
                          ({"detector": "nope"}, "not one of its detectors"),
                          ({"why": ""}, "say why")):  # fmt: skip
        data = base | change
        reply = client.post(f"/alerts/{alert_id}/dismiss", data=data)
        assert reply.status_code == 400, change
        assert words in reply.text, (change, re.findall(r'role="alert">([^<]*)', reply.text))
    with world.service.ops.store.session() as s:
        assert reads.dossier(s, alert_id).alert.state != "closed"  # nothing half done


def test_a_dismissal_previews_and_applying_it_does_exactly_that(world, clients):
    ops = world.service.ops.store
    alert_id = world.alert_ids[1]
    with ops.session() as s:
        alert = reads.dossier(s, alert_id).alert
    client = clients["analyst"]
    token = csrf_of(client, f"/alerts/{alert_id}/dismiss")
    until = (dt.date.today() + dt.timedelta(days=90)).isoformat()
    reply = client.post(f"/alerts/{alert_id}/dismiss", data={
        "csrf_token": token, "reason": "expected_role_behaviour", "detector": "*",
        "until": until, "why": "covers the VIP desk"})  # fmt: skip
    assert reply.status_code == 303, re.findall(r'role="alert">([^<]*)', reply.text)
    proposal_id = int(reply.headers["location"].rsplit("/", 1)[1])
    made = proposal(ops, proposal_id)
    with ops.session() as s:
        closed = reads.dossier(s, alert_id).alert
    assert (closed.state, closed.close_reason) == ("closed", "expected_role_behaviour")
    assert made.status == "proposed" and made.employee_id == alert.employee_id
    preview = made.preview
    assert alert_id in {a.alert_id for a in preview.spared}
    assert preview.alerts_after == preview.alerts_before - len(preview.spared)
    page = client.get(f"/feedback/{proposal_id}").text
    assert f"<strong>{len(preview.spared)}</strong> of the {preview.alerts_before} alerts" in page
    assert alert.employee_id not in page  # the employee by pseudonym only
    # An analyst cannot apply it; an investigator can, and detection then suppresses it.
    assert (
        client.post(f"/feedback/{proposal_id}/apply", data={"csrf_token": token}).status_code == 403
    )
    before = current_alert_ids(world)
    investigator = clients["investigator"]
    token = csrf_of(investigator, f"/feedback/{proposal_id}")
    applied = investigator.post(f"/feedback/{proposal_id}/apply",
                                data={"csrf_token": token, "why": "HR confirms"})  # fmt: skip
    assert applied.status_code == 303
    assert proposal(ops, proposal_id).status == "applied"
    live = world.service.live.deployment.detection.suppressions
    assert [(s.employee_id, s.author) for s in live] == [
        (alert.employee_id, "console:investigator")
    ]
    detect(world.service.live.deployment, store=world.service.store)
    after = current_alert_ids(world)
    assert before - after == {a.alert_id for a in preview.spared}
    actions = [e.action for e in audit_entries(ops, subject_id=alert.employee_id)]
    assert "suppression.propose" in actions and "suppression.apply" in actions
    # Withdrawn: live detection drops it at once.
    withdrawn = investigator.post(f"/feedback/{proposal_id}/withdraw", data={"csrf_token": token})
    assert withdrawn.status_code == 303
    assert world.service.live.deployment.detection.suppressions == []
    again = investigator.post(f"/feedback/{proposal_id}/apply", data={"csrf_token": token})
    assert again.status_code == 400 and "cannot go from withdrawn" in again.text
    listed = client.get("/feedback").text
    assert f'href="/feedback/{proposal_id}"' in listed and "withdrawn" in listed
    assert alert_queue(ops, QueueQuery(state="closed"), noisy_after=0).alerts
