"""The events a scoped live step reads, from copies kept for the day.

A live day is cut into a step a second, and each scoped step
(:mod:`~insiderwatch.detect.scope`) reads its scope's events of the day so far and the
lookback before the day. Read from the event segments, every step decoded the same
Parquet again: the whole previous day for the lookback, and every segment of the day
twice (the scope's rows, and everyone's outbound actions to find who reads the
lookback). So the store's connection keeps two temp tables for the day:

* ``daily_lookback``: every event of the 24 hours before the day, made once a day;
* ``daily_today``: every event of the day loaded so far, to which a step appends only the
  segments loaded since the previous one.

Both are temp tables of the run's transaction: a rolled back run drops what it added, a
new connection has none. A scoped step reads its events from them
(:func:`scoped_events`), the same rows as from the segments, sorted the same way.
"""

from __future__ import annotations

import datetime as dt

from insiderwatch.detect.explain import lookback_readers
from insiderwatch.detect.scope import SCOPE_TABLE
from insiderwatch.store.duckdb_store import Store

DAY = dt.timedelta(days=1)
LOOKBACK = "daily_lookback"  # the lookback's events of a live day (day_lookback)
_LOOKBACK_KEPT = "daily_lookback_kept"  # its day's start and the last batch it saw
TODAY = "daily_today"  # the day's events loaded so far (day_events)
_TODAY_KEPT = "daily_today_kept"  # its day's start and the segments copied into it


def scoped_events(store: Store, begin: dt.datetime, step: dict) -> str:
    """The query of a scoped step's events, for
    :func:`~insiderwatch.detect.explain.build_step` to read (it keeps those before the
    step's end): the scope's events of the day and, for the employees whose step reads it
    (:func:`~insiderwatch.detect.explain.lookback_readers`), their lookback from
    ``begin``. Read from the day's copies, made or brought up to date first; not copied
    again into a table of the run's events (``run_events``), which cost as much as the
    step's own table built from it. Unordered: the step sorts its rows by time, then id,
    as a replay's sorted copy gives them. ``step``: the step's parameters with what its
    day learned (the investigating groups name lookback readers)."""
    con = store.con
    day_lookback(con, begin, step["s"])
    day_events(store, step["s"])
    scoped = f"employee_id IN (SELECT employee_id FROM {SCOPE_TABLE})"
    return f"""(SELECT * FROM {LOOKBACK} WHERE {scoped}
                  AND employee_id IN ({lookback_readers(TODAY)})
                UNION ALL
                SELECT * FROM {TODAY} WHERE {scoped})"""


def day_lookback(con, begin: dt.datetime, start: dt.datetime) -> None:
    """Make ``daily_lookback`` hold every event in [``begin``, ``start``), the lookback of
    the live day starting at ``start``. Kept while no batch loaded since holds an event
    before ``start`` (a late event; a merge of segments keeps its newest batch id and the
    same rows, so needs none)."""
    if _has(con, _LOOKBACK_KEPT):
        fresh = con.execute(
            f"""SELECT count(*) FROM temp.main.{_LOOKBACK_KEPT} k
                WHERE k.start = ? AND NOT EXISTS (
                  SELECT 1 FROM event_segments s WHERE s.table_name = 'access'
                  AND s.batch_id > k.batch AND s.min_time < k.start)""",
            [start],
        ).fetchall()[0][0]
        if fresh:
            return
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE {_LOOKBACK_KEPT} AS
            SELECT ?::TIMESTAMPTZ AS start, coalesce(max(batch_id), 0) AS batch
            FROM event_segments WHERE table_name = 'access'""",
        [start],
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {LOOKBACK} AS SELECT * FROM access "
        "WHERE time >= ? AND time < ?",
        [begin, start],
    )


def day_events(store: Store, start: dt.datetime) -> None:
    """Make ``daily_today`` hold every event of the day starting at ``start`` (of any time
    that day, up to the latest loaded). Only the segments of the day not copied yet are
    read (a batch loaded since, late events of the day included: ingest never stores an
    event id twice, so they are new rows); made again on another day, on a new
    connection, and when a segment it copied is gone (merged with others into one whose
    rows it partly holds)."""
    con = store.con
    end = start + DAY
    segments = con.execute(
        """SELECT path FROM event_segments WHERE table_name = 'access'
           AND max_time >= ? AND min_time < ? ORDER BY path""",
        [start, end],
    ).fetchall()
    paths = [p for (p,) in segments]
    new = _uncopied(con, start, paths)
    if new is None:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {TODAY} AS SELECT * FROM access "
            "WHERE time >= ? AND time < ?",
            [start, end],
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_TODAY_KEPT} AS "
            "SELECT ?::TIMESTAMPTZ AS start, ?::VARCHAR[] AS paths",
            [start, paths],
        )
        return
    if not new:
        return
    base = store.path.parent
    listed = ", ".join("'" + str(base / p).replace("'", "''") + "'" for p in new)
    con.execute(
        f"INSERT INTO {TODAY} SELECT * FROM read_parquet([{listed}]) WHERE time >= ? AND time < ?",
        [start, end],
    )
    con.execute(f"UPDATE {_TODAY_KEPT} SET paths = list_concat(paths, ?::VARCHAR[])", [new])


def _uncopied(con, start: dt.datetime, paths: list[str]) -> list[str] | None:
    """The day's segments ``daily_today`` does not hold yet; None when it must be made
    again (none kept, another day's, or a segment it copied is no longer listed)."""
    if not _has(con, _TODAY_KEPT):
        return None
    rows = con.execute(f"SELECT start, paths FROM {_TODAY_KEPT}").fetchall()
    if len(rows) != 1 or rows[0][0] != start or not set(rows[0][1]) <= set(paths):
        return None
    copied = set(rows[0][1])
    return [p for p in paths if p not in copied]


def _has(con, table: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?", [table]
        ).fetchall()[0][0]
    )
