"""Rich tables of what detection learned beyond routine and allowances (the ``learned``
section of ``insiderwatch calibrate``; the records come from detect/learned.py)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from insiderwatch.detect.learned import Learned


def hour_spans(hours: list[int]) -> str:
    """UTC hours as spans: [7, 8, 9, 13] -> '07-09, 13'."""
    spans: list[list[int]] = []
    for h in sorted(hours):
        if spans and h == spans[-1][1] + 1:
            spans[-1][1] = h
        else:
            spans.append([h, h])
    return ", ".join(f"{a:02d}" if a == b else f"{a:02d}-{b:02d}" for a, b in spans) or "-"


def _table(title: str, *columns: str, right: tuple[str, ...] = ()) -> Table:
    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="right" if col in right else "left")
    return table


def print_learned(out: Console, found: Learned, day) -> None:
    """Each non-empty section as a table."""
    for table in filter(None, (_scope(found, day), _kinds(found, day), _books(found, day),
                               _desks(found, day), _keepers(found, day),
                               _hours(found, day), _revisits(found, day),
                               _handover(found, day), _figures(found, day))):  # fmt: skip
        out.print(table)


def _scope(found: Learned, day) -> Table | None:
    if not found.case_scope:
        return None
    t = _table(f"Case scope learned as of {day}", "investigating group",
               "unsearched customers per case-day", "field sets of other customers",
               "learned from", right=("unsearched customers per case-day",))  # fmt: skip
    for s in found.case_scope:
        sets = "; ".join(s.field_sets) or "none (only the case's own customer)"
        pool = "the investigating groups' " if s.pooled else ""
        t.add_row(escape(s.group), f"{s.breadth:,}", escape(sets),
                  f"{pool}{s.case_days:,} case-days of {s.staff} staff")  # fmt: skip
    return t


def _kinds(found: Learned, day) -> Table | None:
    if not found.allowance_kinds:
        return None
    t = _table(f"Kinds of look-up the allowances cover as of {day}", "level",
               "peer group / role", "app action fields", "staff", right=("staff",))  # fmt: skip
    for k in found.allowance_kinds:
        t.add_row(k.level, escape(k.group), escape(k.kind), str(k.staff))
    return t


def _books(found: Learned, day) -> Table | None:
    if not found.books:
        return None
    t = _table(f"Customer books as of {day} (customers served under a case)", "peer group",
               "staff with a book", "customers per book (median / max)",
               "learned from", "accesses explained in the window",
               right=("staff with a book", "accesses explained in the window"))  # fmt: skip
    for b in found.books:
        t.add_row(escape(b.group), str(b.staff),
                  f"{b.median_customers:,.0f} / {b.max_customers:,}",
                  f"{b.employee_days:,} employee-days", f"{b.explained:,}")  # fmt: skip
    return t


def _desks(found: Learned, day) -> Table | None:
    if not found.desks:
        return None
    t = _table(f"Relationship desks as of {day} (clients come back to with no case)",
               "peer group", "staff with a book", "own clients", "shared clients of the desk",
               "accesses explained in the window",
               right=("staff with a book", "own clients", "shared clients of the desk",
                      "accesses explained in the window"))  # fmt: skip
    for d in found.desks:
        t.add_row(escape(d.group), str(d.keepers), f"{d.own_clients:,}",
                  f"{d.shared_clients:,}", f"{d.explained:,}")  # fmt: skip
    return t


def _keepers(found: Learned, day) -> Table | None:
    if not found.relationship_books:
        return None
    t = _table(f"Relationship books as of {day}", "peer group", "staff (pseudonym)",
               "own clients", "shared clients", right=("own clients", "shared clients"))  # fmt: skip
    for b in found.relationship_books:
        t.add_row(escape(b.group), b.employee, f"{b.own_clients:,}", f"{b.shared_clients:,}")
    return t


def _hours(found: Learned, day) -> Table | None:
    if not found.off_hours:
        return None
    t = _table(f"Working hours per peer group as of {day} (off hours: rules' off_hours)",
               "peer group", "hours worked (UTC)", "off hours under", "learned from")  # fmt: skip
    for h in found.off_hours:
        t.add_row(escape(h.group), hour_spans(h.hours), f"{h.share:.0%} of days",
                  f"{h.working_days:,} working days of {h.staff} staff")  # fmt: skip
    return t


def _revisits(found: Learned, day) -> Table | None:
    if not found.revisits:
        return None
    t = _table(f"Returns to a customer with no case, as of {day} (fixation's baseline: "
               f"customers looked up on {found.revisit_min_days}+ days of "
               f"{found.revisit_window_days})", "peer group", "staff", "case-less look-ups",
               "customers returned to", "per 1,000 look-ups",
               right=("staff", "case-less look-ups", "customers returned to",
                      "per 1,000 look-ups"))  # fmt: skip
    rows = [*found.revisits, *([found.revisit_company] if found.revisit_company else [])]
    for r in rows:
        name = escape(r.group) if r.group else "(whole company, service accounts left out)"
        t.add_row(name, str(r.staff), f"{r.lookups:,}", f"{r.returns:,}", f"{1000 * r.rate:.1f}")
    return t


def _handover(found: Learned, day) -> Table | None:
    if not found.handover:
        return None
    t = _table(f"Where leavers may hand their own book over, as of {day}", "peer group",
               "destinations (its routine)", "leavers now", "exports explained in the window",
               right=("leavers now", "exports explained in the window"))  # fmt: skip
    for h in found.handover:
        t.add_row(escape(h.group), escape(", ".join(h.destinations)), str(h.leavers),
                  f"{h.handed_over:,}")  # fmt: skip
    return t


def _figures(found: Learned, day) -> Table | None:
    p = found.public_figures
    if p is None or not (p.learned or p.flagged):
        return None
    t = _table(f"Public figures as of {day} (the vip detector's customers)", "learned",
               "flagged VIP", "both", "attention needed", "most strangers (groups, days)",
               right=("learned", "flagged VIP", "both", "attention needed"))  # fmt: skip
    most = f"{p.max_staff} ({p.max_groups}, {p.max_days})" if p.max_staff is not None else "-"
    t.add_row(f"{p.learned:,}", f"{p.flagged:,}", f"{p.both:,}",
              f"> {p.bar:.1f} days" if p.bar is not None else "-", most)  # fmt: skip
    return t
