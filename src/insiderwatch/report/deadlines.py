"""The deadline engine: one row per obligation of each jurisdiction the breach touches,
with its citation and its due time computed from the moment the company became aware.

The rules are data (``deadlines.yaml``, shipped as the default and replaceable with a
file of the same shape), so a lawyer can correct a period or add a state without
touching code. Periods are calendar hours or days in UTC; a rule without a fixed period
("without undue delay") has no due time and says so in words.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Literal

import msgspec
import yaml

from insiderwatch.contract.breach import Applies, DeadlineRow, Recipient, ScopeSummary
from insiderwatch.errors import InsiderwatchError
from insiderwatch.report.config import load_struct
from insiderwatch.report.scope_files import UNKNOWN


class Obligation(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    recipient: Recipient
    to: str
    when: str
    citation: str
    within_hours: int | None = None
    within_days: int | None = None
    days_after_year_end: int | None = None
    min_customers: int = 0
    max_customers: int | None = None
    high_risk: bool = False
    count: Literal["total", "max_state"] = "total"
    note: str = ""


class Jurisdiction(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    codes: list[str]
    name: str
    obligations: list[Obligation]
    authority: str = ""


class Rules(msgspec.Struct, kw_only=True, frozen=True):
    jurisdictions: list[Jurisdiction]
    sectors: dict[str, Jurisdiction] = {}


def load_rules(path: Path | None = None) -> Rules:
    if path is not None:
        return load_struct(path, Rules)
    text = resources.files("insiderwatch.report").joinpath("deadlines.yaml").read_text("utf-8")
    return msgspec.convert(yaml.safe_load(text), Rules)


def due_time(ob: Obligation, aware_at: datetime) -> datetime | None:
    if ob.within_hours is not None:
        return aware_at + timedelta(hours=ob.within_hours)
    if ob.within_days is not None:
        return aware_at + timedelta(days=ob.within_days)
    if ob.days_after_year_end is not None:
        year_end = datetime(aware_at.year + 1, 1, 1, tzinfo=UTC)
        return year_end + timedelta(days=ob.days_after_year_end)
    return None


def deadlines(
    summary: ScopeSummary,
    rules: Rules,
    aware_at: datetime,
    *,
    high_risk: bool,
    sectors: tuple[str, ...] = (),
) -> list[DeadlineRow]:
    """Rows for every jurisdiction with affected customers, ordered by due time."""
    aware_at = aware_at.astimezone(UTC)
    counts = {j: c.viewed + c.taken_out for j, c in summary.by_jurisdiction.items()}
    lookup = {code: j for j in rules.jurisdictions for code in j.codes}
    rows: list[DeadlineRow] = []
    unplaced: dict[str, int] = {}
    for code, n in counts.items():
        rule = lookup.get(code) or lookup.get(code.split("-")[0])
        if rule is None:
            unplaced[code] = n
            continue
        rows += _rows(rule, code, {code: n}, aware_at, high_risk)
    for name in sectors:
        rows += _sector_rows(rules, name, counts, aware_at, high_risk)
    rows += [_unplaced_row(code, n) for code, n in unplaced.items()]
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(rows, key=lambda r: (r.applies != "required", r.due or far, r.jurisdiction))


def _rows(
    rule: Jurisdiction, code: str, per_state: dict[str, int], aware_at, high_risk: bool
) -> list[DeadlineRow]:
    total = sum(per_state.values())
    out = []
    for ob in rule.obligations:
        counted = max(per_state.values()) if ob.count == "max_state" else total
        applies, why = _applies(ob, counted, high_risk)
        out.append(
            DeadlineRow(
                jurisdiction=code,
                name=rule.name,
                recipient=ob.recipient,
                to=ob.to.replace("{authority}", rule.authority or "the supervisory authority"),
                applies=applies,
                due=due_time(ob, aware_at),
                when=ob.when,
                citation=ob.citation,
                customers=total,
                why="; ".join(filter(None, [why, ob.note])),
            )
        )
    return out


def _applies(ob: Obligation, counted: int, high_risk: bool) -> tuple[Applies, str]:
    if ob.high_risk and not high_risk:
        return "not_required", "the breach was not assessed as likely to result in a high risk"
    if counted < ob.min_customers:
        return "not_required", f"{counted:,} affected, fewer than {ob.min_customers:,}"
    if ob.max_customers is not None and counted > ob.max_customers:
        return "not_required", f"{counted:,} affected, more than {ob.max_customers:,}"
    if ob.min_customers:
        return "required", f"{counted:,} affected, at least {ob.min_customers:,}"
    return "required", ""


def _sector_rows(rules: Rules, name: str, counts: dict[str, int], aware_at, high_risk: bool):
    rule = rules.sectors.get(name)
    if rule is None:
        known = ", ".join(rules.sectors) or "none"
        raise InsiderwatchError(f"no sector rules {name!r} (known: {known})")
    covered = {
        code: n
        for code, n in counts.items()
        if code in rule.codes or code.split("-")[0] in rule.codes
    }
    if not covered:
        return []
    return _rows(rule, f"{'+'.join(rule.codes)} ({name})", covered, aware_at, high_risk)


def _unplaced_row(code: str, n: int) -> DeadlineRow:
    if code == UNKNOWN:
        why = "the customer system did not say where these customers live: place them"
    else:
        why = f"no rule for {code} in the rules file: add one (insiderwatch breach report --rules)"
    return DeadlineRow(
        jurisdiction=code,
        name=code,
        recipient="authority",
        to="to be determined",
        applies="check",
        when="check the law where these customers live",
        citation="",
        customers=n,
        why=why,
    )
