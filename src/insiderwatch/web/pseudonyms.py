"""Staff as pseudonyms in the API: the deployment's pseudonym (``privacy.pseudonyms``,
the same one alert messages carry), which nobody without the hashing key can map back to
a person. Who is behind a pseudonym is only resolved inside the service (to serve a
timeline), never answered."""

from __future__ import annotations

import threading

from insiderwatch.privacy import HashKey
from insiderwatch.privacy.pseudonyms import pseudonym
from insiderwatch.store.duckdb_store import Store


class Pseudonyms:
    def __init__(self, key: HashKey) -> None:
        self.key = key
        self._known: dict[str, str] = {}  # pseudonym -> employee id
        self._lock = threading.Lock()

    def of(self, employee_id: str) -> str:
        return pseudonym(self.key, employee_id)

    def resolve(self, reader: Store, pseudonym: str) -> str | None:
        """The employee behind a pseudonym (the roster is rescanned on a miss)."""
        with self._lock:
            if pseudonym not in self._known:
                ids = reader.con.execute("SELECT employee_id FROM employees").fetchall()
                self._known = {self.of(e): e for (e,) in ids}
            return self._known.get(pseudonym)
