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
misses), so a list that is half noise does not sink its leaker. A customer seen by many
staff raises them all alike and so tells them apart by nothing; one seen by one person
speaks for itself.

**Several leakers.** The best-scoring employee, if confidently a leaker (below),
explains the customers they saw; the remaining customers are scored again on their own
and the best explanation of *those* is the next leaker, until nothing left is
confidently explained by anyone (or ``MAX_LEAKERS`` are named). Before each pick the
best *pair* among the strongest candidates is tried as a mixture (each leaking half):
two colluders can each look weaker than an innocent who happens to share one canary
with each of them, and only the pair explains everything. A pair pays a second prior
factor of ``1 / staff`` and is named only when it beats the best single leaker by that.

**Sources outside the staff.** Sellers, partners and processors, earlier breaches and
customers who publish their own details are hypotheses of the same form: a leaked
customer is drawn from the source's customer base (its ``size`` takes the place of the
reach) or from everyone. They compete with the staff at every step of the union; an
outside source that explains more than any employee is named instead, and the customers
it explains are nobody's leak. Each kind of hypothesis pays a prior of one over the
number of its members (``staff`` for employees, the number of outside sources for
those), and "from elsewhere" (the null) scores 0.

**The margin rule.** An employee is named a leaker only when their prior-adjusted score
beats both the null and the best outside source by ``MARGIN`` (log 1000: 1,000 to one)
*and* they explain at least ``MIN_SHARE`` of the matched weight. Otherwise the union
stops: the rest of the list has no confident source. Every hypothesis carries its
``margin`` (adjusted score minus the best rival of another kind or the null), which
calibration.py maps to a probability.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

CANARY_RARITY = 1e-4  # a decoy's chance of turning up outside unleaked, vs a real customer's
EPS_FLOOR = 0.01  # some noise is always possible: typos, a customer on two lists
MAX_LEAKERS = 5
MAX_OUTSIDE = 5  # outside sources named in one union
# Nats an employee must beat the null and every outside source by: 1,000 to 1. At 20 to 1,
# faint traces and random lists named an innocent in about 5% of lists on the fitting
# companies (margins 3-7 nats), where 2 of 301 true leakers named fell below log 1000.
MARGIN = float(np.log(1000.0))
MIN_SHARE = 0.10  # of the matched weight, a named leaker must explain at least this much
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


@dataclass(frozen=True)
class OutsideSets:
    """Sources outside the staff that hold some of the leaked customers."""

    names: list[str]
    kinds: list[str]  # seller, partner, processor, breach, public
    src: np.ndarray  # pair -> index into names
    cust: np.ndarray  # pair -> index into the leaked customers
    size: np.ndarray  # per source: customers it holds in all (>= its hits)
    considered: int  # outside sources of every kind, with or without a hit (the prior)

    @classmethod
    def none(cls) -> OutsideSets:
        empty = np.zeros(0, dtype=np.int64)
        return cls([], [], empty, empty, np.zeros(0), 0)


@dataclass
class Ranked:
    index: int  # into Exposures.employees, or OutsideSets.names when outside
    margin: float  # adjusted score minus the best rival of another kind (or the null)
    named: bool  # part of the union that explains the list
    explains: list[int] = field(default_factory=list)  # customer indices
    outside: bool = False


@dataclass(frozen=True)
class Ranking:
    employees: list[Ranked]  # named leakers first, then by what they would explain
    outside: list[Ranked]  # named sources first, then by adjusted score
    steps: list[Ranked]  # the union in the order it was built (employees and sources)


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


