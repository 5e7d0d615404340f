"""What every detector is, and the step context it works in.

A detector is a class with its catalogue entry (id, version, what it catches, why, false
positives, how to investigate), a typed ``Config`` and one method returning a SQL query
over the step's tables (``step_events``, ``step_touch``, ``employee_days`` of earlier days)
that yields findings with these columns:

``employee_id, time, first_time, points, severity, critical, key, reason, event_ids,
customer_ids``

``time`` is the event time of the latest event the finding used; ``key`` makes the
finding unique within the detector for that employee (re-running a step replaces the
finding instead of adding one). Findings may only use events at or before ``time``.
A detector that compares a measure with a baseline also yields ``measure, observed,
threshold, own_usual, peer_usual`` (the baseline that moved and by how much); the
engine stores NULL for those a query leaves out. Stored findings are contract
``Finding`` records; ``version`` is the author's revision, folded into the content hash
that versions the detector (:mod:`~insiderwatch.detect.catalog`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import msgspec

from insiderwatch.detect.config import DetectionConfig
from insiderwatch.registry import Registry

FINDING_COLUMNS = ("employee_id", "time", "first_time", "points", "severity", "critical", "key",
                   "reason", "event_ids", "customer_ids")  # fmt: skip
BASELINE_COLUMNS = ("measure", "observed", "threshold", "own_usual", "peer_usual")


class NoConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    pass


class DayWindow(msgspec.Struct, frozen=True):
    """A learned table (:meth:`Detector.daily`) that is the rows of each of the ``days``
    days before the step's day, a row of one day only: ``sql`` selects those of the days
    from ``$since`` (a DATE) up to the step's day (``$day``, its start ``$s``), and
    ``placed`` is the column (a day, or a UTC time) that puts a row in its day. Made in
    full once; each later day drops the days that left the window and adds the days
    since (:mod:`~insiderwatch.detect.daily`), instead of reading the whole window again.

    A kept row is never read again, so ``sql`` may read only ``$since``, ``$day``, ``$s``
    and settings that hold for the whole run (a changed setting replays from the start):
    a parameter that moves with the step (``$e``, ``$ls``, ``$b0``, the day's leavers or
    investigating groups) would leave earlier days' rows stale."""

    days: int
    sql: str
    placed: str


@dataclass(frozen=True)
class StepContext:
    """One step of the engine: events in [start, end) of ``day``, lookback from
    ``lookback_start`` (for the employees with outbound data in the step and those of
    investigating groups: :func:`~insiderwatch.detect.explain.build_step`), baselines from
    [baseline_start, day)."""

    day: dt.date
    start: dt.datetime
    end: dt.datetime
    lookback_start: dt.datetime
    baseline_start: dt.date
    config: DetectionConfig
    learning: bool = False  # inside the learning window

    @property
    def params(self) -> dict[str, Any]:
        return {"day": self.day, "s": self.start, "e": self.end, "ls": self.lookback_start,
                "b0": self.baseline_start,
                "targeted": self.config.targeted_max_customers}  # fmt: skip


class Detector:
    id: ClassVar[str]
    version: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str]  # what it catches
    why: ClassVar[str]  # why that is a sign of misuse
    false_positives: ClassVar[str]
    investigate: ClassVar[str]
    Config: ClassVar[type[msgspec.Struct]] = NoConfig
    # Whether it runs in the learning window (the first ``routine.learning_days`` days of
    # history), when routine is not known yet and every analyst export would look odd.
    # Only detectors that no routine can explain (a decoy touched) do.
    during_learning: ClassVar[bool] = False
    # Whose events a finding can come from. "employee": the employee's own only (and
    # earlier days' state), so a live step evaluates it for the employees with new events
    # alone (:mod:`~insiderwatch.detect.scope`). "company": other staff's too, so every
    # step recomputes all its findings of the day, over the step rows of the employees
    # ``step_employees`` names.
    scope: ClassVar[Literal["employee", "company"]] = "employee"
    # Whether every finding stems from an outbound action of the step carrying records (an
    # export, download, print, copy or message with a record count above 0): a step
    # known to have none (``engine.step_sends``) skips the query, whose result would be
    # empty, instead of planning and running it for nothing.
    needs_outbound: ClassVar[bool] = False
    # Settings of its config that shape state the engine records every day for it (a
    # table of ``state.DAILY_TABLES``), not only its findings. A changed version
    # recomputes the detector's findings over kept state, so these join the shared
    # fingerprint instead (:func:`~insiderwatch.detect.catalog.shared_fingerprint`):
    # changing one replays everything, and no recorded day keeps the old setting.
    history_settings: ClassVar[tuple[str, ...]] = ()

    def sql(self, ctx: StepContext, config: Any) -> str:
        raise NotImplementedError

    def daily(self, ctx: StepContext, config: Any) -> dict[str, str | DayWindow]:
        """Temp tables (name: query) of what the query reads from before ``ctx.day``:
        earlier days' state and the context tables, never the day's own rows (the
        step's parameters to read). Made once, at the day's first step
        (:mod:`~insiderwatch.detect.daily`), and read by every step of the day, where
        the query would otherwise compute them again each step. A name starts with
        ``daily_`` and the detector's own prefix, unique among detectors. A table of
        each earlier day's rows over a window is a :class:`DayWindow`: carried from one
        day to the next. Made in the order given: a later table may read an earlier one."""
        return {}

    def step_employees(self, ctx: StepContext, config: Any) -> str | None:
        """For a company-scope detector: a query (``employee_id`` column; the step's
        parameters, ``access`` and the stored state to read) of the employees whose step
        rows its own query reads, beyond those with new events; None: everyone's."""
        return None


