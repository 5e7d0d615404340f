"""Match the hashed rows of a leak to customers (and to planted canaries).

A row matches through its email hash, phone hash or customer id; a row with none of
those matched falls back to surname and postcode, but only when exactly one customer has that pair (a common
surname in a dense postcode names nobody). A row that matches several customers (a
household phone, an email of one and a phone of another) spreads its weight over them.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from insiderwatch.canary.plan import has_plans
from insiderwatch.investigate.leak import LeakReading
from insiderwatch.store.duckdb_store import Store

# The field categories of the access contract a kind of match shows the leaker saw. A
# customer id says nothing of which details went out: anyone who saw the customer at all
# saw it (an empty list, which exposure.py reads as any field).
CATEGORIES = {"email": ["email"], "phone": ["phone"], "name": ["name", "address"], "id": []}


@dataclass(frozen=True)
class LeakMatch:
    # customer_id, weight (1, or 1/k for a row matching k customers), categories (list),
    # is_canary, first_row (of the leak file)
    customers: pa.Table
    matched_one: int
    matched_several: int
    matched_none: int

    @property
    def categories(self) -> list[str]:
        """Every field category some matched row leaked."""
        flat = self.customers["categories"].combine_chunks().flatten().to_pylist()
        return sorted(set(flat))

    @property
    def by_id_only(self) -> bool:
        """Some customer matched by customer id alone: which details went out is unknown."""
        lengths = self.customers["categories"].combine_chunks().value_lengths()
        return bool(len(lengths)) and pc.min(lengths).as_py() == 0


def _identities(store: Store) -> str:
    decoys = (
        " UNION SELECT customer_id, email_hash, phone_hash FROM canary_decoys"
        if has_plans(store)
        else ""
    )
    return f"SELECT customer_id, email_hash, phone_hash FROM customers{decoys}"


def _canaries(store: Store) -> str:
    planted = " UNION SELECT customer_id FROM canary_decoys" if has_plans(store) else ""
    return f"SELECT customer_id FROM canaries{planted}"


def match_leak(store: Store, reading: LeakReading) -> LeakMatch:
    con = store.con
    con.register("_leak", reading.rows)
    try:
        hits = con.sql(
            f"""
            WITH ids AS ({_identities(store)}),
            hashed AS (
                SELECT l.row_no, i.customer_id, 'email' AS kind
                FROM _leak l JOIN ids i ON i.email_hash = l.email_hash
                UNION ALL
                SELECT l.row_no, i.customer_id, 'phone'
                FROM _leak l JOIN ids i ON i.phone_hash = l.phone_hash
                UNION ALL
                SELECT l.row_no, i.customer_id, 'id'
                FROM _leak l JOIN ids i ON i.customer_id = l.customer_id
            ),
            by_name AS (
                SELECT l.row_no, any_value(c.customer_id) AS customer_id, 'name' AS kind
                FROM _leak l JOIN customers c
                  ON lower(c.surname) = l.surname
                 AND upper(replace(c.postcode, ' ', '')) = l.postcode
                WHERE l.row_no NOT IN (SELECT row_no FROM hashed)
                GROUP BY l.row_no HAVING count(*) = 1
            )
            SELECT * FROM hashed UNION ALL SELECT * FROM by_name
            """
        ).to_arrow_table()
        con.register("_hits", hits)
        per_row = dict(
            con.execute(
                "SELECT n, count(*) FROM (SELECT row_no, count(DISTINCT customer_id) AS n "
                "FROM _hits GROUP BY row_no) GROUP BY n"
            ).fetchall()
        )
        customers = con.sql(
            f"""
            WITH rows AS (SELECT row_no, count(DISTINCT customer_id) AS k FROM _hits GROUP BY 1)
            SELECT h.customer_id, max(1.0 / r.k) AS weight,
                   list_sort(list_distinct(flatten(list({_category_list("h.kind")})))) AS categories,
                   h.customer_id IN ({_canaries(store)}) AS is_canary,
                   min(h.row_no) AS first_row
            FROM _hits h JOIN rows r USING (row_no)
            GROUP BY h.customer_id ORDER BY first_row, h.customer_id
            """
        ).to_arrow_table()
    finally:
        con.unregister("_leak")
        con.unregister("_hits")
    matched_rows = sum(per_row.values())
    return LeakMatch(
        customers=customers,
        matched_one=int(per_row.get(1, 0)),
        matched_several=int(matched_rows - per_row.get(1, 0)),
        matched_none=reading.rows.num_rows - int(matched_rows),
    )


def _category_list(kind: str) -> str:
    cases = " ".join(f"WHEN '{k}' THEN {v!r}::VARCHAR[]" for k, v in CATEGORIES.items())
    return f"CASE {kind} {cases} END"
