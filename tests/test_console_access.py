"""Console access control over the real operational store: every console route, for
every role, answers exactly as its declared roles say (anonymous visitors are sent to
log in); state changes need the session's CSRF token; logins are rate limited per account
and per address (persisted), audited, and never say whether an account exists."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from console_world import PASSWORD, USERS, client_for, csrf_of, logged_in, login, make_world
from detect_scenarios import INSIDER
from insiderwatch.app.feedback import propose_from_dismissal
from insiderwatch.app.ops import audit_entries
from insiderwatch.app.sessions import viewer_of
from insiderwatch.app.users import add_user, disable_user
from insiderwatch.contract.console import LoginPolicy
from insiderwatch.contract.workflow import ROLES
from insiderwatch.web.console.registry import all_routes

ROUTES = all_routes()
PROTECTED = [r for r in ROUTES if not r.public]


@pytest.fixture(scope="module")
def world(tmp_path_factory, built_once):
    world = make_world(tmp_path_factory.mktemp("console"), built_once)
    with world.service.reading() as store:
        world.proposal_id = propose_from_dismissal(
            world.service.ops.store, store, world.service.deployment.detection,
            world.service.key, world.alert_ids[1], reason="data_quality", detector="*",
            until=dt.date.today() + dt.timedelta(days=30), why="feed replayed", actor="admin",
        ).proposal_id  # fmt: skip
    yield world
    world.service.stop()


@pytest.fixture(scope="module")
def sessions(world):
    """A logged-in client per role (kept for the module: logging in hashes a password)."""
    with logged_in(world, (USERS[role] for role in ROLES)) as opened:
        yield {role: opened[USERS[role]] for role in ROLES}


def sample_path(route, world) -> str:
    """The route's path with real values for its parameters (a new parameter needs a
    sample here, or this fails naming it)."""
    samples = {
        "alert_id": world.alert_ids[0],
        "case_id": world.case_id,
        "action_id": "any",
        "proposal_id": world.proposal_id,
        "pseudonym": world.service.pseudonyms.of(INSIDER),
        "customer_id": "c001",
        "request_id": 1,
    }

    def value(match: re.Match) -> str:
        name = match.group(1).split(":")[0]
        assert name in samples, f"{route.path}: add a sample value for {{{name}}}"
        return str(samples[name])

    return re.sub(r"\{([^}]+)\}", value, route.path)


def test_the_registry_lists_the_skeleton_and_every_route_declares_roles():
    paths = {(r.method, r.path) for r in ROUTES}
    assert {("GET", "/"), ("GET", "/login"), ("POST", "/login"), ("POST", "/logout")} <= paths
    for route in ROUTES:
        assert route.roles <= set(ROLES)
    assert [r for r in ROUTES if r.public] == [r for r in ROUTES if r.path == "/login"], (
        "only the login page is public"
    )


@pytest.mark.parametrize("route", PROTECTED, ids=lambda r: f"{r.method} {r.path}")
def test_anonymous_visitors_are_sent_to_log_in(route, world):
    with client_for(world) as client:
        reply = client.request(route.method, sample_path(route, world))
    assert reply.status_code == 303
    assert reply.headers["location"].startswith("/login?next=")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", [r for r in PROTECTED if r.method == "GET"],
                         ids=lambda r: r.path)  # fmt: skip
def test_each_role_gets_exactly_the_pages_the_matrix_gives_it(route, role, world, sessions):
    reply = sessions[role].get(sample_path(route, world))
    expected = 200 if role in route.roles else 403
    assert reply.status_code == expected, (role, route.path, reply.text[:300])


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("route", [r for r in PROTECTED if r.method == "POST"],
                         ids=lambda r: r.path)  # fmt: skip
def test_each_change_is_refused_to_other_roles_and_without_the_csrf_token(
    route, role, world, sessions
):
    client = sessions[role]
    path = sample_path(route, world)
    if role not in route.roles:
        token = csrf_of(client)
        reply = client.post(path, data={"csrf_token": token})
        assert reply.status_code == 403, (role, route.path)
        assert "may not use this page" in reply.text
        return
    for data in ({}, {"csrf_token": "forged"}):
        reply = client.post(path, data=data)
        assert reply.status_code == 403, (role, route.path, data)
        assert "CSRF" in reply.text
    reply = client.post(path, headers={"X-CSRF-Token": "forged"})
    assert reply.status_code == 403


def test_a_post_from_another_site_is_refused_even_with_the_token(world, sessions):
    client = sessions["analyst"]
    token = csrf_of(client)
    reply = client.post("/logout", data={"csrf_token": token},
                        headers={"Origin": "https://evil.example"})  # fmt: skip
    assert reply.status_code == 403
    assert client.get("/").status_code == 200  # still logged in


def test_login_sets_strict_http_only_cookies_and_follows_only_local_next(world):
    add_user(world.service.ops.store, "nina", "analyst", PASSWORD, actor="test")
    with client_for(world) as client:
        reply = login(client, "nina", next_url="//evil.example/x")
        assert reply.status_code == 303
        assert reply.headers["location"] == "/"
        cookie = reply.headers["set-cookie"]
        assert "iw_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert "Secure" not in cookie  # this world runs plain http on purpose
        assert client.get("/").status_code == 200


def test_secure_cookies_use_the_host_prefix(world, monkeypatch):
    with client_for(world, "https://testserver") as client:  # Secure cookies need https
        monkeypatch.setattr(client.app.state.console, "secure_cookies", True)
        reply = login(client, USERS["auditor"])
        assert reply.status_code == 303
        cookie = reply.headers["set-cookie"]
        assert cookie.startswith("__Host-iw_session=") and "Secure" in cookie


def test_the_login_form_needs_its_own_token(world):
    with client_for(world) as client:
        reply = client.post("/login", data={"name": "admin", "password": PASSWORD})
        assert reply.status_code == 403
        assert "expired" in reply.text
        assert client.get("/").status_code == 303


def _refusal(text: str) -> str:
    return re.search(r'<p class="error" role="alert">([^<]*)</p>', text).group(1)


def test_wrong_passwords_and_unknown_users_get_the_same_answer_and_are_audited(world):
    with client_for(world) as client:
        wrong = login(client, "investigator", "not the password at all")
        nobody = login(client, "nobody-here", "not the password at all")
    assert wrong.status_code == nobody.status_code == 401
    assert _refusal(wrong.text) == _refusal(nobody.text)
    failed = audit_entries(world.service.ops.store, action="console.login_failed")
    subjects = [e.subject_id for e in failed]
    assert "investigator" in subjects
    assert "nobody-here" not in subjects  # a typed name that is no account is kept hashed
    assert any(s.startswith("unknown:") for s in subjects)


def test_an_account_is_locked_after_its_failures_even_across_a_restart(world):
    ops = world.service.ops.store
    add_user(ops, "olga", "investigator", PASSWORD, actor="test")
    limit = world.service.settings.console_login_attempts
    with client_for(world) as client:
        for _ in range(limit):
            assert login(client, "olga", "wrong password!!").status_code == 401
        throttled = login(client, "olga")  # the right password, too late
        ghost = [login(client, "ghost-user", "wrong password!!") for _ in range(limit + 1)][-1]
    assert throttled.status_code == ghost.status_code == 429
    assert _refusal(throttled.text) == _refusal(ghost.text)  # nothing says who exists
    with client_for(world) as restarted:  # a new app over the same store
        assert login(restarted, "olga").status_code == 429
    assert audit_entries(ops, action="console.login_throttled")


def test_an_address_is_throttled_across_accounts(world, monkeypatch):
    add_user(world.service.ops.store, "pavel", "analyst", PASSWORD, actor="test")
    with client_for(world) as client:
        console = client.app.state.console
        monkeypatch.setattr(console, "policy", LoginPolicy(per_account=100, per_address=3))
        for k in range(3):
            login(client, f"spray-{k}", "wrong password!!")
        assert login(client, "pavel").status_code == 429


def test_logout_revokes_the_session_server_side(world):
    add_user(world.service.ops.store, "quinn", "analyst", PASSWORD, actor="test")
    with client_for(world) as client:
        login(client, "quinn")
        stolen = dict(client.cookies)
        token = csrf_of(client)
        reply = client.post("/logout", data={"csrf_token": token})
        assert reply.status_code == 303 and reply.headers["location"] == "/login"
    with client_for(world) as thief:
        thief.cookies.update(stolen)
        assert thief.get("/").status_code == 303  # the cookie is worth nothing now
    actions = [e.action for e in audit_entries(world.service.ops.store, actor="quinn")]
    assert "console.login" in actions and "console.logout" in actions


def test_sessions_end_when_idle_expired_or_the_user_is_disabled(world):
    ops = world.service.ops.store
    add_user(ops, "rita", "analyst", PASSWORD, actor="test")
    with client_for(world) as client:
        login(client, "rita")
        token = client.cookies["iw_session"]
        policy = client.app.state.console.policy
        now = dt.datetime.now(dt.UTC)
        assert viewer_of(ops, token, policy, now=now) is not None
        idle = now + dt.timedelta(minutes=policy.idle_minutes + 1)
        assert viewer_of(ops, token, policy, now=idle) is None
        disable_user(ops, "rita", actor="test")
        assert viewer_of(ops, token, policy) is None
        assert client.get("/").status_code == 303


def test_pages_carry_security_headers_and_the_layout_is_accessible(world, sessions):
    reply = sessions["analyst"].get("/")
    assert "frame-ancestors 'none'" in reply.headers["content-security-policy"]
    assert reply.headers["cache-control"] == "no-store"
    html = reply.text
    assert 'class="skip-link" href="#main"' in html and '<main id="main"' in html
    assert '<nav aria-label="Main">' in html and 'lang="en"' in html
    assert "X-CSRF-Token" in html  # htmx requests send the token too
    # Static files exist where the layout points.
    for src in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        assert sessions["analyst"].get(src).status_code == 200, src
