"""Whose day a live step evaluates: the employees the new events touched.

Live data stops mid-day, so every run redoes the partial day. Redone for everyone, a step
costs what the day holds; but what a step writes for an employee (explanations,
``employee_days`` and the other day records, findings of employee-scope detectors)
depends only on that employee's own events of the day and lookback, the state of earlier
days, the context tables and the cases known at the step's end. So a run that stays
within the day the previous run left partial evaluates only:

* employees with events that run did not see: in batches loaded since
  (``detect_last_batch``) or later than the latest event it processed (a run stopped by
  ``until``; its time is kept in ``detect_partial``);
* employees of a case that opened since (a case explains access from
  ``slack_before_minutes`` before it opened), and their managers (``team_case``);
* the employees each company-scope detector names (:meth:`Detector.step_employees`);
  one that names none makes the step evaluate everyone.

Everyone else's rows of the day stay as the previous step wrote them, which is what a
redo would write again. Everyone is evaluated when a context table (staff, customers,
cases, orders, canaries) changed since the previous run, and on any run that rewinds,
recomputes a detector or reaches another day. A company-scope detector's findings of the
day are all recomputed each step (they can come from other staff's events).
"""

from __future__ import annotations

import datetime as dt

from insiderwatch.detect.base import Detector, StepContext, execute
from insiderwatch.detect.dayrows import BY_DIFFERENCE
from insiderwatch.detect.state import DAILY_TABLES
from insiderwatch.store.duckdb_store import Store

PARTIAL_META = "detect_partial"  # the latest event time a run that stopped mid-day processed
SCOPE_TABLE = "step_scope"


def partial_until(meta: dict[str, str], day: dt.date) -> dt.datetime | None:
    """The latest event time the previous run processed of ``day``, when it left that day
    partial (None otherwise); ``meta``: the engine's store metadata."""
    kept = meta.get(PARTIAL_META)
    if kept is None or meta.get("detect_watermark") != day.isoformat():
        return None
    until = dt.datetime.fromisoformat(kept)
    return until if until.date() == day else None


def touched_scope(
    store: Store,
    meta: dict[str, str],
    ctx: StepContext,
    latest: dt.datetime,
    detectors: list[Detector],
    *,
    context_changed: bool,
) -> bool:
    """Write the employees a step of the partial day ``ctx.day`` must evaluate to
    ``step_scope``; False when it must evaluate everyone. ``meta``: the engine's store
    metadata as the run found it; ``context_changed``: :data:`CONTEXT_CHANGED_SQL` held."""
    since = partial_until(meta, ctx.day)
    if since is None or context_changed:
        return False
    last_batch = int(meta.get("detect_last_batch") or 0)
    extra = []
    for det in detectors:
        if det.scope == "company":
            sql = det.step_employees(ctx, ctx.config.detector_config(det))
            if sql is None:
                return False
            extra.append(f"SELECT employee_id FROM ({sql})")
    parts = [*_new_events(store, last_batch, since), *extra]
    parts.append(
        """SELECT employee_id FROM cases WHERE opened_at > $since AND opened_at <= $latest
           UNION ALL
           SELECT m.manager_id FROM cases c JOIN employees m USING (employee_id)
           WHERE c.opened_at > $since AND c.opened_at <= $latest"""
    )
    execute(
        store.con,
        f"CREATE OR REPLACE TEMP TABLE {SCOPE_TABLE} AS SELECT DISTINCT employee_id FROM ("
        + " UNION ALL ".join(parts)
        + ") WHERE employee_id IS NOT NULL",
        {**ctx.params, "since": since, "latest": latest},
    )
    return True


# The last context batch (staff, customers, cases, ...) a detection run has seen: batch
# ids are shared by every table, and ``detect_last_batch`` follows the event batches only,
# so a context batch loaded after the last event batch would otherwise count as new on
# every run until more events came.
CONTEXT_BATCH_META = "detect_context_batch"


