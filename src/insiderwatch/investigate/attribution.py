"""Leak attribution: from a list found outside to the staff who could have leaked it.

read (leak.py) -> match through keyed hashes (matching.py) -> who saw what before the
leak was found (exposure.py) -> guilt model and union of leakers (guilt.py) -> the
``SuspectReport`` of the contract, every suspect with a plain explanation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insiderwatch.canary.code import decode
from insiderwatch.contract import LeakRows, Suspect, SuspectReport
from insiderwatch.investigate.exposure import Exposure, exposure
from insiderwatch.investigate.guilt import Exposures, LeakedCustomers, Ranked, rank
from insiderwatch.investigate.leak import LeakReading, check_readable, read_leak
from insiderwatch.investigate.matching import LeakMatch, match_leak
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
) -> SuspectReport:
    reading = read_leak(leak_file, key, phone_region)
    check_readable(reading)
    match = match_leak(store, reading)
    exposed = exposure(store, match, found_at)
    return build_report(reading, match, exposed, found_at, top)


def build_report(
    reading: LeakReading,
    match: LeakMatch,
    exposed: Exposure,
    found_at: datetime | None,
    top: int,
) -> SuspectReport:
    leaked, ex = model_inputs(match, exposed)
    ranked = rank(leaked, ex)
    shown = [r for r in ranked if r.leaker] + [r for r in ranked if not r.leaker][: max(top, 0)]
    evidence = _Evidence.of(leaked, ex, exposed.pairs, any(r.leaker for r in ranked))
    suspects = _suspects(shown, evidence)
    explained = {leaked.ids[c] for r in ranked if r.leaker for c in r.explains}
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
    )


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

    @classmethod
    def of(cls, leaked: LeakedCustomers, ex: Exposures, pairs: pa.Table, leakers_found: bool):
        canary_holders: dict[int, list[str]] = {}
        for e, c in zip(ex.emp.tolist(), ex.cust.tolist(), strict=True):
            if leaked.is_canary[c]:
                canary_holders.setdefault(c, []).append(ex.employees[e])
        decoded = decode(canary_holders, canary_holders)
        # An innocent holds at most two found canaries when at most two people leaked
        # (canary/code.py), so three or more name a leaker, and the rest decodes from there.
        named = {e for e, _ in decoded} if decoded and decoded[0][1] >= 3 else set()
        holders = np.bincount(ex.cust, minlength=len(leaked.ids))
        return cls(leaked, ex, pairs, holders, leakers_found, named)


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
        rows = by_emp.get(r.employee, [])
        custs = sorted(int(ex.cust[p]) for p in rows)
        alone = sum(1 for c in custs if ev.holders[c] == 1)
        out.append(
            Suspect(
                rank=rank_no,
                employee_id=ex.employees[r.employee],
                score=round(100.0 * r.probability, 2),
                leaker=r.leaker,
                matched_customers=[leaked.ids[c] for c in custs],
                explains=[leaked.ids[c] for c in r.explains],
                canaries=[leaked.ids[c] for c in custs if leaked.is_canary[c]],
                coverage=round(min(float(leaked.weights[custs].sum()) / total, 1.0), 4),
                exclusivity=round(alone / len(custs), 4) if custs else 0.0,
                reach=int(ex.reach[r.employee]),
                first_exposure=pc.min(first.take(rows)).as_py() if rows else None,
                last_exposure=pc.max(last.take(rows)).as_py() if rows else None,
                explanation=_explain(r, custs, alone, ev),
            )
        )
    return out


def _explain(r: Ranked, custs: list[int], alone: int, ev: _Evidence) -> str:
    leaked, ex = ev.leaked, ev.ex
    n = len(leaked.ids)
    share = ex.reach[r.employee] / ex.population
    parts = [
        f"Saw {len(custs)} of the {n} matched customers' leaked details before the leak "
        f"was found ({_pct(len(custs) / n if n else 0)}), {alone} of them seen by no one else; "
        f"sees about {int(ex.reach[r.employee]):,} customers ({_pct(share)} of all), so "
        f"about {share * n:.1f} matches would be coincidence."
    ]
    canaries = [c for c in custs if leaked.is_canary[c]]
    if canaries:
        parts.append(
            f"Held {len(canaries)} of the {int(leaked.is_canary.sum())} canaries found in the "
            f"leak (each shown to at most {max(int(ev.holders[c]) for c in canaries)} staff)."
        )
    if ex.employees[r.employee] in ev.named_by_canaries:
        parts.append("Unless more than two people acted together, the canaries alone name them.")
    if r.leaker:
        parts.append(
            f"Explains {len(r.explains)} customers no higher-ranked suspect saw; "
            f"{r.probability:.1%} likely to have leaked them."
        )
    elif ev.leakers_found:
        parts.append(
            f"{r.probability:.1%} likely to have leaked what the leakers above do not explain."
        )
    else:
        parts.append(f"{r.probability:.1%} likely to have leaked (part of) the list.")
    return " ".join(parts)


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"
