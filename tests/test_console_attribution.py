"""The console's leak attribution page: upload or paste a list found outside, see the
ranked suspects as pseudonyms with the verdict; audited; the list's raw values end up
in no store, file or log."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import msgspec
import pytest

from console_world import KEY, USERS, client_for, csrf_of, login, make_world
from insiderwatch.app.ops import audit_entries
from insiderwatch.privacy import normalize_email, normalize_phone
from insiderwatch.privacy.pseudonyms import pseudonym
from test_alert_history import INSIDER

# The insider's harvest in the episode company (test_alert_history.episode_company).
HARVEST = [f"c{200 + k:03d}" for k in range(40)]


@pytest.fixture(scope="module")
def world(tmp_path_factory, built_once):
    folder = tmp_path_factory.mktemp("console-attribution")
    world = make_world(folder, built_once)
    yield world, folder
    world.service.stop()


def customers(folder: Path) -> dict[str, dict]:
    lines = (folder / "dataset" / "customers.jsonl").read_bytes().splitlines()
    return {r["customer_id"]: r for r in map(msgspec.json.decode, lines)}


def leak_csv(folder: Path, ids: list[str]) -> tuple[bytes, list[str]]:
    """A list of these customers as found outside, and every raw value in it."""
    rows = [customers(folder)[c] for c in ids]
    raw = [v for r in rows for v in (r.get("email"), r.get("phone")) if v]
    text = "E-Mail;Mobile\n" + "".join(f"{r['email'].upper()};{r['phone'] or ''}\n" for r in rows)
    return text.encode(), raw


def upload(client, files=None, **form):
    data = {"csrf_token": csrf_of(client, "/attribute"), **form}
    return client.post("/attribute", data=data, files=files)


@pytest.fixture
def investigator(world):
    w, _ = world
    with client_for(w) as client:
        assert login(client, USERS["investigator"]).status_code == 303
        yield client


def test_an_uploaded_list_names_the_insider_by_pseudonym_and_is_audited(world, investigator):
    w, folder = world
    data, _ = leak_csv(folder, HARVEST[:30])
    reply = upload(investigator, files={"found": ("found.csv", data, "text/csv")})
    assert reply.status_code == 200, reply.text
    page = reply.text
    shown = pseudonym(KEY, INSIDER)
    first_row = re.search(r"<tbody>\s*<tr[^>]*>(.*?)</tr>", page, re.S).group(1)
    assert shown in first_row and "leaker" in first_row
    assert f'href="/employees/{shown}"' in first_row
    assert 'data-kind="employee"' in page and shown in page.split('id="verdict"')[1][:400]
    assert INSIDER not in page  # the employee id never reaches the page
    entry = audit_entries(w.service.ops.store, action="leak.attribute", limit=1)[0]
    assert entry.actor == USERS["investigator"]
    assert entry.detail["rows_read"] == 30 and entry.detail["verdict"] == "employee"
    assert entry.detail["suspects"][0] == shown  # staff masked in the audit log too
    assert entry.subject_id in page  # the page names its audit record


def test_pasted_text_is_one_value_a_line(world, investigator):
    _, folder = world
    emails = [customers(folder)[c]["email"] for c in HARVEST[:25]]
    reply = upload(investigator, pasted="\n".join(emails) + "\nnot an address\n")
    assert reply.status_code == 200, reply.text
    assert re.search(r"<dt>Rows read</dt><dd>26</dd>", reply.text)
    assert "pasted.txt:26:phone" in reply.text  # the junk row, located, not echoed
    assert pseudonym(KEY, INSIDER) in reply.text


@pytest.mark.parametrize(
    ("form", "files", "expected"),
    [
        ({}, None, "choose a file or paste the list"),
        ({"found_at": "last tuesday", "pasted": "a@b.example"}, None, "is not a date and time"),
        ({"top": "-1", "pasted": "a@b.example"}, None, "not a whole number from 0 to 100"),
        ({}, {"found": ("list.xlsx", b"PK\x03\x04", "application/zip")}, "unknown leak file type"),
        ({}, {"found": ("list.csv", b"who,what\nx,y\n", "text/csv")}, "list.csv:1"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(investigator, form, files, expected):
    reply = upload(investigator, files=files, **form)
    assert reply.status_code == 422
    assert expected in reply.text
    assert "Traceback" not in reply.text


def test_other_roles_cannot_attribute_and_the_form_needs_its_token(world):
    w, folder = world
    data, _ = leak_csv(folder, HARVEST[:5])
    with client_for(w) as client:
        login(client, USERS["auditor"])
        assert client.get("/attribute").status_code == 403
    with client_for(w) as client:
        login(client, USERS["investigator"])
        refused = client.post("/attribute", files={"found": ("f.csv", data, "text/csv")})
        assert refused.status_code == 403


def test_no_raw_email_or_phone_is_left_in_any_store_file_or_log(world, investigator, caplog):
    w, folder = world
    data, raw = leak_csv(folder, HARVEST[:20])
    # Values that are in no customer record either, so finding one anywhere means the
    # upload put it there.
    extra = ["leaked.only.here@outside.example", "+44 7700 900999"]
    data += "".join(f"{v};\n" if "@" in v else f";{v}\n" for v in extra).encode()
    with caplog.at_level(logging.DEBUG):
        assert upload(investigator, files={"found": ("found.csv", data, "text/csv")}).is_success
    forms = {f for v in raw + extra for f in _forms(v)}
    logged = caplog.text
    for value in extra:
        assert not any(f in logged for f in _forms(value)), value
    for path in [p for p in folder.rglob("*") if p.is_file() and "dataset" not in p.parts]:
        content = path.read_bytes()
        assert not [f for f in forms if f.encode() in content], path.name
    audit = msgspec.json.encode(audit_entries(w.service.ops.store, limit=1000)).decode()
    assert not [f for f in forms if f in audit]


def _forms(value: str) -> set[str]:
    """The ways a value may have been written: as given, normalised, in capitals."""
    normal = normalize_email(value) if "@" in value else normalize_phone(value, "GB")
    return {f for f in (value, value.upper(), normal) if f}
