"""Containment playbooks against a real SCIM 2.0 server (scim2-server, started here):
the user's ``active`` is read back from the server after each step."""

from __future__ import annotations

import datetime as dt

import httpx2
import pytest

from insiderwatch.errors import InsiderwatchError
from insiderwatch.privacy.pseudonyms import pseudonym
from insiderwatch.respond.records import Subject
from insiderwatch.respond.responder import Responder
from respond_helpers import T0, alert, config_from, response_store
from respond_servers import HookServer, ScimServer


@pytest.fixture(scope="module")
def scim_server():
    """One server for the module (it starts in seconds); each test uses its own users."""
    server = ScimServer()
    yield server
    server.stop()


@pytest.fixture
def scim(scim_server, monkeypatch):
    monkeypatch.setenv("SCIM_TOKEN", ScimServer.TOKEN)
    return scim_server


def _http(scim: ScimServer) -> httpx2.Client:
    return httpx2.Client(
        base_url=scim.url,
        headers={
            "Authorization": f"Bearer {ScimServer.TOKEN}",
            "Content-Type": "application/scim+json",
        },
    )


def create_user(scim: ScimServer, user_name: str) -> str:
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "active": True,
    }
    with _http(scim) as http:
        response = http.post("/Users", json=body)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def active(scim: ScimServer, user_id: str) -> bool:
    with _http(scim) as http:
        return http.get(f"/Users/{user_id}").json()["active"]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


def responder(
    tmp_path, hash_key, scim, playbooks: str, clock=None, subjects=None, extra=""
) -> Responder:
    text = f"scim: {{url: '{scim.url}', token_env: SCIM_TOKEN}}\n{extra}playbooks:\n{playbooks}"
    kwargs = {"clock": clock} if clock else {}
    if subjects:
        kwargs["subjects"] = subjects
    made = Responder(config_from(tmp_path, text), hash_key, response_store(tmp_path), **kwargs)
    made.start()
    return made


TWO_APPROVERS = """\
  - name: harvest
    when: {severities: [critical], min_score: 80}
    mode: approve
    approvals: 2
    expires_after: 2h
    actions: [suspend]
"""


def test_approve_suspend_then_reinstate_at_the_scim_server(tmp_path, hash_key, scim) -> None:
    user = create_user(scim, "E00042")
    other = create_user(scim, "E00077")
    r = responder(tmp_path, hash_key, scim, TWO_APPROVERS)
    done = r.handle([alert("E00042"), alert("E00077", severity="high", score=70)])
    [action] = done.containment  # the high alert matches no playbook
    assert (action.status, action.approvals_needed, action.employee) == (
        "pending",
        2,
        pseudonym(hash_key, "E00042"),
    )
    assert "E00042" not in action.reason
    assert r.handle([alert("E00042", revision=1)]).containment == []  # never twice per alert
    assert r.contain.approve(action.action_id, "alice", "looked at the export").status == "pending"
    assert active(scim, user)
    with pytest.raises(InsiderwatchError, match="must be someone else"):
        r.contain.approve(action.action_id, "alice")
    done_action = r.contain.approve(action.action_id, "bob")
    assert done_action.status == "done" and done_action.approvers == ["alice", "bob"]
    assert active(scim, user) is False and active(scim, other) is True
    back = r.contain.reinstate(action.action_id, "carol", "the export was a sanctioned audit")
    assert back.status == "reinstated" and active(scim, user) is True
    trail = [(e.actor, e.event) for e in back.events]
    assert trail == [
        ("playbook:harvest", "requested"),
        ("alice", "approved"),
        ("bob", "approved"),
        ("bob", "executed"),
        ("carol", "reinstated"),
    ]
    assert "sanctioned audit" in back.events[-1].note
    r.close()


def test_auto_suspends_at_once_but_never_a_service_account(tmp_path, hash_key, scim) -> None:
    person = create_user(scim, "E1")
    machine = create_user(scim, "svc-sync")
    subjects = {
        "E1": Subject(employee_id="E1", role="agent"),
        "svc-sync": Subject(employee_id="svc-sync", role="system", service_account=True),
    }
    book = "  - {name: cut, when: {min_severity: high}, mode: auto, actions: [suspend]}\n"
    r = responder(tmp_path, hash_key, scim, book, subjects=lambda a: subjects[a.employee_id])
    done = r.handle([alert("E1"), alert("svc-sync")])
    by_who = {a.employee_id: a for a in done.containment}
    assert by_who["E1"].status == "done" and active(scim, person) is False
    held = by_who["svc-sync"]
    assert (held.status, held.mode, held.requested_mode) == ("pending", "approve", "auto")
    assert "never suspended automatically" in held.events[0].note
    assert active(scim, machine) is True
    r.close()