DETECTORS: Registry[type[Detector]] = Registry("detectors")


def execute(con, sql: str, params: dict[str, Any] | None = None):
    """Run ``sql`` with the named parameters it uses (DuckDB refuses unused ones)."""
    used = set(re.findall(r"\$([A-Za-z_]\w*)", sql))
    return con.execute(sql, {k: v for k, v in (params or {}).items() if k in used})


def capped_list(value: str, limit: int, where: str = "") -> str:
    """SQL aggregate: the distinct values of ``value`` (of the rows ``where`` holds), at
    most ``limit`` of them, the least when there are more. The least, not the first
    found: a sliced ``list(DISTINCT ...)`` keeps whichever values its hash table yields
    first, which follows the order rows arrive in, so a replay and the same day cut into
    steps would cite different evidence."""
    only = f" FILTER (WHERE {where})" if where else ""
    return f"list(DISTINCT {value} ORDER BY {value}){only}[1:{limit}]"


def exact_sum(value: str, over: str = "") -> str:
    """SQL: the sum of a float expression (over the window ``over`` when given), added
    in fixed point (a billionth), so the same in whatever order its terms are added. A
    float sum's last digits follow that order (threads, a window's partial sums, a day
    cut into steps), and a replay and a live day must reach the same totals and learn
    the same thresholds from them, to the last digit."""
    window = f" OVER {over}" if over else ""
    return f"(sum(({value})::DECIMAL(38, 9)){window})::DOUBLE"


# The actions that open a customer's record, what a look-up is: a view, or a search.
OPENING_ACTIONS = ("view", "search")


def opening_action_sql(action: str = "action") -> str:
    """SQL: whether ``action`` is one of :data:`OPENING_ACTIONS`."""
    return f"{action} IN ({', '.join(map(sql_str, OPENING_ACTIONS))})"


def teaching_day_sql(row: str) -> str:
    """SQL: whether the employee-day ``row`` (the alias of a recorded history's row, with
    its ``employee_id`` and ``day``) may teach what staff usually do: the employee had no
    critical finding that day. Every learned habit (routine, allowance, book, case work
    and scope, similarity) skips such days, so a harvest that raised one never becomes
    anybody's usual."""
    return (
        f"NOT EXISTS (SELECT 1 FROM findings crit WHERE crit.employee_id = {row}.employee_id "
        f"AND crit.day = {row}.day AND crit.critical)"
    )


def field_set(fields: str) -> str:
    """SQL: the set of fields one access showed as one canonical text (sorted, distinct,
    comma-separated; '' for none), so histories keep a short text per set shown and
    compare sets by equality. ``string_split(text, ',')`` gives the list back."""
    return f"array_to_string(list_sort(list_distinct(coalesce({fields}, []))), ',')"


def sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def sql_list(values) -> str:
    return "[" + ", ".join(sql_str(str(v)) for v in values) + "]::VARCHAR[]"


def matches_any(patterns: list[str], *columns: str) -> str:
    """SQL: any column equals a pattern, or starts with it when it ends in '*'."""
    tests = [
        f"starts_with({col}, {sql_str(p[:-1])})" if p.endswith("*") else f"{col} = {sql_str(p)}"
        for p in patterns
        for col in columns
    ]
    return "(" + " OR ".join(tests or ["FALSE"]) + ")"


def destination_class_sql(cfg: DetectionConfig, column: str = "destination") -> str:
    """'internal', 'allowed' or 'external' for a destination column."""
    d = cfg.destinations

    return (
        f"CASE WHEN {column} IS NULL THEN NULL WHEN {matches_any(d.internal, column)} THEN 'internal' "
        f"WHEN {matches_any(d.allowed, column)} THEN 'allowed' ELSE 'external' END"
    )
