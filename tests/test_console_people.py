"""The console's people pages and unmasking, in the real service over the real
operational store: the employee page's figures are the employee's own events, the
customer page lists every access with its explanation and is found by a keyed hash of
what was typed (never kept), and nobody's real identity reaches any page unless the
viewer holds an approved, unexpired unmasking of their own."""

from __future__ import annotations

import html
import json
import re

import pytest

from console_world import USERS, csrf_of, logged_in, make_world
from detect_scenarios import INSIDER
from insiderwatch.app.ops import audit_entries
from insiderwatch.contract.workflow import ROLES
from insiderwatch.detect.reasons import UNKNOWN, describe
from insiderwatch.web.console.registry import all_routes

NAME = "Zelda Quintrell"
RAW = re.compile(rf"\b{re.escape(INSIDER)}\b|{NAME}")
EMAIL, PHONE, CUSTOMER = "c5@example.com", "+44 7700 900005", "c005"  # as in base_company


@pytest.fixture(scope="module")
def world(tmp_path_factory, built_once):
    world = make_world(tmp_path_factory.mktemp("people"), built_once)
    # The insider gets a name to look for in every page (the roster is read on first use).
    world.service.store.con.execute(
        "UPDATE employees SET display_name = ? WHERE employee_id = ?", [NAME, INSIDER]
    )
    yield world
    world.service.stop()


@pytest.fixture(scope="module")
def sessions(world):
    with logged_in(world, (USERS[role] for role in ROLES)) as opened:
        yield {role: opened[USERS[role]] for role in ROLES}


def mask(world) -> str:
    return world.service.pseudonyms.of(INSIDER)


def post(client, path: str, **data):
    return client.post(path, data={"csrf_token": csrf_of(client), **data})


def every_page(world, client) -> str:
    """Every GET page of the console this client may open, with real parameters."""
    samples = {"alert_id": world.alert_ids[0], "case_id": world.case_id,
               "pseudonym": mask(world), "customer_id": CUSTOMER}  # fmt: skip
    texts = []
    for route in all_routes():
        if route.method != "GET" or route.public:
            continue
        path = re.sub(r"\{([^}]+)\}", lambda m: str(samples.get(m.group(1), "x")), route.path)
        texts.append(client.get(path).text)
    return "\n".join(texts)


def test_the_employee_page_shows_their_own_figures_under_their_pseudonym(world, sessions):
    client = sessions["investigator"]
    before = len(audit_entries(world.service.ops.store, action="employee.read", limit=10_000))
    page = client.get(f"/employees/{mask(world)}")
    assert page.status_code == 200
    assert mask(world) in page.text and not RAW.search(page.text)
    with world.service.reading() as store:
        events = store.scalar("SELECT count(*) FROM access WHERE employee_id = ?", [INSIDER])
        peers = store.scalar(
            "SELECT count(DISTINCT employee_id) FROM employee_days WHERE peer_group = "
            "(SELECT arg_max(peer_group, day) FROM employee_days WHERE employee_id = ?)",
            [INSIDER],
        )
    cells = re.findall(r'<td class="num heat-\d" title="[^"]*, (\d+) accesses">', page.text)
    assert len(cells) == 7 * 24 and sum(map(int, cells)) == events
    assert (
        len(
            re.findall(
                r"<tr(?: class=\"subject\")?>\s*<td>(?:<strong>|<a href=\"/employees/)", page.text
            )
        )
        == peers
    )
    risk = json.loads(re.findall(r'<script type="application/json">(.*?)</script>', page.text)[0])
    assert risk["data"][1] and max(risk["data"][1]) > 0, "the insider's alert lines carry scores"
    after = audit_entries(world.service.ops.store, action="employee.read", limit=10_000)
    assert len(after) == before + 1 and after[0].actor == "investigator"
    assert after[0].subject_id == INSIDER  # the log itself names who was looked at


def test_an_employee_id_is_not_a_pseudonym(world, sessions):
    assert sessions["analyst"].get(f"/employees/{INSIDER}").status_code == 404


def timeline_text(client, world) -> str:
    """The employee page's timeline as its reader sees it: text, no markup."""
    page = client.get(f"/employees/{mask(world)}")
    assert page.status_code == 200
    timeline = page.text.split('id="timeline"', 1)[1]
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", timeline)))


def test_the_employee_page_says_what_each_explanation_means(world, sessions):
    """Beside each access's reason its sentence (the reason registry); a reason an older
    store holds that this version does not know is shown bare, with "(no description)"."""
    client = sessions["investigator"]
    with world.service.reading() as store:
        event, name = store.con.execute(
            "SELECT event_id, x.explanation FROM access a JOIN access_explained x "
            "USING (event_id) WHERE a.employee_id = ? AND x.explanation IS NOT NULL "
            "ORDER BY a.time DESC, event_id LIMIT 1",
            [INSIDER],
        ).fetchone()
    assert f" {name} {describe(name)} " in timeline_text(client, world)
    con = world.service.store.con
    con.execute("UPDATE access_explained SET explanation = 'retired_reason' WHERE event_id = ?",
                [event])  # fmt: skip
    try:
        assert f" retired_reason {UNKNOWN} " in timeline_text(client, world)
    finally:
        con.execute("UPDATE access_explained SET explanation = ? WHERE event_id = ?",
                    [name, event])  # fmt: skip


