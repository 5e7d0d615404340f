"""The case page's breach scope over a real detected company: an insider harvested 40
customers and exported their emails and phones to a personal mailbox; the case made from
that alert shows who was exposed, which categories went out and when, staff as
pseudonyms and no contact detail, to the roles that act on a breach, each view and
download audited; the download is the folder `insiderwatch breach notices` reads."""

from __future__ import annotations

import io
import re
import zipfile

import msgspec
import pytest

from console_world import client_for, csrf_of, login, make_world
from detect_scenarios import INSIDER
from insiderwatch.app.alerts import triage
from insiderwatch.app.ops import audit_entries
from insiderwatch.contract.breach import ScopeSummary

HARVEST = {f"c{200 + k:03d}" for k in range(40)}


@pytest.fixture(scope="module")
def world(tmp_path_factory, built_once):
    world = make_world(tmp_path_factory.mktemp("breach"), built_once)
    yield world
    world.service.stop()


@pytest.fixture(scope="module")
def harvest_case(world) -> tuple[int, str]:
    """A case made from the insider's alert that carries the harvest."""
    with world.service.reading() as store:
        rows = store.con.execute(
            "SELECT alert_id, customer_ids FROM alerts WHERE employee_id = ?", [INSIDER]
        ).fetchall()
    alert_id = next(a for a, customers in rows if HARVEST & set(customers))
    ops = world.service.ops.store
    if alert_id != world.alert_ids[0]:  # the world's own case holds that one already
        triage(ops, alert_id, "triaging", actor="test")
        return triage(
            ops, alert_id, "escalated", actor="test", new_case="harvest"
        ).case_id, alert_id
    return world.case_id, alert_id


def expected(world, alert_id: str) -> tuple[set[str], set[str]]:
    """Customers the insider was shown since the alert's first evidence, and those whose
    email went out, read straight from the events (every access, none explained here)."""
    with world.service.reading() as store:
        rows = store.con.execute(
            """SELECT a.customer_ids, a.fields, a.destination FROM access a, alerts l
               WHERE l.alert_id = ? AND a.employee_id = l.employee_id
                 AND a.time >= l.first_seen AND len(a.fields) > 0""",
            [alert_id],
        ).fetchall()
    shown = {c for customers, _, _ in rows for c in customers}
    emailed_out = {c for customers, fields, dest in rows if dest and "email" in fields
                   for c in customers}  # fmt: skip
    return shown, emailed_out


def count(page: str, name: str) -> int:
    return int(re.search(rf'data-count="{name}">([\d,]+)<', page).group(1).replace(",", ""))


def field_row(page: str, field: str) -> tuple[int, int]:
    row = re.search(rf'data-field="{field}">.*?</tr>', page, re.S).group(0)
    viewed, taken = re.findall(r'class="num">([\d,]+)<', row)
    return int(viewed.replace(",", "")), int(taken.replace(",", ""))


def test_the_case_page_shows_the_harvest_scope_pseudonymised(world, harvest_case):
    case_id, alert_id = harvest_case
    shown, emailed_out = expected(world, alert_id)
    assert emailed_out >= HARVEST  # the scenario: the harvest's emails went out
    with client_for(world) as client:
        assert login(client, "investigator").status_code == 303
        case_page = client.get(f"/cases/{case_id}").text
        # The case page only links to the scope: opening a case reads no scope.
        assert not audit_entries(world.service.ops.store, actor="investigator",
                                 action="breach.scope")  # fmt: skip
        assert f'href="/cases/{case_id}/scope"' in case_page
        page = client.get(f"/cases/{case_id}/scope").text
    assert "Breach scope" in page
    assert count(page, "customers") == len(shown)
    assert field_row(page, "email")[1] == len(emailed_out)
    assert field_row(page, "phone")[1] == len(emailed_out)
    assert count(page, "taken_out") == len(emailed_out)
    assert count(page, "viewed_only") == len(shown - emailed_out)
    pseudonym = world.service.pseudonyms.of(INSIDER)
    assert pseudonym in page
    assert f">{INSIDER}<" not in page and f"{INSIDER}:" not in page
    # No contact detail of any customer (the dataset has them; the store only hashes).
    assert not re.search(r"c\d+@example\.com|\+44 7700", page)
    reads = audit_entries(world.service.ops.store, actor="investigator", action="breach.scope")
    assert any(e.detail.get("case_id") == case_id and e.subject_id == INSIDER for e in reads)


def test_the_download_is_the_scope_folder_with_pseudonyms(world, harvest_case):
    case_id, alert_id = harvest_case
    shown, emailed_out = expected(world, alert_id)
    with client_for(world) as client:
        assert login(client, "admin").status_code == 303
        token = csrf_of(client, f"/cases/{case_id}")
        refused = client.post(f"/cases/{case_id}/breach", data={})
        reply = client.post(f"/cases/{case_id}/breach", data={"csrf_token": token})
    assert refused.status_code == 403
    assert reply.status_code == 200
    assert reply.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(reply.content))
    folder = f"case-{case_id}-scope/"
    assert sorted(archive.namelist()) == sorted(
        folder + n for n in ("scope.parquet", "scope.csv", "summary.json")
    )
    summary = msgspec.json.decode(archive.read(folder + "summary.json"), type=ScopeSummary)
    assert summary.customers == len(shown)
    assert summary.customers_taken_out == len(emailed_out)
    assert summary.employees == [world.service.pseudonyms.of(INSIDER)]
    text = b"".join(archive.read(n) for n in archive.namelist())
    assert INSIDER.encode() + b'"' not in text and b"@example.com" not in text
    downloads = audit_entries(world.service.ops.store, actor="admin", action="breach.download")
    assert any(e.detail.get("case_id") == case_id for e in downloads)


@pytest.mark.parametrize("role", ["analyst", "privacy_officer", "auditor"])
def test_other_roles_neither_see_nor_download_the_scope(world, harvest_case, role):
    case_id, _ = harvest_case
    with client_for(world) as client:
        assert login(client, role).status_code == 303
        page = client.get(f"/cases/{case_id}")
        scope = client.get(f"/cases/{case_id}/scope")
        token = csrf_of(client)
        download = client.post(f"/cases/{case_id}/breach", data={"csrf_token": token})
    assert download.status_code == 403
    assert scope.status_code == 403
    if page.status_code == 200:  # analysts work the case, without its scope
        assert "Breach scope" not in page.text
    else:
        assert page.status_code == 403
    assert not audit_entries(world.service.ops.store, actor=role, action="breach.scope")
