"""From a hypothesis's margin (in nats) to a calibrated probability that it is a source.

The guilt model's margins are log-likelihood ratios under assumptions (uniform draws,
one shared noise share) that real leaks bend, so their nominal odds are not honest
probabilities. The map shipped beside this module (``calibration.json``) is an isotonic
regression of "this hypothesis really was a source of the list" on its margin, fitted by
``make calibrate-attribution`` on simulated leaks (insiders' leaks and outside lists) from
companies, profiles and seeds that the benchmark does not evaluate on. The file records
how it was made; ``make bench-attribution`` measures it (stated against observed, per
decile).

The map is a step function, as isotonic regression is: each step states the frequency
of true sources among the hypotheses fitted in its range of margins, and a new step
begins halfway between two fitted ranges. Interpolating between steps would state
values no hypothesis was fitted on (an earlier map did, and the few hypotheses that fell
on its ramps were a decile of their own that no sample could judge).

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
    bounds: dict[str, np.ndarray]  # map -> increasing margins (nats) where a step begins
    probabilities: dict[str, np.ndarray]  # map -> each step's probability (one more than bounds)
    made: dict[str, Any]  # how the map was fitted

    def probability(self, kind: Kind, margin: float, named: bool = False) -> float:
        """The probability of the step the margin falls in (a margin on a bound is in the
        higher step)."""
        key = f"{kind}-named" if named and f"{kind}-named" in self.bounds else kind
        step = int(np.searchsorted(self.bounds[key], margin, side="right"))
        return float(self.probabilities[key][step])

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Calibration:
        maps = data["maps"]
        bounds = {k: np.asarray(m["bounds"], dtype=float) for k, m in maps.items()}
        probabilities = {k: np.asarray(m["probability"], dtype=float) for k, m in maps.items()}
        for k in maps:
            if len(probabilities[k]) != len(bounds[k]) + 1:
                raise ValueError(f"calibration map {k!r}: one probability per step expected")
        return cls(bounds=bounds, probabilities=probabilities, made=data["made"])


@cache
def shipped() -> Calibration:
    text = resources.files(__package__).joinpath(FILE).read_text(encoding="utf-8")
    return Calibration.from_json(json.loads(text))
