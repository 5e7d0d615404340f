"""Stated probability against observed frequency, per decile, with how sure we can be.

A decile's observed frequency comes from a finite number of hypotheses, so the table
gives its Wilson 95% interval and a verdict: "within 5 pts" when the whole interval lies
within 5 points of the decile's mean stated probability, "off" when none of it does, and
"undecided" when the interval is too wide to tell (too few hypotheses fell in the decile).
Used by bench_attribution.py (on the companies it evaluates) and calibrate_attribution.py
(the held-out check on the companies it fits on).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

TOLERANCE = 0.05  # the target: stated within 5 points of observed
Z = 1.959964  # 95% two-sided


def wilson(successes: int, n: int) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (sound at 0 and n, unlike Wald's)."""
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * np.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Decile:
    low: int  # percent
    n: int
    stated: float  # mean stated probability
    observed: float
    interval: tuple[float, float]

    @property
    def gap(self) -> float:
        return abs(self.stated - self.observed)

    @property
    def verdict(self) -> str:
        lo, hi = self.interval
        if self.stated - TOLERANCE <= lo and hi <= self.stated + TOLERANCE:
            return "within 5 pts"
        if hi < self.stated - TOLERANCE or lo > self.stated + TOLERANCE:
            return "off"
        return "undecided"


def deciles(stated: Sequence[float], truth: Sequence[bool]) -> list[Decile]:
    """The deciles of stated probability that hold data."""
    s = np.asarray(stated, dtype=float)
    t = np.asarray(truth, dtype=bool)
    which = np.minimum((s * 10).astype(int), 9)
    out = []
    for d in range(10):
        mask = which == d
        n = int(mask.sum())
        if n:
            hits = int(t[mask].sum())
            out.append(Decile(d * 10, n, float(s[mask].mean()), hits / n, wilson(hits, n)))
    return out


def table(rows: list[Decile], title: str) -> str:
    lines = [
        f"reliability ({title}):",
        f"  {'stated':>9} {'n':>6} {'mean stated':>11} {'observed':>8} {'95% interval':>15} "
        f"{'gap':>6}  verdict",
    ]
    for r in rows:
        lo, hi = r.interval
        lines.append(
            f"  {r.low:>3}-{r.low + 10:>3}% {r.n:>6} {r.stated:>11.1%} {r.observed:>8.1%} "
            f"{f'{lo:.1%}-{hi:.1%}':>15} {r.gap:>6.1%}  {r.verdict}"
        )
    return "\n".join(lines)


def tally(rows: list[Decile]) -> str:
    """E.g. "4 within 5 pts, 5 undecided, 0 off; worst gap 7.1%"."""
    counts = {v: sum(r.verdict == v for r in rows) for v in ("within 5 pts", "undecided", "off")}
    worst = max((r.gap for r in rows), default=0.0)
    return ", ".join(f"{n} {v}" for v, n in counts.items()) + f"; worst gap {worst:.1%}"
