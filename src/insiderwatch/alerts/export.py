"""Reading the alert history from the store in the contract's format, and alerts.jsonl."""

from __future__ import annotations

from pathlib import Path

import msgspec

from insiderwatch.contract import Alert
from insiderwatch.contract.runs import ExplainedShare
from insiderwatch.detect.reasons import LOGIN, describe
from insiderwatch.store.duckdb_store import Store

_FIELDS = tuple(f.name for f in msgspec.structs.fields(Alert))


def _select(store: Store, where: str, order: str, limit: int | None = None) -> list[Alert]:
    if not store.has_table("alerts"):
        return []
    sql = f"SELECT {', '.join(_FIELDS)} FROM alerts {where} ORDER BY {order}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    cur = store.con.execute(sql)
    return [Alert(**dict(zip(_FIELDS, row, strict=True))) for row in cur.fetchall()]


def read_alerts(store: Store, limit: int | None = None) -> list[Alert]:
    """Each alert as it stands now (its last line), ranked by score (highest first), then
    by detection time."""
    return _select(
        store,
        "QUALIFY revision = max(revision) OVER (PARTITION BY alert_id)",
        "score DESC, detected_at, alert_id",
        limit,
    )


def read_alert_history(store: Store, where: str = "") -> list[Alert]:
    """Every line of the alert history (or those ``where``, a SQL condition on ``alerts``),
    in the order it happened."""
    return _select(store, f"WHERE {where}" if where else "", "detected_at, alert_id, revision")


def evidence_after_detection(store: Store) -> int:
    """History lines citing an event later than their own ``detected_at`` (must be 0)."""
    if not store.has_table("alerts"):
        return 0
    return int(
        store.scalar(
            """SELECT count(*) FROM (
                 SELECT a.alert_id, a.revision FROM alerts a, unnest(a.event_ids) AS u(event_id)
                 JOIN access x ON x.event_id = u.event_id
                 GROUP BY a.alert_id, a.revision, a.detected_at
                 HAVING max(x.time) > a.detected_at)"""
        )
    )


def write_alerts_jsonl(alerts: list[Alert], path: Path) -> None:
    """One history line per line; written beside then renamed, so a reader never sees half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    encoder = msgspec.json.Encoder()
    with partial.open("wb") as fh:
        for alert in alerts:
            fh.write(encoder.encode(alert) + b"\n")
    partial.replace(path)


def explained_share(store: Store) -> list[ExplainedShare]:
    """Per role: data accesses (logins excluded) and how many a reason explained."""
    if not store.has_table("access_explained"):
        return []
    rows = store.con.execute(
        """SELECT role, coalesce(explanation, '') AS reason, count(*)
           FROM access_explained WHERE explanation IS DISTINCT FROM ?
           GROUP BY ALL ORDER BY role""",
        [LOGIN],
    ).fetchall()
    per_role: dict[str, dict[str, int]] = {}
    for role, reason, n in rows:
        per_role.setdefault(role or "", {})[reason] = n
    out = []
    for role, reasons in per_role.items():
        total = sum(reasons.values())
        unexplained = reasons.pop("", 0)
        out.append(
            ExplainedShare(
                role=role,
                accesses=total,
                explained=total - unexplained,
                by_reason=reasons,
                meanings={name: describe(name) for name in reasons},
            )
        )
    return sorted(out, key=lambda s: -s.accesses)
