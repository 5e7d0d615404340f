"""Who saw the leaked customers' leaked details, and how many customers each person sees.

An employee is *exposed* to a leaked customer when, before the leak was found, an event
of theirs showed that customer (viewed directly or listed in a search result) with at
least one of the field categories the leak holds for them: a leaked phone number
implicates those who saw ``phone``. Lists found outside are often merged from several
sources, so seeing one of a row's leaked details is enough. A customer matched by id
only (no category) implicates everyone who saw them at all.

One scan of the events answers both questions: the exposures to the leaked customers,
and each employee's *reach* (distinct customers whose details of those kinds they saw),
which the guilt model needs to tell a specific match from a coincidence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa

from insiderwatch.canary.plan import has_plans
from insiderwatch.investigate.matching import LeakMatch
from insiderwatch.store.duckdb_store import Store


@dataclass(frozen=True)
class Exposure:
    pairs: pa.Table  # employee_id, customer_id, first_seen, last_seen (planted canaries too)
    reach: dict[str, int]  # employee_id -> distinct customers seen (approximate)
    population: int  # customers holding a leaked kind of detail (a random row is one of them)
    staff: int  # employees on the roster (the prior over who leaked)


def exposure(store: Store, match: LeakMatch, found_at: datetime | None) -> Exposure:
    con = store.con
    con.register("_leaked", match.customers.select(["customer_id", "categories"]))
    try:
        before = "AND time < $found_at" if found_at is not None else ""
        # One list_contains per category is about twice as fast as list_has_any here.
        categories = {f"c{i}": c for i, c in enumerate(match.categories)}
        shows = " OR ".join(f"list_contains(fields, ${name})" for name in categories) or "FALSE"
        if match.by_id_only:
            shows = "TRUE"
        # One GROUP BY over (employee, leaked customer or NULL): the NULL group's distinct
        # count plus the employee's leaked groups is their reach. Cheaper than GROUPING
        # SETS, which updates a distinct-count sketch per (employee, customer) as well.
        # Exact, not approximate: for a service account that sees nearly everyone, a
        # sketch's few percent too low is enough to make a large random list look like
        # theirs.
        grouped = con.sql(
            f"""
            SELECT u.employee_id, l.customer_id,
                   min(u.time) AS first_seen, max(u.time) AS last_seen,
                   count(DISTINCT u.cid) FILTER (WHERE l.customer_id IS NULL) AS others
            FROM (
                SELECT employee_id, time, fields, unnest(customer_ids) AS cid
                FROM access
                WHERE ({shows}) {before}
            ) u
            LEFT JOIN _leaked l ON l.customer_id = u.cid
                 AND (len(l.categories) = 0 OR list_has_any(u.fields, l.categories))
            GROUP BY u.employee_id, l.customer_id
            """,
            params=categories | ({"found_at": found_at} if found_at is not None else {}),
        ).to_arrow_table()
        con.register("_grouped", grouped)
        pairs = con.sql(
            f"""
            SELECT employee_id, customer_id, min(first_seen) AS first_seen,
                   max(last_seen) AS last_seen
            FROM (
                SELECT employee_id, customer_id, first_seen, last_seen FROM _grouped
                WHERE customer_id IS NOT NULL
                {_planted_sql(store, found_at)}
            )
            GROUP BY ALL ORDER BY employee_id, customer_id
            """
        ).to_arrow_table()
        reach = dict(
            con.execute(
                "SELECT employee_id, sum(others) + count(customer_id) FROM _grouped GROUP BY 1"
            ).fetchall()
        )
        population = int(store.scalar(
            f"SELECT count(*) FROM customers WHERE "
            f"{'TRUE' if match.by_id_only else _holds_detail(match.categories)}"
        ))  # fmt: skip
        staff = int(store.scalar("SELECT count(*) FROM employees"))
    finally:
        con.unregister("_leaked")
        con.unregister("_grouped")
    return Exposure(pairs=pairs, reach=reach, population=max(population, 1), staff=max(staff, 1))


def _holds_detail(categories: list[str]) -> str:
    """Customers who could be on a list of these kinds of details at all: a list of emails
    is drawn from the customers who have an email, not from everyone."""
    tests = {"email": "email_hash IS NOT NULL", "phone": "phone_hash IS NOT NULL"}
    if not categories or any(c not in tests for c in categories):
        return "TRUE"
    return " OR ".join(tests[c] for c in categories)


def _planted_sql(store: Store, found_at: datetime | None) -> str:
    """Planted canaries count as seen by their holders from the day they were planted."""
    if not has_plans(store):
        return ""
    when = "" if found_at is None else f"AND p.planted_at < TIMESTAMPTZ '{found_at.isoformat()}'"
    return f"""
        UNION ALL
        SELECT h.employee_id, h.customer_id, p.planted_at, p.planted_at
        FROM canary_holders h JOIN canary_decoys d USING (customer_id)
        JOIN canary_plans p USING (plan_id)
        WHERE h.customer_id IN (SELECT customer_id FROM _leaked) {when}
    """
