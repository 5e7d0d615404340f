"""From a hypothesis's margin (in nats) to a calibrated probability that it is a source.

The guilt model's margins are log-likelihood ratios under assumptions (uniform draws,
one shared noise share) that real leaks bend, so their nominal odds are not honest
probabilities. The map shipped beside this module (``calibration.json``) is an isotonic
regression of "this hypothesis really was a source of the list" on its margin, fitted by
``make calibrate-attribution`` on simulated leaks (insiders' leaks and outside lists) from
companies and seeds that the benchmark does not evaluate on. The file records how it was
made; ``make bench-attribution`` measures it (stated against observed, per decile).

A hypothesis the union named and one it did not can carry the same margin and mean
different things: an unnamed employee with a margin of 5 nats is usually a real leaker
who explains too small a share to be named, a named one at 5 nats a coincidence that
just cleared the rule. So there is one map per kind and per named or not (``employee``,
``employee-named``, ...); a file without the named maps uses the kind's map for both.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import numpy as np

Kind = Literal["employee", "outside"]
FILE = "calibration.json"


@dataclass(frozen=True)
class Calibration:
    margins: dict[str, np.ndarray]  # kind -> increasing margins (nats)
    probabilities: dict[str, np.ndarray]  # kind -> probability at each margin (non-decreasing)
    made: dict[str, Any]  # how the map was fitted

    def probability(self, kind: Kind, margin: float, named: bool = False) -> float:
        """Piecewise linear between the fitted points, flat beyond them."""
        key = f"{kind}-named" if named and f"{kind}-named" in self.margins else kind
        return float(np.interp(margin, self.margins[key], self.probabilities[key]))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        maps = data["maps"]
        return cls(
            margins={k: np.asarray(m["margin"], dtype=float) for k, m in maps.items()},
            probabilities={k: np.asarray(m["probability"], dtype=float) for k, m in maps.items()},
            made=data["made"],
        )


@cache
def shipped() -> Calibration:
    text = resources.files(__package__).joinpath(FILE).read_text(encoding="utf-8")
    return Calibration.from_json(json.loads(text))