def test_routine_flow_is_downgraded_and_dry_run_changes_nothing(tmp_path, hash_key, scim) -> None:
    user = create_user(scim, "E2")
    books = (
        "  - {name: cut, when: {roles: [analyst]}, mode: auto, actions: [suspend]}\n"
        "  - {name: rehearse, mode: dry-run, actions: [suspend]}\n"
    )
    subject = Subject(employee_id="E2", role="analyst", routine=True)
    r = responder(tmp_path, hash_key, scim, books, subjects=lambda a: subject)
    done = {a.playbook: a for a in r.handle([alert("E2")]).containment}
    assert done["cut"].status == "pending" and "routinely" in done["cut"].events[0].note
    assert done["rehearse"].status == "dry_run"
    assert active(scim, user) is True
    r.close()


def test_expired_approval_cannot_run(tmp_path, hash_key, scim) -> None:
    user = create_user(scim, "E3")
    clock = Clock()
    r = responder(tmp_path, hash_key, scim, TWO_APPROVERS.replace("2h", "30m"), clock=clock)
    [action] = r.handle([alert("E3")]).containment
    r.contain.approve(action.action_id, "alice")
    clock.now = T0 + dt.timedelta(minutes=31)
    with pytest.raises(InsiderwatchError, match="is expired, not pending"):
        r.contain.approve(action.action_id, "bob")
    assert active(scim, user) is True
    assert r.contain.store.action(action.action_id).events[-1].event == "expired"
    r.close()


def test_rejected_and_unknown_user_are_recorded(tmp_path, hash_key, scim) -> None:
    book = "  - {name: one, mode: approve, actions: [suspend]}\n"
    r = responder(tmp_path, hash_key, scim, book)
    rejected, missing = r.handle([alert("E4"), alert("E-nobody")]).containment
    assert r.contain.reject(rejected.action_id, "alice", "known project").status == "rejected"
    failed = r.contain.approve(missing.action_id, "alice")
    assert failed.status == "failed" and "no user matches" in failed.result
    with pytest.raises(InsiderwatchError, match="only a done action"):
        r.contain.reinstate(failed.action_id, "alice", "why not")
    user = create_user(scim, "E-nobody")  # the identity provider catches up
    retried = r.contain.retry(failed.action_id, "alice", "user provisioned")
    assert retried.status == "done" and active(scim, user) is False
    assert [e.event for e in retried.events][-3:] == ["failed", "retried", "executed"]
    r.close()


def test_revoke_sessions_and_notify(tmp_path, hash_key, scim, monkeypatch) -> None:
    revoke, chat = HookServer(), HookServer()
    monkeypatch.setenv("REVOKE_SECRET", "s3cret")
    extra = (
        f"revoke_sessions: {{url: '{revoke.url}', secret_env: REVOKE_SECRET}}\n"
        f"sinks: {{room: {{type: slack, url: '{chat.url}'}}}}\n"
    )
    book = (
        "  - name: cut\n    mode: approve\n"
        "    actions: [revoke_sessions, {type: notify, sinks: [room]}]\n"
    )
    try:
        r = responder(tmp_path, hash_key, scim, book, extra=extra)
        actions = {a.action: a for a in r.handle([alert("E5")]).containment}
        assert actions["notify"].status == "done" and actions["revoke_sessions"].status == "pending"
        assert (actions["notify"].mode, actions["notify"].approvals_needed) == ("auto", 0)
        r.contain.approve(actions["revoke_sessions"].action_id, "alice")
        r.close()
    finally:
        revoke.stop()
        chat.stop()
    [call] = revoke.received
    assert call.json()["employee_id"] == "E5" and call.headers[
        "X-Insiderwatch-Signature"
    ].startswith("sha256=")
    [message] = chat.received
    assert "waiting for approval: revoke_sessions" in message.json()["text"]
    assert "E5" not in message.body.decode()


def test_the_trail_is_append_only(tmp_path, hash_key, scim) -> None:
    import sqlalchemy as sa

    r = responder(tmp_path, hash_key, scim, "  - {name: one, mode: dry-run, actions: [suspend]}\n")
    r.handle([alert("E6")])
    r.close()
    with (
        pytest.raises(sa.exc.DatabaseError, match="append-only"),
        r.contain.store.engine.begin() as con,
    ):
        con.execute(sa.text("UPDATE containment_events SET actor = 'someone else'"))


def test_subject_looked_up_only_when_the_alert_conditions_hold(tmp_path, hash_key, scim) -> None:
    asked: list[str] = []

    def subjects(a):
        asked.append(a.employee_id)
        return Subject(employee_id=a.employee_id, role="agent")

    book = "  - {name: one, when: {min_score: 90, roles: [agent]}, mode: dry-run, actions: [suspend]}\n"
    r = responder(tmp_path, hash_key, scim, book, subjects=subjects)
    done = r.handle([alert("E8", score=50), alert("E9", score=95)])
    r.close()
    assert asked == ["E9"] and [a.employee_id for a in done.containment] == ["E9"]
