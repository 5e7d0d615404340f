"""What a step learns from earlier days, learned once per day.

Every explanation a step gives that is learned (:mod:`~insiderwatch.detect.explain`) is
learned from the days before the step's day and the context tables only: the investigating
groups and the staff who work like them (:mod:`~insiderwatch.detect.casework`,
:mod:`~insiderwatch.detect.similar`), the buyers of each team's portfolio sellers, the
investigating groups' case scope (:mod:`~insiderwatch.detect.casescope`), the routine in force
(``routine_flows`` of the day, :mod:`~insiderwatch.detect.routine`), the look-up
allowances and the kinds they cover (:mod:`~insiderwatch.detect.allowance`), the
surnames too common to tell a relative by (:mod:`~insiderwatch.detect.kin`), the
customer books (:mod:`~insiderwatch.detect.book`) and relationship books
(:mod:`~insiderwatch.detect.groupbook`); and what a detector's query reads of earlier
days (:meth:`~insiderwatch.detect.base.Detector.daily`). Live, a day is cut into a step a
second, and each would learn all of it again; so a day's first step learns it into temp
tables of the store's connection (``daily_*``, named by those modules) and the day's later
steps on that connection read them.

What was learned is kept with its day and a token that is also written to the store's
metadata (``detect_learned``). A step takes the kept tables only when the run allows it
(``reuse``: the run continues the day the previous run stopped in, without a rewind, a
changed or dropped detector, or a context table (staff, customers, cases, orders,
canaries) changed since; see :func:`reusable`) and they are of its day, with the token the
store holds: a run on another connection since, or a rolled back one, learned or dropped
its own. Anything else learns afresh: another day, a new connection (temp tables are
gone), a rewind. The rows a day's steps write for that day are never read by its own
learning (earlier days only), so what the first step learned is what each later step
would learn again.

A table of each earlier day's rows over a window
(:class:`~insiderwatch.detect.base.DayWindow`: a detector's, or the cases the portfolios
are learned from) is carried to the next day instead of read
again whole: the days that left the window are dropped and the days since added, when the
table is the one the store's last learning made (its token), of an earlier day of the
window, by the same query, and nothing it holds changed since (``carry``: the run learned
a day before this one, or :func:`reusable` held for it; a rewind or a changed context
learns the window afresh). Earlier days' explanations change only through a rewind, so
the carried table holds the rows a full read would.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid

from insiderwatch.detect.allowance import (
    ALLOWANCE,
    ALLOWANCE_KINDS,
    learn_allowance_kinds,
    learn_allowances,
)
from insiderwatch.detect.base import DayWindow, execute
from insiderwatch.detect.book import learn_books
from insiderwatch.detect.casescope import CASE_SCOPE, learn_case_scope
from insiderwatch.detect.casework import (
    TEAM_CASES,
    casework_params,
    casework_settings,
    learn_portfolios,
    team_cases_window,
)
from insiderwatch.detect.config import DetectionConfig
from insiderwatch.detect.groupbook import learn_group_books
from insiderwatch.detect.handover import learn_leavers
from insiderwatch.detect.kin import learn_common_surnames
from insiderwatch.detect.public import PUBLIC_FIGURES, learn_public_figures
from insiderwatch.detect.routine import learn_routine
from insiderwatch.detect.similar import SIMILAR

TOKEN_META = "detect_learned"
_KEPT = "daily_learned"  # the kept day, its token, the learned casework lists and leavers
_FLOWS = "daily_routine_flows"  # the day's routine_flows rows (a rewind deletes those)
_WINDOWS = "daily_windows"  # the day-window tables the last learning made: day, token, query


def reusable(*, rewound: bool, everywhere: bool, context_changed: bool) -> bool:
    """Whether a run may take what an earlier run learned for the day it starts in:
    nothing it learns from (earlier days' state, context tables) changed since."""
    return not (rewound or everywhere or context_changed)


def learn_day(
    con,
    cfg: DetectionConfig,
    step: dict,
    *,
    reuse: bool,
    tables: dict[str, str | DayWindow] | None = None,
    flows_kept: bool = False,
    carry: bool = False,
) -> dict:
    """Make the day's learned tables current for ``step`` (``StepContext.params``) and
    return the learned parameters (investigating groups and staff) with the casework
    settings the step's queries read. ``reuse``: :func:`reusable` held for this run.
    ``tables``: the day's tables of the detectors the step runs (name: query,
    :meth:`~insiderwatch.detect.base.Detector.daily`), made with the rest.
    ``flows_kept``: the run left the day's ``routine_flows`` in the store (a scoped step
    that expects to reuse them); learned again, they are replaced. ``carry``: the
    day-window tables the last learning made may be carried (the run learned an earlier
    day, or ``reuse``)."""
    params = {**step, **casework_settings(cfg)}
    kept = _kept(con, step["day"]) if reuse else None
    if kept is None:
        if flows_kept:
            execute(con, "DELETE FROM routine_flows WHERE day = $day", params)
        carried = _windows(con) if carry or reuse else {}
        kept = _learn(con, cfg, params, tables or {}, carried)
    elif cfg.routine.enabled and not flows_kept:  # the run deleted them: the same again
        con.execute(f"INSERT INTO routine_flows SELECT * FROM {_FLOWS}")
    return {**params, **kept}


def _kept(con, day: dt.date) -> dict | None:
    """The learned lists kept for ``day`` when they are still current, else None."""
    if not _has_kept(con):
        return None
    rows = con.execute(
        f"""SELECT k.investigating, k.investigating_staff, k.leavers
            FROM temp.main.{_KEPT} k JOIN store_meta m ON m.key = ? AND m.value = k.token
            WHERE k.day = ?""",
        [TOKEN_META, day],
    ).fetchall()
    if not rows:
        return None
    return dict(zip(("investigating", "investigating_staff", "leavers"), rows[0], strict=True))


def _has_kept(con, table: str = _KEPT) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?", [table]
        ).fetchall()[0][0]
    )


