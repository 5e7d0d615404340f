"""Unmasking on SQLite and PostgreSQL: a reasoned request, a privacy officer's decision
(never the requester's own), expiry that masks again, revocation, and an audit entry
for every step and every use."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from insiderwatch.app.ops import audit_entries, read_audit, verify_audit
from insiderwatch.app.staff import Person
from insiderwatch.app.unmask import decide_unmask, identity_for, request_unmask, revoke_unmask
from insiderwatch.app.unmask import unmask_requests as listed
from insiderwatch.privacy import HashKey
from insiderwatch.privacy.pseudonyms import pseudonym
from insiderwatch.store.ops import open_ops
from insiderwatch.store.ops.models import UserRow
from insiderwatch.store.ops.unmask import UnmaskError, UnmaskNotFound, UnmaskRefused
from sample_data import KEY_HEX

KEY = HashKey(bytes.fromhex(KEY_HEX))
T0 = dt.datetime(2026, 10, 1, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
SPY = Person("E00042", "Sam Spy")
MASK = pseudonym(KEY, SPY.employee_id)
ROSTER = {MASK: SPY}
STAFF = {"ana": "analyst", "ivy": "investigator", "pat": "privacy_officer",
         "pia": "privacy_officer", "aud": "auditor", "adm": "admin"}  # fmt: skip


@pytest.fixture
def ops(ops_url: str):
    with open_ops(ops_url) as opened:
        with opened.session() as s:  # no one logs in here: no argon2 hash to compute
            s.add_all(
                UserRow(name=n, role=r, password_hash="-", created_at=T0) for n, r in STAFF.items()
            )
        yield opened


def ask(ops, who: str = "ana", reason: str = "alert A-1: bulk export", **kw):
    return request_unmask(ops, requester=who, pseudonym=MASK, reason=reason, at=T0, **kw)


def approve(ops, request_id: int, who: str = "pat", hours: float = 24, at=T0 + HOUR):
    return decide_unmask(ops, request_id, approver=who, approve=True, hours=hours, at=at)


def test_an_approved_request_names_the_person_to_its_requester_only_until_expiry(ops) -> None:
    req = ask(ops)
    assert req.state == "requested" and req.pseudonym == MASK
    assert not identity_for(ops, "ana", MASK, ROSTER.get, at=T0 + HOUR).unmasked
    done = approve(ops, req.request_id, hours=8)
    assert (done.state, done.approver) == ("approved", "pat")
    assert done.expires_at == T0 + 9 * HOUR
    seen = identity_for(ops, "ana", MASK, ROSTER.get, at=T0 + 2 * HOUR)
    assert (seen.employee_id, seen.display_name, seen.grant) == (
        "E00042",
        "Sam Spy",
        req.request_id,
    )
    # Another user, even the approver, still sees the pseudonym alone.
    for other in ("ivy", "pat", "aud"):
        assert identity_for(ops, other, MASK, ROSTER.get, at=T0 + 2 * HOUR).employee_id is None
    # Time is up: masked again, and the request says so.
    later = identity_for(ops, "ana", MASK, ROSTER.get, at=T0 + 9 * HOUR)
    assert later.employee_id is None and later.display_name is None
    (now,) = listed(ops, at=T0 + 10 * HOUR)
    assert now.state == "expired"


def test_every_step_and_every_use_is_in_the_audit_log(ops) -> None:
    req = ask(ops)
    approve(ops, req.request_id, hours=2)
    identity_for(ops, "ana", MASK, ROSTER.get, at=T0 + 2 * HOUR)
    identity_for(ops, "ana", MASK, ROSTER.get, at=T0 + 4 * HOUR)  # expired by then
    entries = audit_entries(ops, action="unmask.", limit=50)
    assert [e.action for e in reversed(entries)] == [
        "unmask.request", "unmask.approve", "unmask.use", "unmask.expire"
    ]  # fmt: skip
    request, _, use, expiry = reversed(entries)
    assert (request.actor, request.why) == ("ana", "alert A-1: bulk export")
    assert (use.actor, use.subject_kind, use.subject_id) == ("ana", "employee", "E00042")
    assert use.detail == {"pseudonym": MASK, "request_id": req.request_id}
    assert expiry.at == T0 + 3 * HOUR
    assert verify_audit(ops).ok


@pytest.mark.parametrize(
    ("who", "error", "says"),
    [
        ("pat", UnmaskRefused, "only analyst or investigator"),
        ("aud", UnmaskRefused, "only analyst or investigator"),
        ("adm", UnmaskRefused, "only analyst or investigator"),
        ("nobody", UnmaskRefused, "no active user"),
    ],
)
def test_only_analysts_and_investigators_ask(ops, who, error, says) -> None:
    with pytest.raises(error, match=says):
        ask(ops, who)
    assert listed(ops) == []


@pytest.mark.parametrize("reason", ["", "   \n"])
def test_a_request_needs_a_reason(ops, reason: str) -> None:
    with pytest.raises(UnmaskError, match="reason is required"):
        ask(ops, reason=reason)


def test_a_request_names_a_pseudonym_never_an_employee_id(ops) -> None:
    with pytest.raises(UnmaskError, match="not a staff pseudonym"):
        request_unmask(ops, requester="ana", pseudonym="E00042", reason="r")
    other = pseudonym(KEY, "E99999")
    with pytest.raises(UnmaskError, match="no member of staff"):
        request_unmask(ops, requester="ana", pseudonym=other, reason="r", lookup=ROSTER.get)


def test_the_database_refuses_a_blank_reason_and_a_self_approval_too(ops) -> None:
    req = ask(ops)
    with pytest.raises(IntegrityError), ops.session() as s:
        s.execute(text("UPDATE unmask_requests SET reason = ' '"))
    with pytest.raises(IntegrityError), ops.session() as s:
        s.execute(text("UPDATE unmask_requests SET approver = requester"))
    assert listed(ops)[0] == req


@pytest.mark.parametrize(
    ("who", "error"),
    [("ana", UnmaskRefused), ("ivy", UnmaskRefused), ("aud", UnmaskRefused)],
)
def test_only_a_privacy_officer_decides(ops, who, error) -> None:
    req = ask(ops)
    with pytest.raises(error, match="only privacy_officer"):
        approve(ops, req.request_id, who=who)
    assert listed(ops)[0].state == "requested"


def test_a_privacy_officer_cannot_decide_a_request_of_their_own(ops) -> None:
    with ops.session() as s:  # a privacy officer who was an investigator when asking
        s.execute(text("UPDATE users SET role = 'investigator' WHERE name = 'pia'"))
    req = ask(ops, "pia")
    with ops.session() as s:
        s.execute(text("UPDATE users SET role = 'privacy_officer' WHERE name = 'pia'"))
    with pytest.raises(UnmaskRefused, match="their own request"):
        approve(ops, req.request_id, who="pia")


def test_a_rejection_needs_a_reason_and_a_decision_is_final(ops) -> None:
    req = ask(ops)
    with pytest.raises(UnmaskError, match="rejection needs a reason"):
        decide_unmask(ops, req.request_id, approver="pat", approve=False, hours=24)
    done = decide_unmask(
        ops, req.request_id, approver="pat", approve=False, hours=24, why="no alert open"
    )
    assert (done.state, done.expires_at, done.decision_why) == ("rejected", None, "no alert open")
    with pytest.raises(UnmaskError, match="already rejected"):
        approve(ops, req.request_id)
    assert not identity_for(ops, "ana", MASK, ROSTER.get, at=T0 + 2 * HOUR).unmasked
    with pytest.raises(UnmaskNotFound):
        approve(ops, 999)


def test_revoking_masks_again_at_once(ops) -> None:
    req = ask(ops)
    approve(ops, req.request_id)
    with pytest.raises(UnmaskRefused):
        revoke_unmask(ops, req.request_id, actor="ivy", at=T0 + 2 * HOUR)
    done = revoke_unmask(ops, req.request_id, actor="pia", why="case closed", at=T0 + 2 * HOUR)
    assert (done.state, done.revoked_by) == ("revoked", "pia")
    assert not identity_for(ops, "ana", MASK, ROSTER.get, at=T0 + 3 * HOUR).unmasked
    with pytest.raises(UnmaskError, match="already revoked"):
        revoke_unmask(ops, req.request_id, actor="ana")


def test_the_requester_can_give_an_unmasking_up(ops) -> None:
    req = ask(ops)
    approve(ops, req.request_id)
    assert revoke_unmask(ops, req.request_id, actor="ana", at=T0 + 2 * HOUR).state == "revoked"


def test_an_expired_approval_cannot_be_revoked_any_more(ops) -> None:
    req = ask(ops)
    approve(ops, req.request_id, hours=1)
    with pytest.raises(UnmaskError, match="already expired"):
        revoke_unmask(ops, req.request_id, actor="pat", at=T0 + 5 * HOUR)


def test_the_auditor_reads_the_log_with_staff_as_pseudonyms_and_is_audited(ops) -> None:
    req = ask(ops)
    approve(ops, req.request_id)
    identity_for(ops, "ana", MASK, ROSTER.get, at=T0 + 2 * HOUR)
    show = lambda e: pseudonym(KEY, e)  # noqa: E731
    found = read_audit(ops, reader="aud", show_staff=show, action="unmask.use")
    assert [e.subject_id for e in found] == [MASK]
    (own,) = audit_entries(ops, action="audit.read")
    assert own.actor == "aud" and own.detail == {"action": "unmask.use"}
    # Paging: "before" goes back from a seq.
    everything = read_audit(ops, reader="aud", show_staff=show, limit=1000)
    page = read_audit(ops, reader="aud", show_staff=show, before=everything[2].seq, limit=2)
    assert [e.seq for e in page] == [everything[3].seq, everything[4].seq]
    assert "E00042" not in repr(everything)
