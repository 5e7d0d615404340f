"""Log identities without a mapping: put on the roster as ``unmapped`` so their events
load (not rejected), and listed so someone adds them to the identity map."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pyarrow as pa

from insiderwatch.errors import InsiderwatchError
from insiderwatch.ingest.pipeline import load
from insiderwatch.privacy import HashKey
from insiderwatch.sources.identity import UNMAPPED_ROLE
from insiderwatch.sources.kinds import LogSource
from insiderwatch.sources.readers import ROW, RawBatch
from insiderwatch.store import Store


def register_unmapped(
    store: Store, key: HashKey, source: LogSource, raw: RawBatch, origin: str
) -> None:
    """Put identities without a mapping on the roster, so their events load."""
    made_up = source.options.identities.first_seen
    kind = source.identity_kind
    if raw.data is None or not made_up or "employee_id" not in raw.data.column_names:
        return
    ids = {e for e in raw.data["employee_id"].to_pylist() if e in made_up}
    known = {
        r[0]
        for r in store.con.execute(
            "SELECT employee_id FROM employees WHERE list_contains(?, employee_id)", [list(ids)]
        ).fetchall()
    }
    new = sorted(ids - known)
    if not new:
        return
    hired = [_first_day(made_up[e]) for e in new]
    batch = RawBatch(
        layout="columns",
        data=pa.table(
            {
                "employee_id": new,
                "display_name": [e.split(":", 1)[-1] for e in new],
                "role": [UNMAPPED_ROLE] * len(new),
                "team": [kind] * len(new),
                "hired_on": hired,
                ROW: pa.array(np.arange(1, len(new) + 1, dtype=np.int64)),
            }
        ),
        rows=len(new),
    )
    loaded = load(store, "employees", origin, f"{kind}:unmapped", key, [batch])
    if loaded.error:  # the events that name them would be rejected: fail their file
        raise InsiderwatchError(loaded.error)


def _first_day(time: str) -> str:
    try:
        return (
            datetime.fromisoformat(time.replace("Z", "+00:00")).astimezone(UTC).date().isoformat()
        )
    except ValueError:
        return date.today().isoformat()


def unmapped_identities(store: Store) -> list[dict]:
    """Identities kept without a mapping, with their events: who to add to the map."""
    rows = store.con.execute(
        f"""
        SELECT e.employee_id, e.team AS source, e.hired_on AS first_seen, count(a.event_id) AS events
        FROM employees e LEFT JOIN access a ON a.employee_id = e.employee_id
        WHERE e.role = '{UNMAPPED_ROLE}'
        GROUP BY ALL ORDER BY events DESC, e.employee_id
        """
    ).fetchall()
    return [{"identity": i, "source": s, "first_seen": str(f), "events": n} for i, s, f, n in rows]
