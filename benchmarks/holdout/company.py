"""A whole hold-out company: the world, everyone's work, the insiders', in time order."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from holdout import insiders
from holdout.events import Events
from holdout.styles import STYLES
from holdout.world import DAY_US, World

LAST_DAY = dt.date(2026, 11, 30)  # windows end around here unless a start is given


@dataclass(frozen=True)
class HoldoutConfig:
    employees: int = 600
    days: int = 30
    seed: int = 1
    style: str = "marketplace"
    insiders: int | None = None  # default: about 1.2% of the staff, at least two
    start: dt.date | None = None  # default: the window ends a few days before December

    def first_day(self) -> dt.date:
        if self.start:
            return self.start
        return LAST_DAY - dt.timedelta(days=self.days - 1 + self.seed % 7)

    def insider_count(self) -> int:
        return self.insiders if self.insiders is not None else max(2, round(0.012 * self.employees))


@dataclass
class Company:
    config: HoldoutConfig
    world: World
    events: Events  # sorted by time
    insiders: list[insiders.Insider]


def generate(cfg: HoldoutConfig) -> Company:
    if cfg.style not in STYLES:
        raise ValueError(f"unknown style {cfg.style!r}; known: {', '.join(STYLES)}")
    style = STYLES[cfg.style]
    w = World(style, cfg.employees, cfg.days, cfg.seed, cfg.first_day())
    chosen = insiders.choose(w, cfg.insider_count())
    blocks = []
    for stage in (0, 1):
        for role in style.all_roles:
            emps = w.members(role.name)
            for program in style.programs_of(role):
                if program.stage == stage and len(emps):
                    blocks.append(program.run(w, emps, role.apps))
    blocks += [insiders.act(w, ins) for ins in chosen]
    events = Events.concat(blocks)
    inside = (events.t >= w.cal.epoch0) & (events.t < w.cal.epoch0 + cfg.days * DAY_US)
    events = events.take(np.flatnonzero(inside))
    w.stamp(events)
    events = events.take(np.argsort(events.t, kind="stable"))
    return Company(cfg, w, events, chosen)
