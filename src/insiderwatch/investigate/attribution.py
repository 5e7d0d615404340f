"""Leak attribution: from a list found outside to the staff who could have leaked it.

read (leak.py) -> match through keyed hashes (matching.py) -> who saw what before the
leak was found (exposure.py) and which outside sources hold what (outside.py) -> guilt
model and union of leakers and outside sources (guilt.py) -> margins to calibrated
probabilities (calibration.py) -> the ``SuspectReport`` of the contract: a verdict,
every suspect and outside source with a plain explanation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insiderwatch.canary.code import decode
from insiderwatch.contract import LeakRows, OutsideSource, Suspect, SuspectReport
from insiderwatch.investigate.calibration import Calibration, shipped
from insiderwatch.investigate.exposure import Exposure, exposure
from insiderwatch.investigate.guilt import (
    Exposures,
    LeakedCustomers,
    OutsideSets,
    Ranked,
    Ranking,
    rank,
)
from insiderwatch.investigate.leak import LeakReading, check_readable, read_leak
from insiderwatch.investigate.matching import LeakMatch, match_leak
from insiderwatch.investigate.outside import outside_sets
from insiderwatch.investigate.outside_map import MappedSource
from insiderwatch.investigate.verdict import Context, explain_outside, verdict, why_not_named
from insiderwatch.privacy import HashKey
from insiderwatch.store.duckdb_store import Store


def attribute(
    store: Store,
    key: HashKey,
    leak_file: Path,
    *,
    found_at: datetime | None = None,
    top: int = 10,
    phone_region: str = "GB",
    outside_sources: Sequence[MappedSource] = (),
) -> SuspectReport:
    return attribute_reading(
        store,
        read_leak(leak_file, key, phone_region),
        found_at=found_at,
        top=top,
        outside_sources=outside_sources,
    )


def attribute_reading(
    store: Store,
    reading: LeakReading,
    *,
    found_at: datetime | None = None,
    top: int = 10,
    outside_sources: Sequence[MappedSource] = (),
) -> SuspectReport:
    """The report for a list already read and hashed (from a file or an upload)."""
    check_readable(reading)
    match = match_leak(store, reading)
    exposed = exposure(store, match, found_at)
    outside = outside_sets(store, match, found_at, outside_sources)
    return build_report(reading, match, exposed, found_at, top, outside.sets)


def build_report(
    reading: LeakReading,
    match: LeakMatch,
    exposed: Exposure,
    found_at: datetime | None,
    top: int,
    outside: OutsideSets | None = None,
    calibration: Calibration | None = None,
) -> SuspectReport:
    leaked, ex = model_inputs(match, exposed)
    outside = outside or OutsideSets.none()
    ranking = rank(leaked, ex, outside)
    cal = calibration or shipped()
    evidence = _Evidence.of(leaked, ex, exposed.pairs, ranking, outside, cal)
    shown = _shown(ranking.employees, top)
    suspects = _suspects(shown, evidence)
    sources = _outside_sources(_shown(ranking.outside, top), evidence)
    explained = {leaked.ids[c] for r in ranking.steps for c in r.explains}
    return SuspectReport(
        leak_file=reading.file,
        found_at=found_at,
        generated_at=datetime.now(UTC),
        rows=LeakRows(
            read=reading.rows_read,
            junk=reading.junk_rows,
            duplicates=reading.duplicates,
            matched_one=match.matched_one,
            matched_several=match.matched_several,
            matched_none=match.matched_none,
            junk_reasons=dict(reading.junk.most_common()),
            junk_locations=[f"{where} {why}" for where, why in reading.problems],
        ),
        customers_matched=len(leaked.ids),
        canaries_found=[c for c, k in zip(leaked.ids, leaked.is_canary, strict=True) if k],
        unexplained_customers=[c for c in leaked.ids if c not in explained],
        suspects=suspects,
        outside_sources=sources,
        verdict=verdict(suspects, sources, evidence.context),
    )


def _shown(ranked: list[Ranked], top: int) -> list[Ranked]:
    """The named ones, then the ``top`` best of the rest."""
    return [r for r in ranked if r.named] + [r for r in ranked if not r.named][: max(top, 0)]


def model_inputs(match: LeakMatch, exposed: Exposure) -> tuple[LeakedCustomers, Exposures]:
    table = match.customers
    ids = table["customer_id"].to_pylist()
    leaked = LeakedCustomers(
        ids=ids,
        weights=np.asarray(table["weight"].to_numpy(), dtype=float),
        is_canary=np.asarray(table["is_canary"].to_numpy(zero_copy_only=False), dtype=bool),
    )
    pairs = exposed.pairs
    employees = sorted(set(pairs["employee_id"].to_pylist()))
    emp_index = {e: i for i, e in enumerate(employees)}
    cust_index = {c: i for i, c in enumerate(ids)}
    emp = np.array([emp_index[e] for e in pairs["employee_id"].to_pylist()], dtype=np.int64)
    cust = np.array([cust_index[c] for c in pairs["customer_id"].to_pylist()], dtype=np.int64)
    hits = np.bincount(emp, minlength=len(employees))
    # Approximate distinct counts can fall below the exact hits; reach is at least those.
    reach = np.maximum([exposed.reach.get(e, 0) for e in employees], hits).astype(float)
    ex = Exposures(employees, emp, cust, reach, exposed.population, exposed.staff)
    return leaked, ex


@dataclass(frozen=True)
class _Evidence:
    """What every suspect's entry is drawn from."""

    leaked: LeakedCustomers
    ex: Exposures
    pairs: pa.Table
    holders: np.ndarray  # per leaked customer: staff exposed to it
    leakers_found: bool
    named_by_canaries: set[str]  # staff the canary code alone names
    outside: OutsideSets
    calibration: Calibration
    context: Context

    @classmethod
    def of(
        cls,
        leaked: LeakedCustomers,
        ex: Exposures,
        pairs: pa.Table,
        ranking: Ranking,
        outside: OutsideSets,
        calibration: Calibration,
    ):
        canary_holders: dict[int, list[str]] = {}
        for e, c in zip(ex.emp.tolist(), ex.cust.tolist(), strict=True):
            if leaked.is_canary[c]:
                canary_holders.setdefault(c, []).append(ex.employees[e])
        decoded = decode(canary_holders, canary_holders)
        # An innocent holds at most two found canaries when at most two people leaked
        # (canary/code.py), so three or more name a leaker, and the rest decodes from there.
        named = {e for e, _ in decoded} if decoded and decoded[0][1] >= 3 else set()
        holders = np.bincount(ex.cust, minlength=len(leaked.ids))
        leakers_found = any(r.named for r in ranking.employees)
        context = Context.of(leaked, ex, outside, ranking)
        return cls(leaked, ex, pairs, holders, leakers_found, named, outside, calibration, context)

    def probability(self, r: Ranked) -> float:
        kind = "outside" if r.outside else "employee"
        return self.calibration.probability(kind, r.margin, r.named)


