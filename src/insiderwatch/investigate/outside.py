"""Sources outside the staff that hold the leaked customers, as guilt-model hypotheses.

Every seller is one: its customer base is everyone who ordered from it before the leak
was found (the ``orders`` table). So is every imported list (``outside_lists.py``:
earlier breaches, customers public by their own choice, a partner's share) and every
partner or processor of the configured file (``outside_map.py``). One query gathers
each source's size and the leaked customers it holds. Canaries never belong to an
outside source: the security team controls them, and a decoy's "orders" are props.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import numpy as np

from insiderwatch.errors import InsiderwatchError
from insiderwatch.investigate.guilt import OutsideSets
from insiderwatch.investigate.matching import LeakMatch
from insiderwatch.investigate.outside_lists import has_lists, members_sql
from insiderwatch.investigate.outside_map import MappedSource
from insiderwatch.store.duckdb_store import Store

OUTSIDE_KINDS = ("seller", "partner", "processor", "breach", "public")


@dataclass(frozen=True)
class Outside:
    sets: OutsideSets
    per_kind: dict[str, int]  # sources considered, by kind


def outside_sets(
    store: Store,
    match: LeakMatch,
    found_at: datetime | None,
    mapped: Sequence[MappedSource] = (),
) -> Outside:
    con = store.con
    ids = match.customers["customer_id"].to_pylist()
    before = "$found_at" if found_at is not None else None
    parts = [
        "SELECT seller_id AS source, 'seller' AS kind, customer_id FROM orders"
        + (" WHERE ordered_at < $found_at" if before else "")
    ]
    if has_lists(store):
        parts.append(members_sql(before))
    registered = []
    for n, source in enumerate(mapped):
        parts.append(_mapped_sql(store, n, source, registered))
    con.register("_leaked_ids", match.customers.select(["customer_id"]))
    try:
        rows = con.execute(
            f"""
            WITH members AS (
                SELECT DISTINCT source, kind, customer_id FROM ({" UNION ALL ".join(parts)})
                WHERE customer_id NOT IN (SELECT customer_id FROM canaries)
            )
            SELECT source, kind, count(*) AS size,
                   list(customer_id) FILTER (WHERE customer_id IN
                        (SELECT customer_id FROM _leaked_ids)) AS hits
            FROM members GROUP BY ALL ORDER BY kind, source
            """,
            {"found_at": found_at} if before else {},
        ).fetchall()
    except duckdb.Error as exc:  # only a configured query can fail here
        raise InsiderwatchError(f"an outside source's query failed: {exc}") from None
    finally:
        con.unregister("_leaked_ids")
        for name in registered:
            con.unregister(name)
    return _as_sets(rows, {c: i for i, c in enumerate(ids)})


def _mapped_sql(store: Store, n: int, source: MappedSource, registered: list[str]) -> str:
    name = source.name.replace("'", "''")
    if source.customers is not None:
        table = f"_mapped_{n}"
        store.con.register(table, source.customers)
        registered.append(table)
        body = f"SELECT customer_id FROM {table}"
    else:
        body = str(source.query)
    return f"SELECT '{name}' AS source, '{source.kind}' AS kind, customer_id FROM ({body})"


def _as_sets(rows: list[tuple], index: dict[str, int]) -> Outside:
    per_kind = dict.fromkeys(OUTSIDE_KINDS, 0)
    names, kinds, sizes, src, cust = [], [], [], [], []
    for source, kind, size, hits in rows:
        per_kind[kind] = per_kind.get(kind, 0) + 1
        if not hits:
            continue  # holds none of the list: scores below the null, never named
        number = len(names)
        names.append(str(source))
        kinds.append(kind)
        sizes.append(size)
        src += [number] * len(hits)
        cust += [index[c] for c in hits]
    sets = OutsideSets(
        names=names,
        kinds=kinds,
        src=np.asarray(src, dtype=np.int64),
        cust=np.asarray(cust, dtype=np.int64),
        size=np.asarray(sizes, dtype=float),
        considered=len(rows),
    )
    return Outside(sets, per_kind)
