"""The stored alert history, kept equal to the risk engine's verdict on every finding
while rewriting only the employees whose findings a run changed.

The risk engine (:mod:`~insiderwatch.detect.risk`) works per employee: an employee's lines
depend only on their own findings, their departure date, the risk settings and the
suppressions. So after a run only the employees whose findings differ from before it need
their lines recomputed and replaced; everyone else's lines stay as they are, and the lines
that are new or changed are exactly the ones to publish. A live step that adds a finding
for one employee reads, scores and writes that employee's findings and lines alone,
whatever the length of the history.

Which findings a run may rewrite is known before it starts (those of its first day on,
:class:`FindingsBefore`); those are kept aside and compared afterwards. Everything is
recomputed instead when that cannot tell (a detector changed or left: its findings of
every day go) or when what scoring reads besides the findings changed (risk settings,
suppressions, departure dates: the *basis*, remembered in the store).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

import msgspec
import pyarrow as pa

from insiderwatch.contract import Alert, Finding
from insiderwatch.detect.config import DetectionConfig
from insiderwatch.detect.risk import score_findings, suppression_of
from insiderwatch.privacy import HashKey
from insiderwatch.store.duckdb_store import Store

# The findings columns a rewrite can change (``suppressed_by`` is ours: set below).
_COMPARED = ("finding_id, detector, detector_version, employee_id, day, time, first_time, "
             "points, severity, critical, reason, event_ids, customer_ids, measure, observed, "
             "threshold, own_usual, peer_usual")  # fmt: skip
_BEFORE = "findings_before_run"
_ALERT_COLUMNS = tuple(f.name for f in msgspec.structs.fields(Alert))
_BASIS_META = "alerts_basis"


@dataclass(frozen=True)
class FindingsBefore:
    """The findings a run may rewrite, kept before it starts. ``since``: the run's first
    day (it deletes and recomputes every finding from there); None: any finding may change
    (every one is rescored); ``nothing``: the run rewrites no finding."""

    since: dt.date | None
    nothing: bool = False

    @classmethod
    def keep(cls, con, since: dt.date | None) -> FindingsBefore:
        if since is not None:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {_BEFORE} AS "
                f"SELECT {_COMPARED} FROM findings WHERE day >= ?",
                [since],
            )
        return cls(since)

    def changed_employees(self, con) -> list[str] | None:
        """Employees whose findings differ now; None: every employee (rescore all)."""
        if self.nothing:
            return []
        if self.since is None:
            return None
        try:
            rows = con.execute(
                f"""WITH now AS (SELECT {_COMPARED} FROM findings WHERE day >= $since)
                    SELECT DISTINCT employee_id FROM (
                      (SELECT * FROM now EXCEPT SELECT * FROM {_BEFORE})
                      UNION ALL
                      (SELECT * FROM {_BEFORE} EXCEPT SELECT * FROM now))
                    ORDER BY employee_id""",
                {"since": self.since},
            ).fetchall()
        finally:
            con.execute(f"DROP TABLE IF EXISTS {_BEFORE}")
        return [r[0] for r in rows]


NOTHING_REWRITTEN = FindingsBefore(None, nothing=True)


@dataclass
class HistoryUpdate:
    alerts: int  # alerts the history holds
    changed: list[Alert] = field(default_factory=list)  # lines new or changed, history order
    rescored: int | None = None  # employees rescored (None: all)


def update_history(
    store: Store,
    cfg: DetectionConfig,
    key: HashKey,
    before: FindingsBefore,
    *,
    meta: dict[str, str] | None = None,
) -> HistoryUpdate:
    """Bring the alert history and the findings' suppression marks up to date after a run
    (inside the caller's transaction). ``meta``: the store's metadata as the run read it
    (else read here)."""
    con = store.con
    departs = dict(
        con.execute(
            "SELECT employee_id, departs_on FROM employees WHERE departs_on IS NOT NULL"
        ).fetchall()
    )
    basis = _basis(cfg, departs)
    employees = before.changed_employees(con)
    stored = meta.get(_BASIS_META) if meta is not None else store.meta(_BASIS_META)
    same_basis = stored == basis
    if not same_basis:
        employees = None  # scoring's inputs changed: every line may differ
    changed: list[Alert] = []
    suppressed: dict[str, str] = {}
    if employees != []:
        history, suppressed = score_findings(read_findings(con, employees), departs, cfg, key)
        changed = _replace_lines(store, employees, history)
    _mark_suppressed(con, cfg, before, employees, suppressed)
    if not same_basis:
        store.set_meta(_BASIS_META, basis)
    rescored = None if employees is None else len(employees)
    return HistoryUpdate(alerts=_alert_count(con), changed=changed, rescored=rescored)


def read_findings(con, employees: list[str] | None = None) -> list[Finding]:
    """Stored findings (of ``employees``, default all) as contract records, in the order
    the risk engine reads them."""
    where = "" if employees is None else "WHERE list_contains($employees, employee_id)"
    cur = con.execute(
        f"""SELECT finding_id, detector, detector_version, employee_id, time AS detected_at,
                   first_time AS window_start, severity, critical, points, reason, event_ids,
                   customer_ids, measure, observed, threshold, own_usual, peer_usual,
                   suppressed_by
            FROM findings {where} ORDER BY time, employee_id, detector, finding_id""",
        {} if employees is None else {"employees": employees},
    )
    names = [d[0] for d in cur.description]
    return [Finding(**dict(zip(names, row, strict=True))) for row in cur.fetchall()]


def _basis(cfg: DetectionConfig, departs: dict[str, dt.date]) -> str:
    """What scoring reads besides the findings, as a fingerprint."""
    encoded = msgspec.json.encode([cfg.risk, cfg.suppressions, sorted(departs.items())])
    return hashlib.sha256(encoded).hexdigest()[:16]


def _alert_count(con) -> int:
    return int(con.execute("SELECT count(DISTINCT alert_id) FROM alerts").fetchone()[0])


def _mark_suppressed(con, cfg, before, employees, suppressed: dict[str, str]) -> None:
    """A rewritten finding comes back unmarked; the rescored employees' marks come from
    scoring. A rewritten finding of someone not rescored is unchanged: its mark is
    recomputed from the suppressions alone."""
    if employees is None:
        con.execute("UPDATE findings SET suppressed_by = NULL")
    elif cfg.suppressions and before.since is not None:
        rewritten = con.execute(
            "SELECT finding_id, employee_id, detector, time FROM findings "
            "WHERE day >= ? AND NOT list_contains(?, employee_id)",
            [before.since, employees],
        ).fetchall()
        for fid, emp, detector, time in rewritten:
            if reason := suppression_of(cfg, emp, detector, time):
                suppressed[fid] = reason
    if suppressed:
        con.executemany(
            "UPDATE findings SET suppressed_by = ? WHERE finding_id = ?",
            [(reason, fid) for fid, reason in suppressed.items()],
        )


def _replace_lines(store: Store, employees: list[str] | None, history: list[Alert]) -> list[Alert]:
    """Replace the lines of ``employees`` (None: all) with ``history``; the lines that are
    new or differ from the stored ones."""
    con = store.con
    where = "TRUE" if employees is None else "list_contains($employees, employee_id)"
    params = {} if employees is None else {"employees": employees}
    cur = con.execute(f"SELECT {', '.join(_ALERT_COLUMNS)} FROM alerts WHERE {where}", params)
    stored = [Alert(**dict(zip(_ALERT_COLUMNS, row, strict=True))) for row in cur.fetchall()]
    old = {(a.alert_id, a.revision): a for a in stored}
    changed = [a for a in history if old.get((a.alert_id, a.revision)) != a]
    con.execute(f"DELETE FROM alerts WHERE {where}", params)
    if history:
        cols = ", ".join(_ALERT_COLUMNS)
        rows = pa.Table.from_pylist([msgspec.structs.asdict(a) for a in history])
        con.register("new_history", rows)
        try:
            con.execute(f"INSERT INTO alerts ({cols}) SELECT {cols} FROM new_history")
        finally:
            con.unregister("new_history")
    return sorted(changed, key=lambda a: (a.detected_at, a.alert_id, a.revision))
