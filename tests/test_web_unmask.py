"""Unmasking and the audit log over HTTP, route by role, with the real operational store
behind the service: staff stay pseudonyms in every answer until an approved, unexpired
unmasking of the asking user's own names them, and only for that user."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from detect_scenarios import INSIDER
from insiderwatch.app.ops import audit_entries
from insiderwatch.app.tokens import create_token
from insiderwatch.ingest import ingest_dataset
from insiderwatch.settings import load_settings
from insiderwatch.store import Store
from insiderwatch.store.ops.models import UserRow
from insiderwatch.web.api import create_app
from insiderwatch.web.server import build
from sample_data import KEY_HEX
from test_alert_history import episode_company
from test_web import KEY, post, take_events

NAME = "Zelda Quintrell"  # the insider's display name: must never show while masked
ROLES = {"ana": "analyst", "ivy": "investigator", "pat": "privacy_officer",
         "aud": "auditor", "adm": "admin"}  # fmt: skip
RAW = re.compile(rf"\b{re.escape(INSIDER)}\b|{NAME}")


@pytest.fixture(scope="module")
def company(tmp_path_factory) -> tuple[Path, list[str]]:
    """The episode company, its insider with a name; the events as JSON lines."""
    world = episode_company()
    for row in world.employees:
        if row["employee_id"] == INSIDER:
            row["display_name"] = NAME
    folder = world.write(tmp_path_factory.mktemp("company") / "dataset")
    return folder, take_events(folder)


@pytest.fixture
def api(tmp_path, company):
    """A client, the service, a token per role (user names in ROLES) and a collector's."""
    db = str(tmp_path / "iw.duckdb")
    with Store(db, threads=1) as store:
        ingest_dataset(store, company[0], KEY)
    service = build(load_settings({"db": db, "hash_key": KEY_HEX, "threads": 1,
                                   "detect_interval_seconds": 3600}))  # fmt: skip
    ops = service.ops.ops
    with ops.session() as s:  # nobody logs in with a password here: no argon2 to compute
        now = dt.datetime.now(dt.UTC)
        s.add_all(
            UserRow(name=n, role=r, password_hash="-", created_at=now) for n, r in ROLES.items()
        )
    tokens = {n: create_token(ops, kind="user", owner=n, actor="test").token for n in ROLES}
    tokens["crm"] = create_token(ops, kind="source", owner="crm", actor="test").token
    with TestClient(create_app(service)) as client:
        yield client, service, tokens


def as_(tokens, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[who]}"}


def ask(
    client, tokens, who: str, pseudonym: str, reason: str = "alert: export to a personal mailbox"
):
    return client.post("/v1/unmask", json={"pseudonym": pseudonym, "reason": reason},
                       headers=as_(tokens, who))  # fmt: skip


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("ana", 201),
        ("ivy", 201),
        ("pat", 403),
        ("aud", 403),
        ("adm", 403),
        ("crm", 401),
        (None, 401),
    ],
)
def test_who_may_ask_to_unmask(api, who, status) -> None:
    client, service, tokens = api
    headers = as_(tokens, who) if who else {}
    body = {"pseudonym": service.pseudonyms.of(INSIDER), "reason": "alert A-1"}
    reply = client.post("/v1/unmask", json=body, headers=headers)
    assert reply.status_code == status, reply.text


@pytest.mark.parametrize(
    ("who", "status"), [("pat", 200), ("ana", 403), ("ivy", 403), ("aud", 403), ("adm", 403)]
)
def test_who_may_decide(api, who, status) -> None:
    client, service, tokens = api
    made = ask(client, tokens, "ivy", service.pseudonyms.of(INSIDER)).json()
    for verb, body in (("approve", {}), ("reject", {"why": "no"})):
        reply = client.post(f"/v1/unmask/{made['request_id']}/{verb}", json=body,
                            headers=as_(tokens, who))  # fmt: skip
        assert reply.status_code == (
            status if verb == "approve" else 409 if status == 200 else status
        )


@pytest.mark.parametrize(
    ("who", "status"), [("aud", 200), ("ana", 403), ("ivy", 403), ("pat", 403), ("adm", 403)]
)
def test_only_the_auditor_reads_the_audit_log(api, who, status) -> None:
    client, _, tokens = api
    assert client.get("/v1/audit", headers=as_(tokens, who)).status_code == status


