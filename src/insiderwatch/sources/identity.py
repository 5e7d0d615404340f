"""Who is behind a log identity: database roles and app user names -> employee ids.

The map is a CSV file with columns ``identity,employee_id``; an identity may be
qualified with the source kind (``pgaudit:alice``) to map the same name differently per
source. An identity without a mapping is kept as an identity of its own
(``<kind>:<name>``), registered on the roster as ``unmapped`` and listed after ingest:
rejecting its events would hide exactly the accounts nobody owns.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from insiderwatch.errors import ConfigError, Location

UNMAPPED_ROLE = "unmapped"


class IdentityMap:
    def __init__(self, mapping: dict[str, str] | None = None) -> None:
        self._map = dict(mapping or {})
        self.unmapped: Counter[str] = Counter()  # employee ids made up, with event counts
        self.first_seen: dict[str, str] = {}  # made-up id -> ISO time of its first event

    @classmethod
    def from_csv(cls, path: Path | None) -> IdentityMap:
        if path is None:
            return cls()
        try:
            with path.open(newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                missing = {"identity", "employee_id"} - set(reader.fieldnames or [])
                if missing:
                    raise ConfigError(
                        f"missing column(s) {', '.join(sorted(missing))}",
                        Location(file=str(path), row=1),
                    )
                mapping = {}
                for row in reader:
                    identity = (row["identity"] or "").strip()
                    employee = (row["employee_id"] or "").strip()
                    if not identity or not employee:
                        field = "identity" if not identity else "employee_id"
                        raise ConfigError(
                            "empty value", Location(str(path), reader.line_num, field)
                        )
                    mapping[identity] = employee
        except OSError as exc:
            raise ConfigError(f"cannot read identity map: {exc}", Location(str(path))) from None
        return cls(mapping)

    def resolve(self, kind: str, name: str, time: str = "", events: int = 1) -> str:
        """The employee id for ``name`` as logged by source ``kind`` (in ``events``
        events, the first at ``time``)."""
        found = self._map.get(f"{kind}:{name}") or self._map.get(name)
        if found:
            return found
        own = f"{kind}:{name}"
        self.unmapped[own] += events
        if time and own not in self.first_seen:
            self.first_seen[own] = time
        return own
