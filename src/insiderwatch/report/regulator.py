"""The report for regulators: deadlines per jurisdiction, the facts GDPR Art. 33(3) asks
for, as HTML and PDF (WeasyPrint), and the Art. 33(5) breach-register entry (JSON, CSV).
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from insiderwatch.contract.breach import DeadlineRow, RegisterEntry, ScopeSummary
from insiderwatch.contract.records import FIELD_CATEGORIES
from insiderwatch.report.config import BreachConfig
from insiderwatch.report.notices import locales
from insiderwatch.report.templating import environment

REPORT_FILES = ("report.html", "report.pdf", "register.json", "register.csv")


@dataclass(frozen=True)
class RegulatorReport:
    summary: ScopeSummary
    deadlines: list[DeadlineRow]
    entry: RegisterEntry
    cfg: BreachConfig


def breach_id(summary: ScopeSummary) -> str:
    """Stable for the same employees and period, so a re-run updates the same entry."""
    first = summary.timeline.first_access
    key = "|".join([*sorted(summary.employees), first.isoformat() if first else ""])
    day = f"{first:%Y%m%d}" if first else "undated"
    return f"BR-{day}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


def register_entry(
    summary: ScopeSummary,
    rows: list[DeadlineRow],
    cfg: BreachConfig,
    aware_at: datetime,
    high_risk: bool,
) -> RegisterEntry:
    t = summary.timeline
    due = [r for r in rows if r.applies == "required"]
    return RegisterEntry(
        breach_id=breach_id(summary),
        recorded_at=datetime.now(UTC),
        aware_at=aware_at,
        period_from=t.first_access,
        period_to=t.last_access,
        detected_at=t.detected_at,
        contained_at=cfg.contained_at or t.contained_at,
        employees=summary.employees,
        nature=_nature(summary, cfg),
        categories_of_data=[f for f in FIELD_CATEGORIES if f in summary.by_field],
        categories_taken_out=[
            f for f in FIELD_CATEGORIES if f in summary.by_field and summary.by_field[f].taken_out
        ],
        data_subjects=summary.customers,
        data_subjects_taken_out=summary.customers_taken_out,
        records=summary.events,
        jurisdictions={j: c.viewed + c.taken_out for j, c in summary.by_jurisdiction.items()},
        likely_consequences=cfg.consequences,
        measures=[locales()["en"]["measures"][m] for m in cfg.measures],
        high_risk=high_risk,
        notifications=[
            f"{r.to} ({r.name}): {'by ' + r.due.isoformat() if r.due else r.when} [{r.citation}]"
            for r in due
        ],
    )


def _nature(summary: ScopeSummary, cfg: BreachConfig) -> str:
    staff = ", ".join(summary.employees)
    out = sorted(c for c in summary.by_channel if c != "screen")
    taken = (
        f" The data of {summary.customers_taken_out:,} of them was taken out of the company's "
        f"systems ({', '.join(out)})."
        if summary.customers_taken_out
        else " No data is known to have been taken out of the company's systems."
    )
    return (
        f"Confidentiality breach by an insider: {cfg.company} staff ({staff}) accessed the "
        f"records of {summary.customers:,} customers without a business reason in "
        f"{summary.events:,} access events.{taken}"
    )


def render_html(report: RegulatorReport, templates_dir: Path | None = None) -> str:
    contacts = [c for c in (report.cfg.dpo, report.cfg.contact) if c is not None]
    return (
        environment(templates_dir)
        .get_template("regulator.html.j2")
        .render(
            company=report.cfg.company,
            summary=report.summary,
            deadlines=report.deadlines,
            entry=report.entry,
            contacts=contacts,
        )
    )


def write_report(report: RegulatorReport, out: Path, templates_dir: Path | None = None):
    from weasyprint import HTML  # imported late: Pango loads only when a PDF is asked for

    out.mkdir(parents=True, exist_ok=True)
    html_path, pdf_path, json_path, csv_path = (out / name for name in REPORT_FILES)
    html = render_html(report, templates_dir)
    html_path.write_text(html, encoding="utf-8")
    HTML(string=html).write_pdf(pdf_path)
    json_path.write_bytes(msgspec.json.format(msgspec.json.encode(report.entry), indent=2) + b"\n")
    _write_register_csv(report.entry, csv_path)
    return [html_path, pdf_path, json_path, csv_path]


def _write_register_csv(entry: RegisterEntry, path: Path) -> None:
    """One row, lists joined with ';' and counts per place as PLACE=N."""
    row = msgspec.to_builtins(entry)
    for name, value in row.items():
        if isinstance(value, list):
            row[name] = ";".join(map(str, value))
        elif isinstance(value, dict):
            row[name] = ";".join(f"{k}={v}" for k, v in value.items())
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(row))
        writer.writeheader()
        writer.writerow(row)
