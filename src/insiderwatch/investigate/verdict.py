"""The report's verdict, and the sentences that say why someone is (not) named.

Accusing an employee is the most harmful mistake attribution can make, so every
sentence here is written from the union the guilt model built: an employee is called a
leaker only when named by the margin rule, and whenever an outside source holds as much
of the list as an employee saw, the employee's text says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from insiderwatch.contract import OutsideSource, Suspect, Verdict
from insiderwatch.investigate.guilt import Exposures, LeakedCustomers, OutsideSets, Ranked, Ranking

# How each kind of outside source holds a customer, for "... are customers of seller S".
HOLDS = {
    "seller": "customers of seller {}",
    "partner": "shared with partner {}",
    "processor": "shared with processor {}",
    "breach": "on the earlier breach list {}",
    "public": "on the list {} of customers who made their details public",
}


def holder_phrase(kind: str, name: str) -> str:
    return HOLDS.get(kind, "held by {}").format(name)


@dataclass(frozen=True)
class Context:
    """What every sentence of a report is written from."""

    matched: int
    leakers: list[str]
    best_outside: str | None  # holder phrase of the best-fitting outside source
    outside_held: int  # matched customers it holds
    outside_named: bool
    best_employee: str | None
    employee_saw: int

    @classmethod
    def of(
        cls, leaked: LeakedCustomers, ex: Exposures, outside: OutsideSets, ranking: Ranking
    ) -> Context:
        top_out = ranking.outside[0] if ranking.outside else None
        top_emp = ranking.employees[0] if ranking.employees else None
        saw = np.bincount(ex.emp, minlength=len(ex.employees))
        held = np.bincount(outside.src, minlength=len(outside.names))
        return cls(
            matched=len(leaked.ids),
            leakers=[ex.employees[r.index] for r in ranking.employees if r.named],
            best_outside=(
                holder_phrase(outside.kinds[top_out.index], outside.names[top_out.index])
                if top_out
                else None
            ),
            outside_held=int(held[top_out.index]) if top_out else 0,
            outside_named=bool(top_out and top_out.named),
            best_employee=ex.employees[top_emp.index] if top_emp else None,
            employee_saw=int(saw[top_emp.index]) if top_emp else 0,
        )


def why_not_named(ctx: Context, custs: list[int], chance: float) -> str:
    """For an employee the union did not name."""
    if ctx.best_outside and (ctx.outside_named or ctx.outside_held >= len(custs)):
        return (
            f"Not named a leaker: {ctx.outside_held} of the {ctx.matched} matched customers "
            f"({_pct(ctx.outside_held, ctx.matched)}) are {ctx.best_outside}, against "
            f"{len(custs)} this employee saw; {chance:.1%} likely to have leaked part of it."
        )
    what = "what the leakers above do not explain" if ctx.leakers else "(part of) the list"
    return (
        "Not named a leaker: not ahead of chance and every outside source by the margin "
        f"with the minimum share; {chance:.1%} likely to have leaked {what}."
    )


def explain_outside(ctx: Context, r: Ranked, held: int, chance: float) -> str:
    role = (
        f"explains {len(r.explains)} of them no higher-ranked source did"
        if r.named
        else "not named"
    )
    return (
        f"Holds {held} of the {ctx.matched} matched customers ({_pct(held, ctx.matched)}); "
        f"{role}; margin {r.margin:.1f} nats over the best employee or chance; "
        f"{chance:.1%} likely to be a source of the list."
    )


def verdict(suspects: list[Suspect], sources: list[OutsideSource], ctx: Context) -> Verdict:
    leakers = [s for s in suspects if s.leaker]
    named_out = [s for s in sources if s.named]
    if leakers:
        first = leakers[0]
        also = (
            f" {named_out[0].explains} more are {holder_phrase(named_out[0].kind, named_out[0].source)}."
            if named_out
            else ""
        )
        return Verdict(
            kind="employee",
            sources=[s.employee_id for s in leakers],
            probability=first.score,
            summary=(
                f"Named leaker{'s' if len(leakers) > 1 else ''}: "
                f"{', '.join(s.employee_id for s in leakers)}; {first.employee_id} explains "
                f"{len(first.explains)} of the {ctx.matched} matched customers.{also}"
            ),
        )
    best_employee = (
        f"the best employee, {ctx.best_employee}, saw {ctx.employee_saw} "
        f"({_pct(ctx.employee_saw, ctx.matched)})"
        if ctx.best_employee
        else "no employee saw any of them"
    )
    if named_out:
        best = named_out[0]
        many = "All" if best.matched == ctx.matched else f"{best.matched} of the"
        return Verdict(
            kind="outside",
            sources=[best.source],
            probability=best.score,
            summary=(
                f"{many} {ctx.matched} matched customers are "
                f"{holder_phrase(best.kind, best.source)} ({_pct(best.matched, ctx.matched)}); "
                f"{best_employee}. No employee is named a leaker."
            ),
        )
    top = max((s.score for s in suspects), default=0.0)
    outside = (
        f"the best outside fit holds {ctx.outside_held} ({ctx.best_outside})"
        if ctx.best_outside
        else "no outside source holds any of them"
    )
    return Verdict(
        kind="none",
        probability=round(100.0 - top, 2),
        summary=(
            f"No confident source: {best_employee}; {outside}; none is ahead of the others "
            "and of chance by the margin."
        ),
    )


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "0%"