def _suspects(shown: list[Ranked], ev: _Evidence) -> list[Suspect]:
    leaked, ex = ev.leaked, ev.ex
    # Times stay in Arrow: only the shown suspects' spans become Python datetimes.
    first, last = ev.pairs["first_seen"], ev.pairs["last_seen"]
    by_emp: dict[int, list[int]] = {}
    for p, e in enumerate(ex.emp.tolist()):
        by_emp.setdefault(e, []).append(p)
    total = float(leaked.weights.sum()) or 1.0
    out = []
    for rank_no, r in enumerate(shown, start=1):
        rows = by_emp.get(r.index, [])
        custs = sorted(int(ex.cust[p]) for p in rows)
        alone = sum(1 for c in custs if ev.holders[c] == 1)
        out.append(
            Suspect(
                rank=rank_no,
                employee_id=ex.employees[r.index],
                score=round(100.0 * ev.probability(r), 2),
                leaker=r.named,
                margin=round(r.margin, 3),
                matched_customers=[leaked.ids[c] for c in custs],
                explains=[leaked.ids[c] for c in r.explains],
                canaries=[leaked.ids[c] for c in custs if leaked.is_canary[c]],
                coverage=round(min(float(leaked.weights[custs].sum()) / total, 1.0), 4),
                exclusivity=round(alone / len(custs), 4) if custs else 0.0,
                reach=int(ex.reach[r.index]),
                first_exposure=pc.min(first.take(rows)).as_py() if rows else None,
                last_exposure=pc.max(last.take(rows)).as_py() if rows else None,
                explanation=_explain(r, custs, alone, ev),
            )
        )
    return out


def _explain(r: Ranked, custs: list[int], alone: int, ev: _Evidence) -> str:
    leaked, ex = ev.leaked, ev.ex
    n = len(leaked.ids)
    share = ex.reach[r.index] / ex.population
    parts = [
        f"Saw {len(custs)} of the {n} matched customers' leaked details before the leak "
        f"was found ({_pct(len(custs) / n if n else 0)}), {alone} of them seen by no one else; "
        f"sees about {int(ex.reach[r.index]):,} customers ({_pct(share)} of all), so "
        f"about {share * n:.1f} matches would be coincidence."
    ]
    canaries = [c for c in custs if leaked.is_canary[c]]
    if canaries:
        parts.append(
            f"Held {len(canaries)} of the {int(leaked.is_canary.sum())} canaries found in the "
            f"leak (each shown to at most {max(int(ev.holders[c]) for c in canaries)} staff)."
        )
    if ex.employees[r.index] in ev.named_by_canaries:
        parts.append("Unless more than two people acted together, the canaries alone name them.")
    chance = ev.probability(r)
    if r.named:
        parts.append(
            f"Named leaker: explains {len(r.explains)} customers no higher-ranked suspect saw, "
            f"beating every outside source and chance by {r.margin:.1f} nats; "
            f"{chance:.1%} likely to have leaked them."
        )
    else:
        parts.append(why_not_named(ev.context, custs, chance))
    return " ".join(parts)


def _outside_sources(shown: list[Ranked], ev: _Evidence) -> list[OutsideSource]:
    sets, leaked = ev.outside, ev.leaked
    total = float(leaked.weights.sum()) or 1.0
    out = []
    for rank_no, r in enumerate(shown, start=1):
        held = sets.cust[sets.src == r.index]
        chance = ev.probability(r)
        out.append(
            OutsideSource(
                rank=rank_no,
                source=sets.names[r.index],
                kind=sets.kinds[r.index],  # type: ignore[arg-type]
                score=round(100.0 * chance, 2),
                named=r.named,
                margin=round(r.margin, 3),
                size=int(sets.size[r.index]),
                matched=len(held),
                explains=len(r.explains),
                coverage=round(min(float(leaked.weights[held].sum()) / total, 1.0), 4),
                explanation=explain_outside(ev.context, r, len(held), chance),
            )
        )
    return out


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"
