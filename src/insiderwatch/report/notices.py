"""Customer notices: per customer, exactly the fields exposed and those not, in their
language, as a mail-merge CSV and one ``.eml`` per customer.

Each notice is rendered from that customer's scope row and that customer's contact row
only (joined by customer_id in memory), so no notice can carry another customer's data.
Templates are Jinja2 files per locale (``notice.<locale>.txt.j2``) plus ``california``
(the headings Cal. Civ. Code § 1798.82(d)(1) requires); a company can put its own
templates of the same names in a folder that is searched first.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from functools import cache
from importlib import resources
from pathlib import Path

import msgspec
import pyarrow as pa
import yaml

from insiderwatch.contract.breach import Notice, ScopeRow, ScopeSummary
from insiderwatch.contract.records import FIELD_CATEGORIES
from insiderwatch.errors import ConfigError
from insiderwatch.report.config import BreachConfig
from insiderwatch.report.templating import environment

CALIFORNIA = "california"
CALIFORNIA_JURISDICTION = "US-CA"
NOTICE_COLUMNS = (
    "customer_id", "locale", "template", "to_name", "to_email", "to_address", "subject",
    "body", "fields_exposed", "fields_not_exposed", "exposure",
)  # fmt: skip


@cache
def locales() -> dict[str, dict]:
    text = resources.files("insiderwatch.report").joinpath("locales.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def template_names() -> list[str]:
    return [*locales(), CALIFORNIA]


@dataclass
class NoticeRun:
    notices: list[Notice]
    missing: list[str] = field(default_factory=list)  # in scope, unknown to the customer system

    @property
    def without_email(self) -> int:
        return sum(1 for n in self.notices if not n.to_email)


def build_notices(
    rows: list[ScopeRow],
    summary: ScopeSummary,
    contacts: pa.Table,
    cfg: BreachConfig,
    template: str = "auto",
    templates_dir: Path | None = None,
) -> NoticeRun:
    _check(cfg, template)
    env = environment(templates_dir)
    by_id = {c["customer_id"]: c for c in contacts.to_pylist()}
    run = NoticeRun(notices=[])
    for row in rows:
        contact = by_id.get(row.customer_id)
        if contact is None:
            run.missing.append(row.customer_id)
            continue
        run.notices.append(_notice(env, row, contact, summary, cfg, template))
    return run


def _check(cfg: BreachConfig, template: str) -> None:
    if template != "auto" and template not in template_names():
        raise ConfigError(f"unknown notice template {template!r} (known: auto, "
                          f"{', '.join(template_names())})")  # fmt: skip
    if cfg.default_locale not in locales():
        raise ConfigError(f"default_locale {cfg.default_locale!r} has no templates "
                          f"(known: {', '.join(locales())})")  # fmt: skip
    known = locales()["en"]["measures"]
    unknown = [m for m in cfg.measures if m not in known]
    if unknown:
        raise ConfigError(f"unknown measures {', '.join(unknown)} (known: {', '.join(known)})")


def choose(template: str, jurisdiction: str, locale: str, default: str) -> tuple[str, str]:
    """(template, locale) for a customer: a chosen template wins; otherwise California
    residents get the California headings and everyone else their own language."""
    if template == CALIFORNIA or (template == "auto" and jurisdiction == CALIFORNIA_JURISDICTION):
        return CALIFORNIA, "en"
    if template != "auto":
        return template, template
    language = re.split(r"[-_]", locale.strip().lower(), maxsplit=1)[0]
    language = language if language in locales() else default
    return language, language


def _notice(env, row: ScopeRow, contact: dict, summary: ScopeSummary, cfg, template) -> Notice:
    name, lang = choose(template, row.jurisdiction or contact["jurisdiction"],
                        contact["locale"], cfg.default_locale)  # fmt: skip
    words = locales()[lang]
    exposed = [f for f in FIELD_CATEGORIES if f in row.fields]
    not_exposed = [f for f in FIELD_CATEGORIES if f not in row.fields]
    day = words["date_format"]
    contained = cfg.contained_at or summary.timeline.contained_at
    body = env.get_template(f"notice.{name}.txt.j2").render(
        company=cfg.company,
        name=contact["name"],
        exposed=[words["fields"][f] for f in exposed],
        taken_out=[words["fields"][f] for f in FIELD_CATEGORIES if f in row.fields_taken_out],
        not_exposed=[words["fields"][f] for f in not_exposed],
        first=row.first_access.strftime(day),
        last=row.last_access.strftime(day),
        detected=summary.timeline.detected_at.strftime(day) if summary.timeline.detected_at else "",
        contained=contained.strftime(day) if contained else "",
        measures=[words["measures"][m] for m in cfg.measures],
        advice=[words["advice"][f] for f in exposed],
        contact=cfg.contact,
        delayed_by_law_enforcement=cfg.delayed_by_law_enforcement,
    )
    return Notice(
        customer_id=row.customer_id,
        locale=lang,
        template=name,
        to_name=contact["name"],
        to_email=contact["email"],
        to_address=contact["address"],
        subject=words["subject"].format(company=cfg.company),
        body=body,
        fields_exposed=exposed,
        fields_not_exposed=not_exposed,
        exposure=row.exposure,
    )


def write_notices(run: NoticeRun, cfg: BreachConfig, out: Path) -> dict[str, Path]:
    """``notices.csv`` (mail merge), ``eml/<customer>.eml`` for those with an email, and
    ``missing.csv`` (customers in scope the customer system does not know)."""
    out.mkdir(parents=True, exist_ok=True)
    eml = out / "eml"
    eml.mkdir(exist_ok=True)
    merge = out / "notices.csv"
    with merge.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=NOTICE_COLUMNS)
        writer.writeheader()
        for n in run.notices:
            row = msgspec.to_builtins(n)
            row["fields_exposed"] = ";".join(n.fields_exposed)
            row["fields_not_exposed"] = ";".join(n.fields_not_exposed)
            writer.writerow(row)
    now = datetime.now(UTC)
    for n in run.notices:
        if n.to_email:
            (eml / f"{_safe(n.customer_id)}.eml").write_bytes(bytes(email_message(n, cfg, now)))
    missing = out / "missing.csv"
    with missing.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["customer_id", "reason"])
        writer.writerows([c, "not in the customer system"] for c in run.missing)
    return {"notices": merge, "eml": eml, "missing": missing}


def email_message(n: Notice, cfg: BreachConfig, when: datetime) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = cfg.sender
    msg["To"] = formataddr((n.to_name, n.to_email))
    msg["Subject"] = n.subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = make_msgid(domain=cfg.sender.rsplit("@", 1)[-1].strip(" >") or None)
    msg["Content-Language"] = n.locale
    msg.set_content(n.body)
    return msg


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)
