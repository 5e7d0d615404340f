"""Customer notices: exact fields, locale, nothing of anyone else, mail-merge and .eml."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import sqlite3
from pathlib import Path

import msgspec
import pyarrow as pa
import pytest

from breach_world import CONTACTS, EXPECTED, write_contacts
from insiderwatch.contract.breach import ScopeRow, ScopeSummary, Timeline
from insiderwatch.contract.records import FIELD_CATEGORIES
from insiderwatch.errors import ConfigError, InsiderwatchError
from insiderwatch.report.config import BreachConfig, Contact, load_struct
from insiderwatch.report.customers import contacts, open_customer_system
from insiderwatch.report.notices import build_notices, choose, locales, write_notices

CFG = BreachConfig(
    company="Example Shop",
    sender="Example Shop Privacy <privacy@shop.example>",
    contact=Contact(email="privacy@shop.example", phone="+44 20 7946 0000"),
    measures=["access_revoked", "police"],
)
UTC = dt.UTC


def _row(cid: str, fields: list[str], out: list[str], jurisdiction: str = "") -> ScopeRow:
    return ScopeRow(customer_id=cid, fields=fields, fields_taken_out=out,
                    exposure="taken_out" if out else "viewed",
                    first_access=dt.datetime(2026, 9, 4, 10, tzinfo=UTC),
                    last_access=dt.datetime(2026, 9, 5, 10, tzinfo=UTC),
                    event_ids=["s02"], channels=["screen"], jurisdiction=jurisdiction)  # fmt: skip


ROWS = [_row(c, w["fields"], w["taken_out"]) for c, w in EXPECTED.items()]
SUMMARY = ScopeSummary(
    employees=["spy"], customers=4, customers_taken_out=2, customers_viewed_only=2, events=4,
    by_field={}, by_jurisdiction={}, by_channel={},
    timeline=Timeline(detected_at=dt.datetime(2026, 9, 7, tzinfo=UTC)),
    generated_at=dt.datetime(2026, 9, 8, tzinfo=UTC),
)  # fmt: skip


@pytest.fixture
def contact_rows(tmp_path: Path) -> pa.Table:
    system = open_customer_system(str(write_contacts(tmp_path / "crm.csv")))
    return contacts(system, [r.customer_id for r in ROWS])


def test_every_locale_names_every_field_category() -> None:
    for lang, words in locales().items():
        assert set(words["fields"]) == set(FIELD_CATEGORIES), lang
        assert set(words["advice"]) == set(FIELD_CATEGORIES), lang
        assert set(words["measures"]) == set(locales()["en"]["measures"]), lang


def test_notice_names_exactly_the_exposed_and_unexposed_fields(contact_rows) -> None:
    run = build_notices(ROWS, SUMMARY, contact_rows, CFG, template="en")
    words = locales()["en"]["fields"]
    for notice in run.notices:
        want = EXPECTED[notice.customer_id]
        assert notice.fields_exposed == [f for f in FIELD_CATEGORIES if f in want["fields"]]
        seen_line = next(ln for ln in notice.body.splitlines() if ln.startswith("The employee saw"))
        for f in FIELD_CATEGORIES:
            assert (words[f] in seen_line) == (f in want["fields"]), (notice.customer_id, f)
        not_line = next(ln for ln in notice.body.splitlines() if ln.startswith("Not involved"))
        for f in FIELD_CATEGORIES:
            assert (words[f] in not_line) == (f not in want["fields"]), (notice.customer_id, f)
        out_lines = [ln for ln in notice.body.splitlines() if "sent out of our systems" in ln]
        assert bool(out_lines) == bool(want["taken_out"])
        assert "04/09/2026" in notice.body and "07/09/2026" in notice.body  # access, detection


def test_no_notice_contains_another_customers_data(contact_rows) -> None:
    run = build_notices(ROWS, SUMMARY, contact_rows, CFG)
    assert len(run.notices) == len(ROWS)
    by_id = {c["customer_id"]: c for c in CONTACTS}
    for notice in run.notices:
        text = " ".join([notice.body, notice.subject, notice.to_name, notice.to_email])
        own = by_id[notice.customer_id]
        assert own["name"] in notice.body
        for other in CONTACTS:
            if other["customer_id"] == notice.customer_id:
                continue
            for key in ("name", "email", "address"):
                assert other[key] not in text, (notice.customer_id, other["customer_id"], key)


def test_locale_comes_from_the_customer_and_california_gets_its_headings(contact_rows) -> None:
    rows = [*ROWS[:1], _row("c3", ["email"], ["email"], jurisdiction="US-CA")]
    run = build_notices(rows, SUMMARY, contact_rows, CFG)
    de, ca = run.notices
    assert (de.customer_id, de.locale, de.template) == ("c2", "de", "de")
    assert "Ihre E-Mail-Adresse" in de.body and de.subject.startswith("Wichtig")
    assert "Wir haben den Vorfall bei der Polizei angezeigt." in de.body
    assert ca.template == "california" and ca.body.startswith("NOTICE OF DATA BREACH")
    headings = ["What Happened", "What Information Was Involved", "What We Are Doing",
                "What You Can Do", "For More Information"]  # fmt: skip
    lines = ca.body.splitlines()
    assert [h for h in lines if h in headings] == headings
    assert choose("auto", "FR", "fr-CA", "en") == ("fr", "fr")
    assert choose("auto", "JP", "ja", "en") == ("en", "en")
    assert choose("es", "DE", "de", "en") == ("es", "es")


def test_mail_merge_csv_and_eml_files(contact_rows, tmp_path: Path) -> None:
    run = build_notices(ROWS, SUMMARY, contact_rows, CFG)
    paths = write_notices(run, CFG, tmp_path / "notices")
    merged = paths["notices"].read_text(encoding="utf-8")
    assert merged.splitlines()[0].startswith("customer_id,locale,template,to_name,to_email")
    emls = sorted(paths["eml"].glob("*.eml"))
    assert [p.stem for p in emls] == sorted(EXPECTED)
    parsed = email.message_from_bytes(emls[1].read_bytes(), policy=email.policy.default)
    assert parsed["To"] == "Carla Diaz <carla@example.com>"
    assert parsed["From"] == CFG.sender
    assert "your email address" in parsed.get_content()


def test_customers_unknown_to_the_system_are_listed_not_dropped(tmp_path: Path) -> None:
    system = open_customer_system(str(write_contacts(tmp_path / "crm.parquet")))
    known = contacts(system, ["c2", "c3"])
    run = build_notices(ROWS, SUMMARY, known, CFG)
    assert [n.customer_id for n in run.notices] == ["c2", "c3"]
    assert run.missing == ["c4", "c5"]
    assert known.column("jurisdiction").to_pylist() == ["DE", "US-CO"]


def test_sql_customer_system(tmp_path: Path) -> None:
    db = tmp_path / "crm.sqlite"
    with sqlite3.connect(db) as con:
        con.execute("CREATE TABLE people (id TEXT, full_name TEXT, mail TEXT, cc TEXT)")
        con.executemany(
            "INSERT INTO people VALUES (?, ?, ?, ?)",
            [(c["customer_id"], c["name"], c["email"], c["country"]) for c in CONTACTS],
        )
    system = open_customer_system(
        f"sqlite:///{db}",
        "SELECT id AS customer_id, full_name AS name, mail AS email, cc AS country FROM people",
    )
    got = contacts(system, ["c4", "c1"])
    assert got.column("customer_id").to_pylist() == ["c1", "c4"]
    assert got.column("jurisdiction").to_pylist() == ["DE", "FR"]
    assert got.column("address").to_pylist() == ["", ""]
    with pytest.raises(InsiderwatchError, match="customer system query failed"):
        contacts(open_customer_system(f"sqlite:///{db}", "SELECT * FROM nope"), ["c1"])


def test_config_errors_name_file_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "notice.yaml"
    bad.write_text("company: X\nsender: x@y\ncontact: {email: 3, fax: 1}\n")
    with pytest.raises(ConfigError, match=r"notice.yaml:\$.contact"):
        load_struct(bad, BreachConfig)
    with pytest.raises(ConfigError, match="unknown measures bake_cake"):
        build_notices(ROWS, SUMMARY, pa.table({"customer_id": []}),
                      BreachConfig(company="X", sender="x@y", contact=Contact(),
                                   measures=["bake_cake"]))  # fmt: skip


def test_containment_date_from_the_config_file(tmp_path: Path, contact_rows) -> None:
    path = tmp_path / "breach.toml"
    path.write_text(
        'company = "Example Shop"\nsender = "p@shop.example"\ncontained_at = "2026-09-08T17:00:00Z"\n'
        '[contact]\nemail = "privacy@shop.example"\n'
    )
    cfg = load_struct(path, BreachConfig)
    assert cfg.contained_at == dt.datetime(2026, 9, 8, 17, tzinfo=UTC)
    (notice,) = build_notices(ROWS[:1], SUMMARY, contact_rows, cfg, template="fr").notices
    assert "L'accès de cet employé a été coupé le 08/09/2026." in notice.body


def test_one_day_of_access_reads_as_one_date(contact_rows) -> None:
    row = _row("c2", ["email"], [])
    same_day = msgspec.structs.replace(row, last_access=row.first_access)
    (notice,) = build_notices([same_day], SUMMARY, contact_rows, CFG, template="en").notices
    assert "On 04/09/2026, an employee opened" in notice.body and "Between" not in notice.body
