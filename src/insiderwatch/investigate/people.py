"""What the console shows about one employee and about one customer, from the analytics
store: an employee's risk over time, working hours, explained and unexplained access,
peers and timeline; and for a customer, every access to their data with the business
reason that explains it, or the lack of one.

Staff are named through ``show`` (the deployment's pseudonym): this module never decides
who may see whom. Explanations come from detection (``access_explained``); access that
detection has not reached yet has none.
"""

from __future__ import annotations

from collections.abc import Callable

from insiderwatch.contract.investigate import (
    CustomerAccess,
    CustomerFile,
    DayActivity,
    EmployeeProfile,
    PeerActivity,
    RiskPoint,
)
from insiderwatch.detect.reasons import meaning
from insiderwatch.investigate.timeline import timeline
from insiderwatch.store.duckdb_store import Store

Show = Callable[[str], str]  # employee id -> how staff are shown (a pseudonym)
WEEKDAYS, HOURS = 7, 24


def employee_profile(
    store: Store, employee_id: str, show: Show, *, latest: int = 200, peers: int = 30
) -> EmployeeProfile | None:
    """The employee page's figures (None when nobody has that id); the timeline holds
    their ``latest`` accesses, the peers the busiest ``peers`` of their peer group."""
    row = store.con.execute(
        "SELECT role FROM employees WHERE employee_id = ?", [employee_id]
    ).fetchone()
    if row is None:
        return None
    group = _peer_group(store, employee_id)
    return EmployeeProfile(
        employee=show(employee_id),
        role=row[0],
        peer_group=group,
        risk=_risk(store, employee_id),
        heat=_heat(store, employee_id),
        days=_days(store, employee_id),
        peers=_peers(store, employee_id, group, show, peers),
        timeline=timeline(store, employee_id, since=_since(store, employee_id, latest)),
    )


def _peer_group(store: Store, employee_id: str) -> str | None:
    if not store.has_table("employee_days"):
        return None
    return store.scalar(
        "SELECT arg_max(peer_group, day) FROM employee_days WHERE employee_id = ?", [employee_id]
    )


def _risk(store: Store, employee_id: str) -> list[RiskPoint]:
    if not store.has_table("alerts"):
        return []
    rows = store.con.execute(
        "SELECT detected_at, score, alert_id FROM alerts WHERE employee_id = ? "
        "ORDER BY detected_at, revision",
        [employee_id],
    ).fetchall()
    return [RiskPoint(at=at, score=score, alert_id=a) for at, score, a in rows]


def _heat(store: Store, employee_id: str) -> list[list[int]]:
    grid = [[0] * HOURS for _ in range(WEEKDAYS)]
    rows = store.con.execute(
        # The store's session is UTC (duckdb_store), so the hour is the UTC hour.
        "SELECT isodow(time) - 1, hour(time), count(*) FROM access WHERE employee_id = ? "
        "GROUP BY ALL",
        [employee_id],
    ).fetchall()
    for weekday, hour, count in rows:
        grid[weekday][hour] = count
    return grid


def _days(store: Store, employee_id: str) -> list[DayActivity]:
    if not store.has_table("access_explained"):
        return []
    rows = store.con.execute(
        "SELECT day, count(explanation), count(*) - count(explanation) FROM access_explained "
        "WHERE employee_id = ? GROUP BY day ORDER BY day",
        [employee_id],
    ).fetchall()
    return [DayActivity(day=d, explained=e, unexplained=u) for d, e, u in rows]


def _peers(
    store: Store, employee_id: str, group: str | None, show: Show, limit: int
) -> list[PeerActivity]:
    if group is None:
        return []
    rows = store.con.execute(
        "SELECT employee_id, sum(events), sum(unexplained_events) FROM employee_days "
        "WHERE peer_group = ? GROUP BY employee_id ORDER BY 2 DESC, employee_id LIMIT ?",
        [group, limit],
    ).fetchall()
    return [
        PeerActivity(
            employee=show(e), events=int(n), unexplained=int(u), is_subject=e == employee_id
        )
        for e, n, u in rows
    ]


def _since(store: Store, employee_id: str, latest: int):
    """The time of the employee's ``latest``-th most recent access (None: fewer)."""
    return store.scalar(
        "SELECT time FROM access WHERE employee_id = ? ORDER BY time DESC LIMIT 1 OFFSET ?",
        [employee_id, latest - 1],
    )


def customer_file(
    store: Store, customer_id: str, show: Show, *, limit: int = 500
) -> CustomerFile | None:
    """Every access to ``customer_id``'s data, newest first (at most ``limit``), with its
    explanation; None when there is no such customer."""
    known = store.scalar("SELECT count(*) FROM customers WHERE customer_id = ?", [customer_id])
    if not known:
        return None
    explained = store.has_table("access_explained")
    join = "LEFT JOIN access_explained x USING (event_id)" if explained else ""
    why = "x.explanation" if explained else "NULL"
    rows = store.con.execute(
        f"""SELECT a.event_id, a.time, a.employee_id, a.app, a.action, a.fields, {why},
                   count(*) OVER (), count(*) FILTER (WHERE {why} IS NULL) OVER ()
            FROM access a {join}
            WHERE list_contains(a.customer_ids, ?)
            ORDER BY a.time DESC, a.event_id LIMIT ?""",
        [customer_id, limit],
    ).fetchall()
    accesses = [
        CustomerAccess(
            event_id=e,
            time=t,
            employee=show(emp),
            app=app,
            action=act,
            fields=list(fields or []),
            explanation=x,
            explanation_meaning=meaning(x),
        )  # fmt: skip
        for e, t, emp, app, act, fields, x, _, _ in rows
    ]
    total, unexplained = (rows[0][7], rows[0][8]) if rows else (0, 0)
    return CustomerFile(
        customer_id=customer_id, accesses=accesses, total=total, unexplained=unexplained
    )


def customers_with(store: Store, column: str, digest: str) -> list[str]:
    """Customers whose ``email_hash`` or ``phone_hash`` is ``digest``."""
    if column not in ("email_hash", "phone_hash"):
        raise ValueError(f"not a hashed contact column: {column}")
    rows = store.con.execute(
        f"SELECT customer_id FROM customers WHERE {column} = ? ORDER BY customer_id", [digest]
    ).fetchall()
    return [r[0] for r in rows]