def _windows(con) -> dict[str, tuple[dt.date, str]]:
    """The day-window tables the store's last learning made on this connection (name:
    the day they were made for, their query's digest); none when another learning came
    since (on another connection, or one rolled back)."""
    if not _has_kept(con, _WINDOWS):
        return {}
    rows = con.execute(
        f"""SELECT w.name, w.day, w.digest
            FROM temp.main.{_WINDOWS} w JOIN store_meta m ON m.key = ? AND m.value = w.token""",
        [TOKEN_META],
    ).fetchall()
    return {name: (day, digest) for name, day, digest in rows}


def _digest(window: DayWindow) -> str:
    return hashlib.sha256(f"{window.days}\n{window.placed}\n{window.sql}".encode()).hexdigest()


def _learn_window(
    con, name: str, window: DayWindow, params: dict, made: tuple[dt.date, str] | None
) -> None:
    """Make the day-window table ``name`` for ``params['day']``: carried from ``made``
    (the day it was made for, its query's digest) when that is an earlier day of the same
    query still in the window (the days that left it dropped, the days since added), else
    read whole."""
    day = params["day"]
    since = day - dt.timedelta(days=window.days)
    if made is None or made[1] != _digest(window) or not since <= made[0] <= day:
        execute(
            con, f"CREATE OR REPLACE TEMP TABLE {name} AS {window.sql}", {**params, "since": since}
        )
        return
    if made[0] == day:  # made for this day already: nothing left, nothing new
        return
    con.execute(f"DELETE FROM {name} WHERE {window.placed} < ?", [since])
    execute(con, f"INSERT INTO {name} {window.sql}", {**params, "since": made[0]})


def _learn(
    con,
    cfg: DetectionConfig,
    params: dict,
    tables: dict[str, str | DayWindow],
    carried: dict[str, tuple[dt.date, str]],
) -> dict:
    """Learn everything for ``params['day']`` into the day's temp tables and keep it."""
    learned = casework_params(con, cfg, params, similar=SIMILAR)
    lists = {k: learned[k] for k in ("investigating", "investigating_staff")}
    lists["leavers"] = learn_leavers(con, cfg, params)
    params = {**params, **lists}
    cases = team_cases_window(cfg)
    _learn_window(con, TEAM_CASES, cases, params, carried.get(TEAM_CASES))
    windows = {TEAM_CASES: _digest(cases)}
    learn_portfolios(con, params)
    learn_common_surnames(con, cfg)  # who counts as a relative (the explanations' guards)
    if lists["investigating"]:
        learn_case_scope(con, params, into=CASE_SCOPE)
    if cfg.routine.enabled:
        learn_routine(con, cfg, params)
        execute(
            con,
            f"CREATE OR REPLACE TEMP TABLE {_FLOWS} AS SELECT * FROM routine_flows WHERE day = $day",
            params,
        )
    if cfg.allowance.enabled:
        learn_allowances(con, cfg, params, into=ALLOWANCE)
        learn_allowance_kinds(con, cfg, params, into=ALLOWANCE_KINDS)
    if cfg.book.enabled:
        learn_books(con, params)
    # always (flagged VIPs too); before the relationship books, which keep figures out
    learn_public_figures(con, cfg, params, into=PUBLIC_FIGURES)
    if cfg.book.relationship.enabled:
        learn_group_books(con, cfg, params)
    for name, sql in tables.items():
        if isinstance(sql, DayWindow):
            _learn_window(con, name, sql, params, carried.get(name))
            windows[name] = _digest(sql)
        else:
            execute(con, f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}", params)
    token = uuid.uuid4().hex
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_KEPT} AS SELECT ?::DATE AS day, ? AS token, "
        "?::VARCHAR[] AS investigating, ?::VARCHAR[] AS investigating_staff, "
        "?::VARCHAR[] AS leavers",
        [params["day"], token, *lists.values()],
    )
    # Only the windows made now: any other was not carried to this day.
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {_WINDOWS} AS SELECT unnest(?::VARCHAR[]) AS name, "
        "?::DATE AS day, ? AS token, unnest(?::VARCHAR[]) AS digest",
        [list(windows), params["day"], token, list(windows.values())],
    )
    con.execute("INSERT OR REPLACE INTO store_meta VALUES (?, ?)", [TOKEN_META, token])
    return lists
