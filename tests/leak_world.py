"""A hand-built company whose leaks have known answers, for attribution and canary tests.

100 customers ``cus000`` .. ``cus099``. Who saw whose contact details (by search results,
fields name, email, phone), all before ``FOUND``:

* ``leaker`` saw cus000-019 only;
* ``partner`` saw cus050-069 only;
* ``heavy`` saw every customer (a busy team lead: matches anything, proves nothing);
* ``late`` saw cus000-019, but only after the leak was found;
* ``blind`` saw cus000-019 with name and address only, never email or phone;
* ``n1`` .. ``n4`` each saw ten customers of their own (20s, 30s, 70s, 80s).

Customers 090-099 were seen by ``heavy`` alone, so they serve as noise rows.

Sellers (orders, all before ``FOUND``): ``S-123`` sold to cus020-049 (so ``n1`` and
``n2`` each saw a third of its base: the analyst of the story), ``S-200`` to cus070-074.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sample_data import UTC, write_table

FOUND = dt.datetime(2026, 9, 20, tzinfo=UTC)
STAFF = ("leaker", "partner", "heavy", "late", "blind", "n1", "n2", "n3", "n4")
CONTACT = ["name", "email", "phone"]


def email(i: int) -> str:
    return f"person{i:03d}@example.org"


def phone(i: int) -> str:
    return f"+44 7700 900{i:03d}"


def surname(i: int) -> str:
    return f"Okon{chr(97 + i // 10)}{chr(97 + i % 10)}"


def cid(i: int) -> str:
    return f"cus{i:03d}"


def customers() -> list[dict[str, Any]]:
    return [
        {"customer_id": cid(i), "surname": surname(i), "postcode": f"AB{i % 10} 1CD",
         "email": email(i), "phone": phone(i)}
        for i in range(100)
    ]  # fmt: skip


def _search(n: int, who: str, ids: range, day: int, fields: list[str]) -> dict[str, Any]:
    return {
        "event_id": f"ev{n:04d}",
        "time": dt.datetime(2026, 9, day, 10, n % 60, tzinfo=UTC),
        "employee_id": who,
        "action": "search",
        "customer_ids": [cid(i) for i in ids],
        "fields": fields,
    }


def access() -> list[dict[str, Any]]:
    seen = [
        ("leaker", range(0, 20), 3, CONTACT),
        ("partner", range(50, 70), 4, CONTACT),
        ("heavy", range(0, 50), 5, CONTACT),
        ("heavy", range(50, 100), 6, CONTACT),
        ("late", range(0, 20), 25, CONTACT),
        ("blind", range(0, 20), 7, ["name", "address"]),
        ("n1", range(20, 30), 8, CONTACT),
        ("n2", range(30, 40), 8, CONTACT),
        ("n3", range(70, 80), 9, CONTACT),
        ("n4", range(80, 90), 9, CONTACT),
    ]
    return [_search(n, who, ids, day, f) for n, (who, ids, day, f) in enumerate(seen)]


def employees() -> list[dict[str, Any]]:
    return [{"employee_id": e, "role": "cs_agent", "hired_on": dt.date(2020, 1, 1)} for e in STAFF]


SELLERS = {"S-123": range(20, 50), "S-200": range(70, 75)}


def orders() -> list[dict[str, Any]]:
    return [
        {"order_id": f"o-{seller}-{i:03d}", "customer_id": cid(i), "seller_id": seller,
         "ordered_at": dt.datetime(2026, 8, 1 + i % 28, 12, tzinfo=UTC)}
        for seller, ids in SELLERS.items()
        for i in ids
    ]  # fmt: skip


def write_world(folder: Path) -> Path:
    write_table(folder, "employees", employees(), "parquet")
    write_table(folder, "orders", orders(), "parquet")
    write_table(folder, "customers", customers(), "parquet")
    write_table(folder, "access", access(), "parquet")
    return folder