class _Union:
    """The greedy union over every hypothesis, one pick at a time."""

    def __init__(self, leaked: LeakedCustomers, ex: Exposures, outside: OutsideSets):
        self.leaked, self.ex, self.outside = leaked, ex, outside
        self.seen = np.zeros((len(ex.employees), len(leaked.ids)), dtype=bool)
        self.seen[ex.emp, ex.cust] = True
        self.held = np.zeros((len(outside.names), len(leaked.ids)), dtype=bool)
        self.held[outside.src, outside.cust] = True
        self.active = np.ones(len(leaked.ids), dtype=bool)
        self.staff_prior = float(np.log(max(ex.staff, 1)))
        self.outside_prior = float(np.log(max(outside.considered, 1)))
        self.total = float(leaked.weights.sum()) or 1.0
        self.steps: list[Ranked] = []

    def employee_scores(self) -> np.ndarray:
        return _scores(self.leaked, self.ex, self.active) - self.staff_prior

    def outside_scores(self) -> np.ndarray:
        w = np.where(self.active, self.leaked.weights, 0.0)
        n = len(self.outside.names)
        hits = np.bincount(self.outside.src, weights=w[self.outside.cust], minlength=n)
        population, total = self.ex.population, float(w.sum())
        ratios = log_ratios(hits, np.zeros(n), total, self.outside.size, population)
        return ratios - self.outside_prior

    def share(self, employee: int) -> float:
        mask = self.seen[employee] & self.active
        return float(self.leaked.weights[mask].sum()) / self.total

    def name(self, index: int, margin: float, outside: bool) -> None:
        mask = (self.held[index] if outside else self.seen[index]) & self.active
        self.steps.append(Ranked(index, margin, True, _indices(mask), outside))
        self.active[mask] = False

    def named(self, outside: bool) -> list[Ranked]:
        return [r for r in self.steps if r.outside == outside]

    def step(self) -> bool:
        """Name the next part of the union; False when nothing confident is left."""
        emp, out = self.employee_scores(), self.outside_scores()
        useful = (self.seen & self.active).any(axis=1)
        useful[[r.index for r in self.named(False)]] = False
        holding = (self.held & self.active).any(axis=1)
        best_out = int(np.argmax(np.where(holding, out, -np.inf))) if holding.any() else -1
        rival = max(0.0, float(out[best_out])) if best_out >= 0 else 0.0
        pick = self._employee_pick(emp, useful) if useful.any() else None
        if pick is not None and pick[1] - rival >= MARGIN:
            members, adjusted = pick
            if all(self.share(m) >= MIN_SHARE for m in members):
                for m in members:
                    self.name(m, adjusted - rival, False)
                return True
        best_emp = float(emp[useful].max()) if useful.any() else -np.inf
        confident_out = best_out >= 0 and out[best_out] > 0 and out[best_out] >= best_emp
        if confident_out and len(self.named(True)) < MAX_OUTSIDE:
            self.name(best_out, float(out[best_out]) - max(0.0, best_emp), True)
            return True
        return False

    def _employee_pick(self, emp: np.ndarray, useful: np.ndarray) -> tuple[list[int], float]:
        """The best single employee, or a pair when the pair (paying a second staff prior)
        beats them: two colluders can each look weaker than an innocent who shares one
        canary with each, and only the pair explains everything."""
        best = int(np.flatnonzero(useful)[np.argmax(emp[useful])])
        raw = emp + self.staff_prior
        pair = _best_pair(self.leaked, self.ex, self.seen, self.active, raw, useful)
        if pair is not None and len(self.named(False)) <= MAX_LEAKERS - 2:
            adjusted = pair[2] - 2 * self.staff_prior
            if adjusted >= 0 and adjusted > emp[best]:
                return sorted(pair[:2], key=lambda m: -emp[m]), adjusted
        return [best], float(emp[best])


def rank(leaked: LeakedCustomers, ex: Exposures, outside: OutsideSets | None = None) -> Ranking:
    """The union of leakers and outside sources that explains the list, then everyone
    else by how well they would explain what it leaves over (the whole list when the
    union is empty)."""
    union = _Union(leaked, ex, outside or OutsideSets.none())
    first_emp, first_out = union.employee_scores(), union.outside_scores()
    while union.active.any() and len(union.named(False)) < MAX_LEAKERS and union.step():
        pass
    rest_emp = union.employee_scores() if union.steps else first_emp
    rest_out = union.outside_scores() if union.steps else first_out
    rival_of_emp = max(0.0, float(rest_out.max())) if len(rest_out) else 0.0
    rival_of_out = max(0.0, float(rest_emp.max())) if len(rest_emp) else 0.0
    leakers, sources = union.named(False), union.named(True)
    employees = leakers + _others(rest_emp, first_emp, rival_of_emp, leakers, outside=False)
    outsiders = sources + _others(rest_out, first_out, rival_of_out, sources, outside=True)
    return Ranking(employees, outsiders, union.steps)


def _others(
    rest: np.ndarray, first: np.ndarray, rival: float, named: list[Ranked], *, outside: bool
) -> list[Ranked]:
    """Hypotheses outside the union, by what is left to explain, then by the whole list."""
    chosen = {r.index for r in named}
    order = np.lexsort((-first, -rest))
    return [
        Ranked(int(i), float(rest[i]) - rival, False, outside=outside)
        for i in order
        if int(i) not in chosen
    ]


def _indices(mask: np.ndarray) -> list[int]:
    return [int(i) for i in np.flatnonzero(mask)]