def test_a_customer_is_found_by_a_hash_of_what_was_typed_which_is_never_kept(world, sessions):
    client = sessions["privacy_officer"]
    for typed in (EMAIL.upper(), f"mailto:{EMAIL}", PHONE, "07700 900005", CUSTOMER):
        reply = post(client, "/customers/find", typed=typed)
        assert reply.status_code == 303 and reply.headers["location"] == f"/customers/{CUSTOMER}", (
            typed
        )
    missing = post(client, "/customers/find", typed="nobody@example.com")
    assert missing.status_code == 404 and "nobody@example.com" not in missing.text
    searches = audit_entries(world.service.ops.store, action="customer.search", limit=100)
    logged = json.dumps([[e.subject_id, e.detail, e.why] for e in searches])
    assert "example.com" not in logged and "7700" not in logged
    assert {e.detail["typed"] for e in searches} == {"email", "phone", "customer_id"}


def test_the_customer_page_lists_every_access_with_its_reason_or_lack_of_one(world, sessions):
    client = sessions["analyst"]
    page = client.get(f"/customers/{CUSTOMER}")
    assert page.status_code == 200 and not RAW.search(page.text)
    with world.service.reading() as store:
        rows = store.con.execute(
            "SELECT a.employee_id, x.explanation FROM access a LEFT JOIN access_explained x "
            "USING (event_id) WHERE list_contains(a.customer_ids, ?)",
            [CUSTOMER],
        ).fetchall()
    assert rows, "the customer should have been looked at"
    assert page.text.count("<td><time") == len(rows)
    assert page.text.count(">no explanation<") == sum(x is None for _, x in rows)
    shown = set(re.findall(r'<a href="/employees/(anon-[a-z2-7]{8})">', page.text))
    assert shown == {world.service.pseudonyms.of(e) for e, _ in rows}
    (read,) = audit_entries(world.service.ops.store, action="customer.read", actor="analyst")
    assert read.subject_id == CUSTOMER
    assert client.get("/customers/nobody").status_code == 404


def test_nobody_is_named_on_any_page_until_their_own_approved_unmasking(world, sessions):
    for role, client in sessions.items():
        assert not RAW.search(every_page(world, client)), f"{role} saw who {mask(world)} is"
    analyst, officer = sessions["analyst"], sessions["privacy_officer"]
    assert post(analyst, "/unmask", pseudonym=mask(world), reason="").status_code == 409
    asked = post(analyst, "/unmask", pseudonym=mask(world), reason="alert: personal mailbox")
    assert asked.status_code == 303
    pending = officer.get("/unmask").text
    (request_id,) = re.findall(r'action="/unmask/(\d+)/approve"', pending)
    assert "alert: personal mailbox" in pending
    # The analyst cannot approve their own (their role may not), nor can anyone else.
    assert post(analyst, f"/unmask/{request_id}/approve").status_code == 403
    assert post(sessions["investigator"], f"/unmask/{request_id}/approve").status_code == 403
    for role, client in sessions.items():  # asked, not decided: still nobody
        assert not RAW.search(every_page(world, client)), role
    assert post(officer, f"/unmask/{request_id}/approve", hours="1").status_code == 303
    page = analyst.get(f"/employees/{mask(world)}").text
    assert NAME in page and INSIDER in page and "Unmasked for you" in page
    assert NAME in analyst.get("/alerts").text  # every page names them for the analyst
    for role, client in sessions.items():
        if role != "analyst":
            assert not RAW.search(every_page(world, client)), (
                f"{role} saw what only the analyst may"
            )
    # The auditor sees who watched, with the watched as a pseudonym.
    log = sessions["auditor"].get("/audit", params={"action": "unmask."}).text
    for action in ("unmask.request", "unmask.approve", "unmask.use"):
        assert action in log
    assert mask(world) in log and not RAW.search(log)
    # Given up: masked again at once.
    assert post(analyst, f"/unmask/{request_id}/revoke", why="done").status_code == 303
    assert not RAW.search(every_page(world, analyst))
    assert post(officer, f"/unmask/{request_id}/approve").status_code == 409


def test_the_audit_page_filters_and_pages_back(world, sessions):
    client = sessions["auditor"]
    first = client.get("/audit", params={"actor": "investigator"})
    assert first.status_code == 200
    actors = re.findall(r"</time></td>\s*<td>([^<]*)</td>", first.text)
    assert actors and set(actors) == {"investigator"}
    seqs = [int(s) for s in re.findall(r'<td class="num">(\d+)</td>', client.get("/audit").text)]
    assert seqs == sorted(seqs, reverse=True)
    older = client.get("/audit", params={"before": seqs[1]}).text
    assert [int(s) for s in re.findall(r'<td class="num">(\d+)</td>', older)][0] < seqs[1]
