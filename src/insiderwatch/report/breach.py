"""Breach response use cases: what the command line (and later the console) calls.

Each returns contract records or plain results and writes only under the ``out`` folder
it is given; printing is the caller's business.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from insiderwatch.contract.breach import ScopeSummary
from insiderwatch.errors import InsiderwatchError
from insiderwatch.investigate.leak import check_readable, read_leak
from insiderwatch.investigate.matching import match_leak
from insiderwatch.privacy import HashKey
from insiderwatch.report.config import BreachConfig
from insiderwatch.report.customers import contacts, open_customer_system
from insiderwatch.report.deadlines import deadlines, load_rules
from insiderwatch.report.notices import NoticeRun, build_notices, write_notices
from insiderwatch.report.regulator import RegulatorReport, register_entry, write_report
from insiderwatch.report.scope import Scope, ScopeQuery, compute_scope, place
from insiderwatch.report.scope_files import read_scope, summarise, write_scope
from insiderwatch.store.duckdb_store import Store


@dataclass(frozen=True)
class CustomerSystemSpec:
    spec: str
    query: str | None = None


@dataclass(frozen=True)
class LeakSpec:
    path: Path
    key: HashKey
    phone_region: str = "GB"


def scope_breach(
    store: Store,
    query: ScopeQuery,
    out: Path | None = None,
    leak: LeakSpec | None = None,
    customers: CustomerSystemSpec | None = None,
) -> tuple[Scope, ScopeSummary]:
    leaked = None
    if leak is not None:
        reading = read_leak(leak.path, leak.key, leak.phone_region)
        check_readable(reading)
        leaked = match_leak(store, reading).customers.select(["customer_id", "categories"])
    scope = compute_scope(store, query, leaked=leaked, leak_file=str(leak.path) if leak else "")
    if customers is not None:
        # Only where customers live is taken from the customer system here; names and
        # addresses are read at notice time and never held with the scope.
        system = open_customer_system(customers.spec, customers.query)
        ids = scope.rows["customer_id"].to_pylist()
        scope = place(scope, contacts(system, ids).select(["customer_id", "jurisdiction"]))
    summary = summarise(scope)
    if out is not None:
        write_scope(scope, summary, out)
    return scope, summary


def breach_notices(
    scope_dir: Path,
    customers: CustomerSystemSpec,
    cfg: BreachConfig,
    out: Path | None,
    template: str = "auto",
    templates_dir: Path | None = None,
) -> NoticeRun:
    """Notices for every customer in a written scope; ``out`` None is a dry run."""
    rows, summary = read_scope(scope_dir)
    system = open_customer_system(customers.spec, customers.query)
    found = contacts(system, [r.customer_id for r in rows])
    run = build_notices(rows, summary, found, cfg, template, templates_dir)
    if out is not None:
        write_notices(run, cfg, out)
    return run


def regulator_report(
    scope_dir: Path,
    cfg: BreachConfig,
    out: Path,
    aware_at: datetime | None = None,
    high_risk: bool | None = None,
    rules_file: Path | None = None,
    sectors: tuple[str, ...] = (),
    templates_dir: Path | None = None,
) -> tuple[RegulatorReport, list[Path]]:
    """Deadlines from awareness (default: the first alert) and the report files. High
    risk defaults to yes when any data was taken out: an insider who took customers'
    details out meant to use them."""
    _, summary = read_scope(scope_dir)
    aware = aware_at or summary.timeline.detected_at
    if aware is None:
        raise InsiderwatchError("no alert dates this breach: give --aware-at")
    risky = summary.customers_taken_out > 0 if high_risk is None else high_risk
    rows = deadlines(summary, load_rules(rules_file), aware, high_risk=risky, sectors=sectors)
    entry = register_entry(summary, rows, cfg, aware, risky)
    report = RegulatorReport(summary=summary, deadlines=rows, entry=entry, cfg=cfg)
    return report, write_report(report, out, templates_dir)
