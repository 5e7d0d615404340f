"""The regulator report: HTML with the deadlines, a real PDF, the Art. 33(5) entry."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import pytest
from pypdf import PdfReader

from insiderwatch.contract.breach import FieldCount, ScopeSummary, Timeline
from insiderwatch.report.config import BreachConfig, Contact
from insiderwatch.report.deadlines import deadlines, load_rules
from insiderwatch.report.regulator import RegulatorReport, register_entry, write_report

# This machine's HarfBuzz lacks the subsetter; WeasyPrint falls back to fontTools and warns.
pytestmark = pytest.mark.filterwarnings("ignore:HarfBuzz-Subset")
UTC = dt.UTC
AWARE = dt.datetime(2026, 9, 7, 9, tzinfo=UTC)
CFG = BreachConfig(company="Example <Shop>", sender="p@shop.example",
                   contact=Contact(email="privacy@shop.example"),
                   measures=["access_revoked", "police"])  # fmt: skip
SUMMARY = ScopeSummary(
    employees=["spy"], customers=5, customers_taken_out=2, customers_viewed_only=3, events=9,
    by_field={"email": FieldCount(viewed=1, taken_out=2), "phone": FieldCount(viewed=3)},
    by_jurisdiction={"DE": FieldCount(viewed=2, taken_out=1), "US-CO": FieldCount(taken_out=1),
                     "unknown": FieldCount(viewed=1)},
    by_channel={"screen": 5, "personal_email": 2},
    timeline=Timeline(first_access=dt.datetime(2026, 9, 4, 10, tzinfo=UTC),
                      last_access=dt.datetime(2026, 9, 6, 10, tzinfo=UTC),
                      detected_at=dt.datetime(2026, 9, 6, 23, tzinfo=UTC)),
    generated_at=AWARE,
)  # fmt: skip


def _report() -> RegulatorReport:
    rows = deadlines(SUMMARY, load_rules(), AWARE, high_risk=True)
    entry = register_entry(SUMMARY, rows, CFG, AWARE, high_risk=True)
    return RegulatorReport(summary=SUMMARY, deadlines=rows, entry=entry, cfg=CFG)


def test_register_entry_holds_the_facts() -> None:
    entry = _report().entry
    assert (entry.data_subjects, entry.data_subjects_taken_out, entry.records) == (5, 2, 9)
    assert entry.categories_of_data == ["email", "phone"]
    assert entry.categories_taken_out == ["email"]
    assert entry.jurisdictions == {"DE": 3, "US-CO": 1, "unknown": 1}
    assert "personal_email" in entry.nature and "spy" in entry.nature
    assert entry.measures[1] == "We reported the matter to the police."
    assert any("GDPR Art. 33(1)" in n and "2026-09-10T09:00:00+00:00" in n
               for n in entry.notifications)  # fmt: skip
    assert entry.breach_id.startswith("BR-20260904-")


def test_html_pdf_and_register_files(tmp_path: Path) -> None:
    paths = write_report(_report(), tmp_path / "report")
    html_path, pdf_path, json_path, csv_path = paths
    html = html_path.read_text(encoding="utf-8")
    assert "Example &lt;Shop&gt;" in html  # escaped
    assert "2026-09-10 09:00 UTC" in html  # 72 h after awareness
    assert "2026-10-07 09:00 UTC" in html  # Colorado: 30 days
    pdf = pdf_path.read_bytes()
    assert pdf.startswith(b"%PDF")
    # Table cells wrap: compare with the whitespace folded.
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(pdf_path).pages).split())
    assert "Personal data breach report" in text
    assert "GDPR Art. 33(1)" in text and "C.R.S. § 6-1-716" in text
    assert json.loads(json_path.read_text())["data_subjects"] == 5
    with csv_path.open() as fh:
        (row,) = list(csv.DictReader(fh))
    assert row["jurisdictions"] == "DE=3;US-CO=1;unknown=1"
