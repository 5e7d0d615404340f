"""MariaDB (and MySQL with the MariaDB plugin) server_audit log.

Each line is ``time,serverhost,user,host,connection id,query id,operation,database,
object,return code``. QUERY lines carry the statement (quoted, with ``\\'`` and ``\\n``
escapes) and become events; the TABLE lines (READ, WRITE ...) that accompany them name
the same tables the statement does and are counted, as are connects and failed
statements. The log's times are the server's local time: run the server in UTC, as
times without an offset are read as UTC.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from insiderwatch.sources.follow import LineReader
from insiderwatch.sources.readers import RawBatch
from insiderwatch.sources.rows import RowBuffer
from insiderwatch.sources.sql_log import SqlLogSource

_TIME = re.compile(r"^(\d{4})(\d\d)(\d\d) (\d\d:\d\d:\d\d)$")
_UNESCAPE = re.compile(r"\\(.)")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}
_TABLE_EVENTS = frozenset({"READ", "WRITE", "CREATE", "DROP", "ALTER", "RENAME"})


def _statement(text: str) -> str:
    if len(text) >= 2 and text[0] == "'" and text[-1] == "'":
        text = text[1:-1]
    return _UNESCAPE.sub(lambda m: _ESCAPES.get(m[1], m[1]), text)


class MariadbAuditSource(SqlLogSource):
    kind = "mariadb-audit"
    description = "MariaDB server_audit plugin log (QUERY events; TABLE events counted)."
    dialect = "mysql"

    def read(self, reader: LineReader) -> Iterator[RawBatch]:
        buffer = self.new_buffer()
        for text in reader:
            self.position = reader.position
            self._line(buffer, reader.position.line, text.rstrip("\n"))
            if len(buffer) >= self.batch_rows:
                yield buffer.flush()
        if len(buffer):
            yield buffer.flush()

    def _line(self, buffer: RowBuffer, line: int, text: str) -> None:
        if not text.strip():
            return
        parts = text.split(",", 8)
        when = _TIME.match(parts[0]) if parts else None
        if len(parts) < 9 or not when or not parts[4].isdigit():
            buffer.reject(line, "not a server_audit line (text withheld)")
            return
        _time, server, user, host, connection, query, operation, _db, rest = parts
        if operation in _TABLE_EVENTS:
            self.skipped["table_event"] += 1
            return
        if operation != "QUERY":
            self.skipped["connection"] += 1
            return
        statement, _, retcode = rest.rpartition(",")
        if retcode.strip() not in ("", "0"):
            self.skipped["failed_statement"] += 1  # an error returned no data
            return
        time = f"{when[1]}-{when[2]}-{when[3]}T{when[4]}"
        self.emit(
            buffer,
            line,
            event_id=self.event_id(server, connection, query, time),
            time=time,
            user=user,
            statement=_statement(statement),
            app="mariadb",
            src_ip="" if host == "localhost" else host,
        )
