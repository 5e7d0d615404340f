"""The code that decides which staff see which canary, and how a leak is decoded.

Construction (a Reed-Solomon code of dimension 2 over the prime field GF(q)): every
employee gets a distinct line ``f(x) = a + b*x (mod q)``, and for each position
``x = 0 .. L-1`` sees the one canary ``(x, f(x))``. There are ``L * q`` canaries; each
employee sees ``L`` of them and each canary is seen by at most ``q`` staff.

Two distinct lines meet in at most one point, so **two employees share at most one
canary**. What follows from that, for the canaries ``F`` found in a leak:

* one leaker: every canary in ``F`` is theirs and anyone else holds at most one of them,
  so two found canaries name the leaker uniquely;
* two colluders A and B (``F`` within A's and B's canaries): an innocent holds at most one
  of A's and one of B's, so at most 2 of ``F``, while the colluder holding the most holds
  at least ``ceil(|F| / 2)``. With ``|F| >= 5`` the top scorer is a colluder; remove their
  canaries and two or more left over name the other one. With ``L >= 5`` positions no two
  staff hold all of a third person's canaries (2-frameproof), and a leak that took one
  canary per position always decodes this way (the 2-traceability bound ``L > 4(k - 1)``
  for dimension ``k = 2``).

Fewer found canaries still narrow the field to the (at most ``q``) holders; attribution
then weighs the ordinary customers in the leak among those.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from insiderwatch.errors import InsiderwatchError

MIN_POSITIONS = 5  # 2-traceability for lines: L > 4 * (k - 1) with k = 2


def is_prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, int(n**0.5) + 1))


def field_size(staff: int) -> int:
    """The smallest prime q with q*q >= staff and q >= MIN_POSITIONS (distinct lines)."""
    q = max(MIN_POSITIONS, int(np.ceil(np.sqrt(max(staff, 1)))))
    while not is_prime(q):
        q += 1
    return q


@dataclass(frozen=True)
class CanaryCode:
    """``q`` (a prime), ``positions`` (L) and each employee's line number ``a + b*q``."""

    q: int
    positions: int
    lines: dict[str, int]  # employee_id -> line number

    @property
    def canaries(self) -> int:
        return self.q * self.positions

    def canary(self, position: int, symbol: int) -> int:
        return position * self.q + symbol

    def codeword(self, employee_id: str) -> list[int]:
        """The canaries this employee sees, one per position."""
        a, b = divmod(self.lines[employee_id], self.q)
        return [self.canary(x, (a + b * x) % self.q) for x in range(self.positions)]

    def holders(self) -> dict[int, list[str]]:
        """Canary -> the staff who see it."""
        out: dict[int, list[str]] = {c: [] for c in range(self.canaries)}
        for employee in sorted(self.lines):
            for c in self.codeword(employee):
                out[c].append(employee)
        return out


def build_code(employees: list[str], count: int, rng: np.random.Generator) -> CanaryCode:
    """Assign lines to ``employees`` using at most ``count`` canaries.

    Lines are handed out in a random order so that an employee's canaries cannot be
    guessed from their id or from a colleague's.
    """
    if not employees:
        raise InsiderwatchError("no staff to plan canaries for: ingest the employees first")
    q = field_size(len(employees))
    positions = min(q, count // q)
    if positions < MIN_POSITIONS:
        raise InsiderwatchError(
            f"{len(employees):,} staff need at least {MIN_POSITIONS * q:,} canaries "
            f"({MIN_POSITIONS} positions x {q}) for a code that resists two colluders; "
            f"--count is {count:,}"
        )
    chosen = rng.choice(q * q, size=len(employees), replace=False)
    return CanaryCode(q, positions, dict(zip(sorted(employees), map(int, chosen), strict=True)))


def decode(holders: dict[int, list[str]], found: Iterable[int]) -> list[tuple[str, int]]:
    """Staff ranked by how many of the found canaries they hold, then by who explains
    the rest: the first is a leaker whenever the guarantees above apply."""
    remaining = set(found)
    ranked: list[tuple[str, int]] = []
    named: set[str] = set()
    while remaining:
        counts = Counter(e for c in remaining for e in holders.get(c, ()) if e not in named)
        if not counts:
            break
        best = min(counts.items(), key=lambda item: (-item[1], item[0]))  # ties: smaller id
        if ranked and best[1] < 2:
            break  # one canary left over is shared by up to q staff: it names no one
        ranked.append(best)
        named.add(best[0])
        remaining -= {c for c in remaining if best[0] in holders.get(c, ())}
    return ranked
