"""Staff as pseudonyms: the roster seen through the deployment key.

Everything a person reads about staff (console, API, exports) names them by their keyed
pseudonym (``privacy.pseudonyms``). Who is behind one is looked up here, from the
roster, only for the service's own use (to serve a timeline) or for an unmasking that
``app.unmask`` has allowed.
"""

from __future__ import annotations

import threading

import msgspec

from insiderwatch.privacy import HashKey
from insiderwatch.privacy.pseudonyms import pseudonym
from insiderwatch.store.duckdb_store import Store


class Person(msgspec.Struct, frozen=True):
    employee_id: str
    display_name: str


class Roster:
    """Pseudonym -> person, from the employees table; rescanned on a miss (the roster
    grows while the service runs)."""

    def __init__(self, key: HashKey) -> None:
        self.key = key
        self._known: dict[str, Person] = {}
        self._lock = threading.Lock()

    def of(self, employee_id: str) -> str:
        return pseudonym(self.key, employee_id)

    def find(self, store: Store, name: str) -> Person | None:
        """The person behind pseudonym ``name``, or None."""
        with self._lock:
            if name not in self._known:
                rows = store.con.execute(
                    "SELECT employee_id, coalesce(display_name, '') FROM employees"
                ).fetchall()
                self._known = {self.of(e): Person(e, n) for e, n in rows}
            return self._known.get(name)

    def resolve(self, store: Store, name: str) -> str | None:
        """The employee id behind pseudonym ``name``, or None."""
        found = self.find(store, name)
        return found.employee_id if found else None