def seen_batch(meta: dict[str, str]) -> int:
    """The last batch a detection run has seen: the last event batch it read, or the last
    context batch it saw (:data:`CONTEXT_BATCH_META`), whichever came later. ``meta``:
    the engine's store metadata."""
    return max(int(meta.get("detect_last_batch") or 0), int(meta.get(CONTEXT_BATCH_META) or 0))


# Whether a batch of a context table may have changed rows since the batch ``$seen``
# (:func:`seen_batch`).
CONTEXT_CHANGED_SQL = """
SELECT count(*) > 0 FROM ingest_batches WHERE batch_id > $seen AND table_name <> 'access'
  AND NOT (status = 'done' AND loaded = 0 AND updated = 0)
"""


SEEN_CONTEXT_SQL = """
SELECT coalesce(max(batch_id), 0) FROM ingest_batches
WHERE table_name <> 'access'
  AND batch_id < coalesce((SELECT min(batch_id) FROM ingest_batches WHERE status = 'running'),
                          9223372036854775807)
"""  # a batch still loading, and every later one, is not seen yet


def _new_events(store: Store, last_batch: int, since: dt.datetime) -> list[str]:
    """Queries of the employees of the day's events the previous run did not see, read
    from their own segments only."""
    rows = store.con.execute(
        "SELECT path, batch_id > ? FROM event_segments WHERE table_name = 'access' "
        "AND (batch_id > ? OR max_time > ?) ORDER BY path",
        [last_batch, last_batch, since],
    ).fetchall()
    base = store.path.parent

    def files(new: bool) -> str:
        return ", ".join(
            "'" + str(base / p).replace("'", "''") + "'" for p, is_new in rows if is_new == new
        )

    parts = []
    if listed := files(True):  # every event of a new batch (of this day on: earlier rewinds)
        parts.append(
            f"SELECT employee_id FROM read_parquet([{listed}]) WHERE time >= $s AND time <= $latest"
        )
    if listed := files(False):  # events past the last run's end in batches it had read
        parts.append(
            f"SELECT employee_id FROM read_parquet([{listed}]) "
            "WHERE time > $since AND time <= $latest"
        )
    return parts


def forget_scope(
    con,
    day: dt.date,
    start: dt.datetime,
    company: list[str],
    *,
    keep_explained: bool = False,
    keep_flows: bool = False,
) -> None:
    """Drop what a scoped step of ``day`` recomputes: the scope's day records and
    findings, every finding of the company-scope detectors, the day's learned routine.
    With ``keep_explained``, the day's explanations stay (its step replaces only those it
    explains afresh, :func:`~insiderwatch.detect.explain.record_explanations`); with
    ``keep_flows``, the day's learned routine stays until the step finds it must learn the
    day again (:func:`~insiderwatch.detect.daily.learn_day`): learned from earlier days
    only, it is what the step would write again."""
    scoped = f"employee_id IN (SELECT employee_id FROM {SCOPE_TABLE})"
    if not keep_explained:
        con.execute("DELETE FROM step_explained")
        con.execute("DELETE FROM step_touch_explained")
    for table in DAILY_TABLES:
        if table == "access_explained" and keep_explained:
            con.execute(f"DELETE FROM {table} WHERE day > ? AND {scoped}", [day])
        elif table == "findings":
            con.execute(
                f"DELETE FROM findings WHERE day >= ? AND ({scoped} OR list_contains(?, detector))",
                [day, company],
            )
        elif table == "routine_flows":  # per group, learned from earlier days: relearned
            if not keep_flows:
                con.execute("DELETE FROM routine_flows WHERE day >= ?", [day])
        elif table in BY_DIFFERENCE:  # the step writes what changed (detect/dayrows.py)
            continue
        else:
            con.execute(f"DELETE FROM {table} WHERE day >= ? AND {scoped}", [day])
    con.execute(f"DELETE FROM employee_footprint WHERE first_seen >= ? AND {scoped}", [start])
