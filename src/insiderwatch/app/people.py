"""The console's people pages as use cases: an employee (by pseudonym) and a customer
("who looked at my data and why"). Each view is written to the audit log before the data
is read; staff are named by pseudonym unless the viewer holds an approved unmasking.

A customer can be found by an email or phone typed in: it is normalised and hashed with
the deployment key in memory, matched against the stored hashes, and never kept or
logged (the audit entry says what kind of value was typed, not the value).
"""

from __future__ import annotations

from insiderwatch.app.ops import record_read
from insiderwatch.app.staff import Roster
from insiderwatch.app.unmask import identity_for
from insiderwatch.contract.investigate import CustomerFile, EmployeePage
from insiderwatch.investigate.people import customer_file, customers_with, employee_profile
from insiderwatch.privacy import HashKey, normalize_email, normalize_phone
from insiderwatch.store.duckdb_store import Store
from insiderwatch.store.ops import OpsStore, audit


def employee_page(
    ops: OpsStore, store: Store, roster: Roster, viewer: str, pseudonym: str
) -> EmployeePage | None:
    """The employee page of ``pseudonym`` for ``viewer`` (None: nobody has it)."""
    person = roster.find(store, pseudonym)
    if person is None:
        return None
    record_read(ops, actor=viewer, subject_kind="employee", subject_id=person.employee_id,
                why="console employee page", detail={"pseudonym": pseudonym})  # fmt: skip
    profile = employee_profile(store, person.employee_id, roster.of)
    if profile is None:  # left the roster between the two reads
        return None
    shown = identity_for(ops, viewer, pseudonym, lambda p: roster.find(store, p))
    return EmployeePage(profile=profile, identity=shown)


def customer_page(
    ops: OpsStore, store: Store, roster: Roster, viewer: str, customer_id: str, *, limit: int = 500
) -> CustomerFile | None:
    """Who looked at ``customer_id``'s data and why (None: no such customer). The view is
    audited before anything is read."""
    if not store.scalar("SELECT count(*) FROM customers WHERE customer_id = ?", [customer_id]):
        return None
    record_read(ops, actor=viewer, subject_kind="customer", subject_id=customer_id,
                why="console customer page")  # fmt: skip
    return customer_file(store, customer_id, roster.of, limit=limit)


def find_customers(
    ops: OpsStore, store: Store, key: HashKey, viewer: str, typed: str, *, phone_region: str
) -> list[str]:
    """Customers a typed value names: their id, else an email, else a phone number
    (those two matched by keyed hash only). The search is audited without the value."""
    value = typed.strip()
    kind, found = "customer_id", []
    if value and store.scalar("SELECT count(*) FROM customers WHERE customer_id = ?", [value]):
        found = [value]
    elif (email := normalize_email(value)) is not None:
        kind, found = "email", customers_with(store, "email_hash", key.digest("email", email) or "")
    elif (phone := normalize_phone(value, phone_region)) is not None:
        kind, found = "phone", customers_with(store, "phone_hash", key.digest("phone", phone) or "")
    with ops.session() as s:
        audit.append(s, actor=viewer, action="customer.search", subject_kind="customer",
                     subject_id=",".join(found)[:128] or "none",
                     detail={"typed": kind, "matches": len(found)})  # fmt: skip
    return found
