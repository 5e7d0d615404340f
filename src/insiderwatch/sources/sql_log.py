"""What database audit logs share: a logged statement becomes an access event.

The adapters (pgaudit, MariaDB server_audit) only split their log format into who,
when, from where and which statement; this turns a statement into the contract's event
or counts why it is not one (the database's own work, monitoring, no customer data).
"""

from __future__ import annotations

import re

from insiderwatch.sources.kinds import LogSource, SourceOptions
from insiderwatch.sources.rows import STATEMENT, RowBuffer
from insiderwatch.sources.sql_access import Dialect, StatementReader

_ACTIONS = {"write": "update", "export": "export", "copy": "copy"}
_ZONE = re.compile(r"^(?P<when>\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?) ?(?P<zone>\S*)$")


def iso_time(text: str) -> str:
    """A log time as ISO 8601. UTC and numeric offsets convert; a zone name is left as
    written, so the event is rejected with a time error rather than shifted by a guess
    (set the server's log time zone to UTC)."""
    m = _ZONE.match(text.strip())
    if not m:
        return text
    zone = m["zone"]
    if zone in ("", "UTC", "GMT", "Z"):
        return m["when"].replace(" ", "T") + "Z"
    if re.fullmatch(r"[+-]\d\d(:?\d\d)?", zone):
        return m["when"].replace(" ", "T") + zone
    return text


class SqlLogSource(LogSource):
    dialect: Dialect = "postgres"

    def __init__(self, options: SourceOptions | None = None) -> None:
        super().__init__(options)
        self.statements = StatementReader(self.options.sql_map, self.dialect)

    # Audit rows are built one by one as Python objects; smaller batches bound memory.
    ROW_BATCH = 100_000

    @property
    def batch_rows(self) -> int:
        return max(1, min(self.options.batch_rows, self.ROW_BATCH))

    def new_buffer(self) -> RowBuffer:
        return RowBuffer("access", extra=(STATEMENT,))

    def emit(
        self,
        buffer: RowBuffer,
        line: int,
        *,
        event_id: str,
        time: str,
        user: str,
        statement: str,
        command: str = "",
        table: str = "",
        relations: tuple[str, ...] = (),
        app: str = "",
        src_ip: str = "",
        rows: int | None = None,
    ) -> None:
        if app in self.options.internal_apps:
            self.skipped["monitoring"] += 1
            return
        access = self.statements.read(statement, command, table, relations)
        analysis = access.analysis
        if analysis.internal:
            self.skipped["internal"] += 1
            return
        if not access.customer_data or analysis.operation == "other":
            self.skipped["not_customer_data"] += 1
            return
        if analysis.operation == "read":
            action = "view" if analysis.id_predicate else "search"
        else:
            action = _ACTIONS[analysis.operation]
        if analysis.aggregate_only:
            rows = 0  # counted, not shown
        elif action == "export" and not rows:
            rows = None  # COPY ... TO STDOUT logs 0 rows: unknown, not none
        self.fingerprints.setdefault(analysis.fingerprint, analysis.text)
        buffer.add(
            line,
            {
                "event_id": event_id,
                "time": time,
                # No user in the log (a prefix without %u): rejected as employee_id:missing.
                "employee_id": self.options.identities.resolve(self.kind, user, time)
                if user
                else None,
                "action": action,
                "customer_ids": ";".join(access.customer_ids),
                "fields": "" if analysis.aggregate_only else ";".join(analysis.fields),
                "record_count": None if rows is None else str(rows),
                "app": app or self.kind,
                "src_ip": src_ip,
                "destination": "local" if action == "export" else None,
                STATEMENT: analysis.fingerprint,
            },
        )
