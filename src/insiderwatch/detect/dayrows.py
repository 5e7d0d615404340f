"""Writing an employee-day table's rows of the step's day by what changed.

A live step redoes the day of the staff it evaluates (:mod:`~insiderwatch.detect.scope`):
their rows of the day's history tables were deleted and written again whole, every
step, though a busy account's rows of the day barely change between two steps a second
apart. Deleting and inserting a row of a keyed table is most of such a table's cost (the
query that yields them is a small part). So the tables below are written by difference:
the rows the step yields are compared with the stored rows of the day of the employees
the step evaluated; only rows that are gone or differ are deleted, only new ones
inserted. The end is the same table, and nothing reads a day's rows of these tables
before the day is over (their readers learn from earlier days), so the step may leave
them in place until it writes.
"""

from __future__ import annotations

from insiderwatch.detect.base import execute

# Written by difference: a scoped step's forgetting leaves them (detect/scope.py).
BY_DIFFERENCE = ("revisit_days", "book_days")
_NEW = "step_day_rows"
# The columns each query yields, read once per process (a query's text fixes them).
_COLUMNS: dict[str, list[str]] = {}


def write_day_rows(con, table: str, key: tuple[str, ...], query: str, params: dict) -> None:
    """Make ``table``'s rows of ``$day`` for the employees with events in the step those
    ``query`` yields (its columns named as the table's; ``key``: the table's key)."""
    execute(con, f"CREATE OR REPLACE TEMP TABLE {_NEW} AS {query}", params)
    if query not in _COLUMNS:
        _COLUMNS[query] = [d[0] for d in con.execute(f"SELECT * FROM {_NEW} LIMIT 0").description]
    cols = _COLUMNS[query]
    same = " AND ".join(f"r.{c} IS NOT DISTINCT FROM n.{c}" for c in cols)
    execute(
        con,
        f"""DELETE FROM {table} WHERE rowid IN (
              SELECT r.rowid FROM {table} r ANTI JOIN {_NEW} n ON {same}
              WHERE r.day = $day
                AND r.employee_id IN (SELECT employee_id FROM step_events WHERE in_step))""",
        params,
    )
    on = " AND ".join(f"r.{c} = n.{c}" for c in key)
    execute(
        con,
        f"""INSERT INTO {table} ({", ".join(cols)}) SELECT n.* FROM {_NEW} n
            ANTI JOIN (SELECT * FROM {table} WHERE day = $day) r ON {on}""",
        params,
    )
