"""The guilt model: how likely each employee is to have leaked a list, and who else.

Hypothesis *i*: employee *i* leaked part of what they saw, and a share ``eps`` of the
list came from elsewhere. A leaked customer is then drawn either from the ``reach_i``
customers *i* saw (probability ``1 - eps``, uniformly: a leaker need not leak everything)
or from the whole population of ``N`` customers (probability ``eps``). Against the
hypothesis that the whole list came from elsewhere, each leaked customer with weight
``w`` contributes a likelihood ratio of

* ``eps + (1 - eps) * N / reach_i`` if *i* saw it (a hit): large when *i* sees few
  customers, near 1 when *i* sees nearly all (base rates);
* ``eps`` if *i* did not (a miss): noise, or another leaker's share;
* for a canary hit, the ordinary hit ratio divided by ``CANARY_RARITY``: a decoy turns up
  outside only through someone who saw it.

``eps`` is estimated for each hypothesis (its maximum-likelihood value given hits and
misses), so a list that is half noise does not sink its leaker. With a prior of one half
that the list came from elsewhere and the other half spread evenly over the staff, the
scores become posterior probabilities. A customer seen by many staff raises them all
alike and so tells them apart by nothing; one seen by a single person speaks for itself.

**Several leakers.** The most probable employee explains the customers they saw; the
remaining customers are scored again on their own and the best explanation of *those* is
the next leaker, until what is left is more likely noise than anyone's doing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CANARY_RARITY = 1e-4  # a decoy's chance of turning up outside unleaked, vs a real customer's
PRIOR_ELSEWHERE = 0.5  # prior that nobody inside leaked the list
EPS_FLOOR = 0.01  # some noise is always possible: typos, a customer on two lists
MAX_LEAKERS = 5


@dataclass(frozen=True)
class LeakedCustomers:
    ids: list[str]
    weights: np.ndarray  # 1, or 1/k for a row that matched k customers
    is_canary: np.ndarray  # bool


@dataclass(frozen=True)
class Exposures:
    employees: list[str]  # everyone with at least one hit
    emp: np.ndarray  # pair -> index into employees
    cust: np.ndarray  # pair -> index into the leaked customers
    reach: np.ndarray  # per employee: distinct customers seen (>= their hits)
    population: int
    staff: int


@dataclass
class Ranked:
    employee: int  # index into Exposures.employees
    probability: float
    leaker: bool
    explains: list[int] = field(default_factory=list)  # customer indices


def log_ratios(
    hits: np.ndarray, canary_hits: np.ndarray, total: float, reach: np.ndarray, population: int
) -> np.ndarray:
    """Each employee's log likelihood ratio against "it all came from elsewhere"."""
    a = population / np.maximum(reach, 1.0)
    a = np.maximum(a, 1.0 + 1e-9)  # nobody sees more than everyone
    misses = np.maximum(total - hits - canary_hits, 0.0)
    eps = np.clip(misses / max(total, 1e-12) * a / (a - 1.0), EPS_FLOOR, 1.0 - EPS_FLOOR)
    ratio = eps + (1.0 - eps) * a
    return (
        hits * np.log(ratio)
        + canary_hits * (np.log(ratio) - np.log(CANARY_RARITY))
        + misses * np.log(eps)
    )


def posteriors(scores: np.ndarray, staff: int) -> tuple[np.ndarray, float]:
    """(P(employee i leaked) for each scored employee, P(nobody inside))."""
    # Staff with no hit score 0, like "elsewhere"; they share the rest of the mass.
    unseen = max(staff - len(scores), 0)
    each = np.log((1.0 - PRIOR_ELSEWHERE) / max(staff, len(scores), 1))
    logits = np.concatenate([scores + each, [np.log(PRIOR_ELSEWHERE)]])
    top = logits.max()
    mass = np.exp(logits - top)
    rest = unseen * np.exp(each - top)
    norm = mass.sum() + rest
    return mass[:-1] / norm, float(mass[-1] / norm)


def _round(leaked: LeakedCustomers, ex: Exposures, active: np.ndarray) -> np.ndarray:
    w = np.where(active, leaked.weights, 0.0)
    pair_w = w[ex.cust]
    canary = leaked.is_canary[ex.cust]
    n = len(ex.employees)
    hits = np.bincount(ex.emp, weights=np.where(canary, 0.0, pair_w), minlength=n)
    canary_hits = np.bincount(ex.emp, weights=np.where(canary, pair_w, 0.0), minlength=n)
    scores = log_ratios(hits, canary_hits, float(w.sum()), ex.reach, ex.population)
    return posteriors(scores, ex.staff)[0]


def rank(leaked: LeakedCustomers, ex: Exposures) -> list[Ranked]:
    """Leakers first (greedy union), then everyone else exposed by first-round posterior."""
    n_cust = len(leaked.ids)
    active = np.ones(n_cust, dtype=bool)
    seen = [np.zeros(n_cust, dtype=bool) for _ in ex.employees]
    for e, c in zip(ex.emp, ex.cust, strict=True):
        seen[e][c] = True
    first = _round(leaked, ex, active) if ex.employees else np.zeros(0)
    ranked: list[Ranked] = []
    chosen: set[int] = set()
    probability = first
    while ex.employees and active.any() and len(ranked) < MAX_LEAKERS:
        candidates = [i for i in np.argsort(-probability, kind="stable") if i not in chosen]
        best = int(candidates[0]) if candidates else -1
        if best < 0 or probability[best] < 0.5 or not (seen[best] & active).any():
            break
        ranked.append(Ranked(best, float(probability[best]), True, _indices(seen[best] & active)))
        chosen.add(best)
        active &= ~seen[best]
        if active.any():
            probability = _round(leaked, ex, active)
    others = [int(i) for i in np.argsort(-first, kind="stable") if int(i) not in chosen]
    ranked += [Ranked(i, float(first[i]), False) for i in others]
    return ranked


def _indices(mask: np.ndarray) -> list[int]:
    return [int(i) for i in np.flatnonzero(mask)]
