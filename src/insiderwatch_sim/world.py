"""Shared state of one simulation run and the customer-picking helpers generators share."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from insiderwatch_sim.company import ROLE, Customers, Orders, Roster
from insiderwatch_sim.config import SimulationConfig
from insiderwatch_sim.events import CaseBook, EventLog
from insiderwatch_sim.kit import CdfSampler, Groups, dedupe_ragged, expand, rng_for
from insiderwatch_sim.people import NamePools
from insiderwatch_sim.schedule import Schedule
from insiderwatch_sim.vocab import ACT, APP, FS


@dataclass
class World:
    cfg: SimulationConfig
    pools: NamePools
    roster: Roster
    customers: Customers
    orders: Orders
    schedule: Schedule
    log: EventLog = field(default_factory=EventLog)
    cases: CaseBook = field(default_factory=CaseBook)
    insiders: list = field(default_factory=list)  # set once malicious activity is generated

    def __post_init__(self) -> None:
        c = self.customers
        benign = c.benign
        self.benign = benign
        # Canaries are left out of every benign pool: only a harvester ever touches them.
        self.popular = CdfSampler(c.popularity[benign], values=benign)
        self.by_surname = Groups(c.surname[benign], len(self.pools.surnames), members=benign)
        self.by_postcode = Groups(c.postcode[benign], len(self.pools.postcodes), members=benign)
        self.vip_pool = np.intersect1d(c.vips, benign)
        r = self.roster
        workers = np.flatnonzero(r.role != ROLE["supervisor"])
        self.teammates = Groups(r.team[workers], len(r.teams), members=workers)
        self.team_portfolio = np.array([t.portfolio for t in r.teams])

    def rng(self, stream: str) -> np.random.Generator:
        return rng_for(self.cfg.stream_seed, stream)

    def log_searches(
        self,
        *,
        time: np.ndarray,
        emp: np.ndarray | int,
        app: str,
        lists: tuple[np.ndarray, np.ndarray],
        **extra,
    ) -> None:
        """Searches in ``app`` returning ``lists`` ((lengths, flat) customer lists, from
        :meth:`search_results` or :meth:`random_lists`): every search shows the search
        fields and returns as many rows as it lists. ``extra``: the case, the insider."""
        lengths, _ = lists
        self.log.add(
            time=time,
            emp=emp,
            action=ACT["search"],
            fields=FS["search"],
            app=APP[app],
            ragged=lists,
            record_count=lengths,
            **extra,
        )

    def any_customer(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Uniform over all customers staff may see (for bulk and random look-ups)."""
        return self.benign[rng.integers(0, len(self.benign), n)]

    def search_results(
        self,
        rng: np.random.Generator,
        targets: np.ndarray,
        extra_mean: float,
        by: str = "surname",
    ) -> tuple[np.ndarray, np.ndarray]:
        """Result lists of name searches: the target first, then namesakes (or neighbours).

        Returns (lengths, flat customer numbers) with no customer twice in one list.
        """
        groups = self.by_surname if by == "surname" else self.by_postcode
        keys = (self.customers.surname if by == "surname" else self.customers.postcode)[targets]
        extra = rng.poisson(extra_mean, len(targets))
        rows = expand(extra)
        found = groups.pick(rng, keys[rows])
        row_of = np.concatenate([np.arange(len(targets)), rows])
        value = np.concatenate([targets, np.where(found >= 0, found, targets[rows])])
        order = np.argsort(row_of, kind="stable")
        lengths = np.bincount(row_of, minlength=len(targets))
        return dedupe_ragged(lengths, value[order])

    def random_lists(
        self, rng: np.random.Generator, sizes: np.ndarray, first: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Lists of ``sizes[i]`` random customers (optionally led by ``first[i]``)."""
        rows = expand(sizes)
        value = self.any_customer(rng, len(rows))
        if first is not None:
            rows = np.concatenate([np.arange(len(sizes)), rows])
            value = np.concatenate([first, value])
            order = np.argsort(rows, kind="stable")
            rows, value = rows[order], value[order]
        return dedupe_ragged(np.bincount(rows, minlength=len(sizes)), value)
