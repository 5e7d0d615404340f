"""Simulation settings and the result container."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from insiderwatch_sim.profiles import PROFILES, Profile

# Regions whose names, postcodes and phone numbers the simulator knows (the staff's clock
# is the profile's).
SUPPORTED_REGIONS: tuple[str, ...] = ("GB",)
MIN_EMPLOYEES = 30


@dataclass(frozen=True)
class SimulationConfig:
    employees: int = 2000  # roster rows, service accounts included
    days: int = 30
    seed: int = 7
    start: dt.date = dt.date(2026, 9, 1)  # first simulated day (UTC)
    customers: int | None = None  # default: 100 per employee (min 5,000)
    insider_rate: float = 0.01  # share of staff (not service accounts) who are insiders
    bad_row_rate: float = 0.0  # extra deliberately broken access rows, per valid event
    region: str = "GB"  # customers' names, postcodes and phone numbers
    profile: str = "classic"  # the kind of company (profiles.PROFILES)

    def __post_init__(self) -> None:
        if self.employees < MIN_EMPLOYEES:
            raise ValueError(f"employees must be at least {MIN_EMPLOYEES}")
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if self.customers is not None and self.customers < 1000:
            raise ValueError("customers must be at least 1,000")
        if not 0.0 <= self.insider_rate <= 0.5:
            raise ValueError("insider_rate must be between 0 and 0.5")
        if not 0.0 <= self.bad_row_rate <= 0.5:
            raise ValueError("bad_row_rate must be between 0 and 0.5")
        if self.profile not in PROFILES.names():
            raise ValueError(
                f"profile {self.profile!r} is not known (known: {', '.join(PROFILES.names())})"
            )
        if self.region not in SUPPORTED_REGIONS:
            raise ValueError(
                f"region {self.region!r} is not simulated (supported: "
                f"{', '.join(SUPPORTED_REGIONS)})"
            )

    @property
    def stream_seed(self) -> int:
        """The seed every random stream derives from. Mixing the profile in makes each
        profile x seed a different company; the classic profile keeps the original
        simulator's streams, so its companies (the demo's, the tests') are unchanged."""
        if self.profile == "classic":
            return self.seed
        return self.seed * 1_000_003 + zlib.crc32(self.profile.encode())

    @property
    def company(self) -> Profile:
        return PROFILES.get(self.profile)

    @property
    def n_customers(self) -> int:
        return self.customers if self.customers is not None else max(5000, 100 * self.employees)

    def to_json(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["start"] = self.start.isoformat()
        out["customers"] = self.n_customers
        return out


@dataclass
class TextOnlyRows:
    """Broken access rows that only text formats (CSV, JSON Lines) can carry.

    An unparsable time or a missing event id cannot live in the typed Arrow access table,
    so they are kept apart: ``table`` has the access columns with ``time`` as a string, and
    ``positions[i]`` is the access-table row before which row ``i`` is written.
    """

    table: pa.Table
    positions: np.ndarray


@dataclass
class Company:
    tables: dict[str, pa.Table]  # employees, customers, cases, orders, canaries, access
    truth: dict[str, Any]  # ground truth, JSON-serialisable; never part of the dataset
    text_only_rows: TextOnlyRows | None = field(default=None, repr=False)
