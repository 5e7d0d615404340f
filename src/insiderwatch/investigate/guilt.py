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
that the list came from elsewhere and the other half spread evenly over the staff, an
employee's score ``s`` becomes the probability ``1 / (1 + staff * exp(-s))`` that they
leaked rather than the list came from elsewhere. A customer seen by many staff raises
them all alike and so tells them apart by nothing; one seen by one person speaks for
itself.

**Several leakers.** The best-scoring employee, if more likely a leaker than not,
explains the customers they saw; the remaining customers are scored again on their own
and the best explanation of *those* is the next leaker, until what is left is more
likely noise than anyone's doing (or ``MAX_LEAKERS`` are named). Before each pick the
best *pair* among the strongest candidates is tried as a mixture (each leaking half):
two colluders can each look weaker than an innocent who happens to share one canary
with each of them, and only the pair explains everything. A pair pays a second prior
factor of ``1 / staff`` and is named only when it beats the best single leaker by that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

CANARY_RARITY = 1e-4  # a decoy's chance of turning up outside unleaked, vs a real customer's
EPS_FLOOR = 0.01  # some noise is always possible: typos, a customer on two lists
MAX_LEAKERS = 5
PAIR_CANDIDATES = 10  # strongest single suspects (by score, and by weight seen) tried in pairs


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


def probability(scores: np.ndarray, staff: int) -> np.ndarray:
    """P(employee leaked | their evidence) against the list having come from elsewhere.

    Prior: one half that nobody inside leaked, the other half spread evenly over the
    staff, so the prior odds for one employee are 1 : staff.
    """
    return 1.0 / (1.0 + np.exp(np.log(max(staff, 1)) - scores))


def _scores(leaked: LeakedCustomers, ex: Exposures, active: np.ndarray) -> np.ndarray:
    w = np.where(active, leaked.weights, 0.0)
    pair_w = w[ex.cust]
    canary = leaked.is_canary[ex.cust]
    n = len(ex.employees)
    hits = np.bincount(ex.emp, weights=np.where(canary, 0.0, pair_w), minlength=n)
    canary_hits = np.bincount(ex.emp, weights=np.where(canary, pair_w, 0.0), minlength=n)
    return log_ratios(hits, canary_hits, float(w.sum()), ex.reach, ex.population)


def _pair_score(
    w: np.ndarray, canary: np.ndarray, seen: np.ndarray, reach: np.ndarray, population: int
) -> float:
    """Log likelihood ratio of "these two leaked, in equal shares" (``seen``: 2 x customers)."""
    rate = 0.5 * seen[0] / max(reach[0], 1.0) + 0.5 * seen[1] / max(reach[1], 1.0)
    hit = rate > 0
    total, hit_w = float(w.sum()), float(w[hit].sum())
    if total <= 0 or hit_w <= 0:
        return 0.0
    a = max(population * float((w[hit] * rate[hit]).sum()) / hit_w, 1.0 + 1e-9)
    eps = float(np.clip((total - hit_w) / total * a / (a - 1.0), EPS_FLOOR, 1.0 - EPS_FLOOR))
    hit_log = np.log(eps + (1.0 - eps) * population * rate) - canary * np.log(CANARY_RARITY)
    return float((w * np.where(hit, hit_log, np.log(eps))).sum())


def _best_pair(
    leaked: LeakedCustomers,
    ex: Exposures,
    seen: np.ndarray,
    active: np.ndarray,
    scores: np.ndarray,
    useful: np.ndarray,
) -> tuple[int, int, float] | None:
    """The best two-leaker explanation among the strongest candidates, by score and by
    weight seen (a partner can be weak alone and still explain what the other cannot)."""
    w = np.where(active, leaked.weights, 0.0)
    pool = np.flatnonzero(useful)
    covered = (seen[pool] * w).sum(axis=1)
    candidates = set(pool[np.argsort(-scores[pool])[:PAIR_CANDIDATES]].tolist())
    candidates |= set(pool[np.argsort(-covered)[:PAIR_CANDIDATES]].tolist())
    best: tuple[int, int, float] | None = None
    for a, b in combinations(sorted(candidates), 2):
        pair = [a, b]
        score = _pair_score(w, leaked.is_canary, seen[pair], ex.reach[pair], ex.population)
        if best is None or score > best[2]:
            best = (a, b, score)
    return best


def rank(leaked: LeakedCustomers, ex: Exposures) -> list[Ranked]:
    """Leakers first (greedy union), then everyone else exposed, by how well they would
    explain what the leakers leave unexplained (the whole list when there are none)."""
    n_cust, n_emp = len(leaked.ids), len(ex.employees)
    seen = np.zeros((n_emp, n_cust), dtype=bool)
    seen[ex.emp, ex.cust] = True
    active = np.ones(n_cust, dtype=bool)
    first = _scores(leaked, ex, active)
    scores = first
    threshold = np.log(max(ex.staff, 1))  # even odds against "from elsewhere"
    ranked: list[Ranked] = []

    def name(employee: int, chance: float) -> None:
        ranked.append(Ranked(employee, chance, True, _indices(seen[employee] & active)))
        active[seen[employee]] = False

    while active.any() and len(ranked) < MAX_LEAKERS:
        useful = (seen & active).any(axis=1)
        useful[[r.employee for r in ranked]] = False
        if not useful.any():
            break
        best = int(np.flatnonzero(useful)[np.argmax(scores[useful])])
        pair = _best_pair(leaked, ex, seen, active, scores, useful)
        # A pair pays a second "1 in staff" prior: it must beat both "from elsewhere"
        # and the best single leaker by that much.
        if (
            pair is not None
            and len(ranked) <= MAX_LEAKERS - 2
            and pair[2] >= 2 * threshold
            and pair[2] - threshold > scores[best]
        ):
            chance = float(probability(np.array([pair[2] - threshold]), ex.staff)[0])
            for member in sorted(pair[:2], key=lambda m: -scores[m]):
                name(member, chance)
        elif scores[best] >= threshold:
            name(best, float(probability(scores[best : best + 1], ex.staff)[0]))
        else:
            break
        scores = _scores(leaked, ex, active)
    rest = scores if ranked else first
    chosen = {r.employee for r in ranked}
    order = np.lexsort((-first, -rest))  # by what is left to explain, then by the whole list
    chance = probability(rest, ex.staff)
    ranked += [Ranked(int(i), float(chance[i]), False) for i in order if int(i) not in chosen]
    return ranked


def _indices(mask: np.ndarray) -> list[int]:
    return [int(i) for i in np.flatnonzero(mask)]