def test_bad_requests_say_why(api) -> None:
    client, service, tokens = api
    assert ask(client, tokens, "ana", INSIDER).status_code == 422  # an employee id
    assert ask(client, tokens, "ana", service.pseudonyms.of("nobody")).status_code == 404
    for blank in ("", "  \n"):
        assert (
            ask(client, tokens, "ana", service.pseudonyms.of(INSIDER), reason=blank).status_code
            == 422
        )
    made = ask(client, tokens, "ana", service.pseudonyms.of(INSIDER)).json()
    unexplained = client.post(f"/v1/unmask/{made['request_id']}/reject", json={"why": " "},
                              headers=as_(tokens, "pat"))  # fmt: skip
    assert unexplained.status_code == 409 and "needs a reason" in unexplained.json()["detail"]
    missing = client.post("/v1/unmask/999/approve", json={}, headers=as_(tokens, "pat"))
    assert missing.status_code == 404 and "no such request" in missing.json()["detail"]


def test_the_timeline_takes_a_pseudonym_never_an_employee_id(api) -> None:
    client, service, tokens = api
    reply = client.get(f"/v1/employees/{INSIDER}/timeline", headers=as_(tokens, "ana"))
    assert reply.status_code == 404
    mask = service.pseudonyms.of(INSIDER)
    assert (
        client.get(f"/v1/employees/{mask}/timeline", headers=as_(tokens, "ana")).status_code == 200
    )


def test_nobody_is_named_until_an_approved_unmasking_of_their_own(api, company) -> None:
    client, service, tokens = api
    assert post(client, "\n".join(company[1]), tokens["crm"]).status_code == 202
    service.flush()
    mask = service.pseudonyms.of(INSIDER)
    reads = ["/v1/alerts", f"/v1/employees/{mask}/timeline", f"/v1/employees/{mask}/identity",
             "/v1/unmask"]  # fmt: skip

    def answers(who: str) -> str:
        return "\n".join(client.get(path, headers=as_(tokens, who)).text for path in reads)

    assert mask in answers("ana")
    for who in ROLES:
        assert not RAW.search(answers(who)), f"{who} saw the person behind {mask}"
    made = ask(client, tokens, "ana", mask).json()
    for who in ROLES:  # asked, not yet approved
        assert not RAW.search(answers(who))
    decided = client.post(f"/v1/unmask/{made['request_id']}/approve", json={"hours": 2},
                          headers=as_(tokens, "pat")).json()  # fmt: skip
    assert decided["state"] == "approved" and decided["approver"] == "pat"
    seen = client.get(f"/v1/employees/{mask}/identity", headers=as_(tokens, "ana")).json()
    assert (seen["unmasked"], seen["employee_id"], seen["display_name"]) == (True, INSIDER, NAME)
    for who in set(ROLES) - {"ana"}:  # the grant is the requester's alone
        assert not RAW.search(answers(who)), f"{who} saw what only ana may"
    # The auditor sees that ana looked, with the person as a pseudonym.
    log = client.get("/v1/audit", params={"action": "unmask."}, headers=as_(tokens, "aud"))
    actions = [e["action"] for e in log.json()]
    assert actions[:3] == ["unmask.use", "unmask.approve", "unmask.request"]
    assert not RAW.search(log.text) and mask in log.text
    (use,) = audit_entries(service.ops.ops, action="unmask.use")
    assert use.subject_id == INSIDER and use.actor == "ana"
    # Revoked: masked again at once.
    revoke = client.post(f"/v1/unmask/{made['request_id']}/revoke", json={"why": "done"},
                         headers=as_(tokens, "ana"))  # fmt: skip
    assert revoke.json()["state"] == "revoked"
    assert not RAW.search(answers("ana"))


def test_requesters_list_their_own_requests_officers_and_auditors_all(api) -> None:
    client, service, tokens = api
    ask(client, tokens, "ana", service.pseudonyms.of(INSIDER))
    ask(client, tokens, "ivy", service.pseudonyms.of(INSIDER))
    mine = client.get("/v1/unmask", headers=as_(tokens, "ana")).json()
    assert [r["requester"] for r in mine] == ["ana"]
    for who in ("pat", "aud"):
        every = client.get("/v1/unmask", headers=as_(tokens, who)).json()
        assert [r["requester"] for r in every] == ["ivy", "ana"]
    pending = client.get("/v1/unmask", params={"state": "approved"}, headers=as_(tokens, "pat"))
    assert pending.json() == []
