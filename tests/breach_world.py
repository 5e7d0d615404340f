"""A hand-built company with one insider, whose breach scope is known exactly.

``spy`` (the insider) and ``peer`` are support agents; ``spy`` has one open case, about
``c1``. Customers ``c1`` .. ``c6``. What ``spy`` did (all in September 2026):

======  ======  =====================  =========================  =======================
event   day     action (destination)   customers: fields          scope
======  ======  =====================  =========================  =======================
s01     3       view                   c1: name, email            explained by the case
s02     4       view                   c2: name, email, phone     c2 viewed
s03     4       search                 c3, c4: name, phone        c3, c4 viewed
s04     5       export (personal_email) c3: name, email           c3 name, email taken out
s05     6       print (printer)        c5: address                c5 address taken out
s06     6       login                  (none)                     not data access
s07     12      view                   c6: payment                after --to (day 10)
======  ======  =====================  =========================  =======================

``peer`` viewed c2 on day 4 (someone else: never in spy's scope). The customer system
places c1, c2 in Germany, c3 in Colorado, c4 in France, c5 in Spain and c6 in Florida.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sample_data import UTC, write_table

CUSTOMERS = ("c1", "c2", "c3", "c4", "c5", "c6")
WINDOW_END = dt.datetime(2026, 9, 10, tzinfo=UTC)


def at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 9, day, hour, tzinfo=UTC)


def _ev(eid, day, who, action, customers, fields, destination=None) -> dict[str, Any]:
    return {"event_id": eid, "time": at(day), "employee_id": who, "action": action,
            "customer_ids": customers, "fields": fields, "destination": destination,
            "app": "crm"}  # fmt: skip


EVENTS = [
    _ev("s01", 3, "spy", "view", ["c1"], ["name", "email"]),
    _ev("s02", 4, "spy", "view", ["c2"], ["name", "email", "phone"]),
    _ev("s03", 4, "spy", "search", ["c3", "c4"], ["name", "phone"]),
    _ev("s04", 5, "spy", "export", ["c3"], ["name", "email"], "personal_email"),
    _ev("s05", 6, "spy", "print", ["c5"], ["address"], "printer"),
    _ev("s06", 6, "spy", "login", [], []),
    _ev("s07", 12, "spy", "view", ["c6"], ["payment"]),
    _ev("p01", 4, "peer", "view", ["c2"], ["name", "email"]),
]

# What the scope of spy up to WINDOW_END must be, derived by hand from the table above.
EXPECTED = {
    "c2": {"fields": ["email", "name", "phone"], "taken_out": [], "events": ["s02"]},
    "c3": {"fields": ["email", "name", "phone"], "taken_out": ["email", "name"],
           "events": ["s03", "s04"]},
    "c4": {"fields": ["name", "phone"], "taken_out": [], "events": ["s03"]},
    "c5": {"fields": ["address"], "taken_out": ["address"], "events": ["s05"]},
}  # fmt: skip

# The company's customer system: contact details never ingested into the store.
CONTACTS = [
    {"customer_id": "c1", "name": "Anna Weber", "email": "anna@example.de", "country": "DE",
     "region": "", "locale": "de", "address": "Hauptstr. 1, Berlin"},
    {"customer_id": "c2", "name": "Bernd Vogel", "email": "bernd@example.de", "country": "DE",
     "region": "", "locale": "de", "address": "Ringweg 2, Köln"},
    {"customer_id": "c3", "name": "Carla Diaz", "email": "carla@example.com", "country": "US",
     "region": "CO", "locale": "en", "address": "3 Elm St, Denver CO"},
    {"customer_id": "c4", "name": "Denis Roux", "email": "denis@example.fr", "country": "FR",
     "region": "", "locale": "fr", "address": "4 rue Haute, Lyon"},
    {"customer_id": "c5", "name": "Elena Ruiz", "email": "elena@example.es", "country": "ES",
     "region": "", "locale": "es", "address": "Calle 5, Madrid"},
    {"customer_id": "c6", "name": "Frank Moss", "email": "frank@example.com", "country": "US",
     "region": "FL", "locale": "en", "address": "6 Bay Rd, Miami FL"},
]  # fmt: skip


def email(customer: str) -> str:
    """The email ingest hashes (the customer system's own contact email may differ)."""
    return f"{customer}@shop-customers.example"


def write_world(folder: Path) -> Path:
    staff = [{"employee_id": e, "role": "cs_agent", "team": "t1", "hired_on": dt.date(2024, 1, 1)}
             for e in ("spy", "peer")]  # fmt: skip
    customers = [{"customer_id": c, "surname": f"S{c}", "postcode": "X1", "email": email(c)}
                 for c in CUSTOMERS]  # fmt: skip
    cases = [{"case_id": "k1", "customer_id": "c1", "employee_id": "spy",
              "opened_at": at(3, 9), "channel": "phone"}]  # fmt: skip
    write_table(folder, "employees", staff, "parquet")
    write_table(folder, "customers", customers, "parquet")
    write_table(folder, "cases", cases, "parquet")
    write_table(folder, "access", EVENTS, "jsonl")
    return folder


def write_contacts(path: Path) -> Path:
    """The customer system's export, as CSV or Parquet (by the file's suffix)."""
    table = pa.Table.from_pylist(CONTACTS)
    if path.suffix == ".parquet":
        pq.write_table(table, path)
    else:
        pacsv.write_csv(table, path)
    return path
