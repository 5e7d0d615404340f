"""MariaDB (and MySQL with the MariaDB plugin) server_audit log.

Each line is ``time,serverhost,user,host,connection id,query id,operation,database,
object,return code``. QUERY lines carry the statement (quoted, with ``\\'`` and ``\\n``
escapes) and become events. The TABLE lines (READ, WRITE ...) that accompany them name
the same tables and are counted; when the server logs TABLE events only, each query's
READ/WRITE lines become its event. Statements a trigger ran are logged before the
statement that fired them, with higher query ids: they are counted as ``trigger``, not
as the user's writes; those a procedure ran (under CALL) are the caller's access. The
log's times are the server's local time: run the server in UTC, as times without an
offset are read as UTC.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

from insiderwatch.errors import ConfigError
from insiderwatch.sources.follow import LineReader
from insiderwatch.sources.readers import RawBatch
from insiderwatch.sources.rows import RowBuffer
from insiderwatch.sources.sql_access import NOT_LOGGED
from insiderwatch.sources.sql_log import SqlLogSource

_UNESCAPE = re.compile(r"\\(.)")
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}
_TABLE_EVENTS = frozenset({"READ", "WRITE", "CREATE", "DROP", "ALTER", "RENAME"})
_TABLE_COMMANDS = {"READ": "SELECT", "WRITE": "UPDATE"}
_CALL = re.compile(r"\s*call\b", re.I)
# MariaDB's DATE_FORMAT specifiers that differ from Python's strptime.
_DATE_FORMAT = {"i": "%M", "s": "%S", "M": "%B", "T": "%H:%M:%S", "e": "%d", "c": "%m", "k": "%H"}


def strptime_format(date_format: str) -> str:
    """A server_audit_timestamp_format (DATE_FORMAT specifiers) as a strptime pattern."""
    pattern = re.sub(r"%(.)", lambda m: _DATE_FORMAT.get(m[1], m[0]), date_format)
    if not all(re.search(p, pattern) for p in ("%[Yy]", "%[mbB]", "%d", "%H", "%M")):
        raise ConfigError(
            f"mariadb_timestamp_format {date_format!r} lacks a date or time part "
            "(year, month, day, hour and minute are needed to place an event)"
        )
    return pattern


class _Line(NamedTuple):
    line: int
    time: str
    server: str
    user: str
    host: str
    connection: str
    query: int
    operation: str
    db: str
    rest: str


def _statement(text: str) -> str:
    if len(text) >= 2 and text[0] == "'" and text[-1] == "'":
        text = text[1:-1]
    return _UNESCAPE.sub(lambda m: _ESCAPES.get(m[1], m[1]), text)


class MariadbAuditSource(SqlLogSource):
    kind = "mariadb-audit"
    description = "MariaDB server_audit plugin log (QUERY events, or TABLE events alone)."
    dialect = "mysql"

    def read(self, reader: LineReader) -> Iterator[RawBatch]:
        pattern = strptime_format(self.options.mariadb_timestamp_format)
        self._time = lru_cache(maxsize=4096)(lambda text: _iso(text, pattern))
        self._queries_seen = False  # a log with QUERY lines: TABLE lines only accompany
        buffer, block = self.new_buffer(), []
        for text in reader:
            self.position = reader.position
            parsed = self._parse(buffer, reader.position.line, text.rstrip("\n"))
            if parsed:
                block.append(parsed)
            if len(block) + len(buffer) >= self.batch_rows:
                self._resolve(buffer, block)
                block = []
                if len(buffer):
                    yield buffer.flush()
        self._resolve(buffer, block)
        if len(buffer):
            yield buffer.flush()

    def _parse(self, buffer: RowBuffer, line: int, text: str) -> _Line | None:
        if not text.strip():
            return None
        parts = text.split(",", 8)
        time = self._time(parts[0]) if len(parts) == 9 else None
        if len(parts) < 9 or not time or not parts[4].isdigit():
            buffer.reject(line, "not a server_audit line (text withheld)")
            return None
        _, server, user, host, connection, query, operation, db, rest = parts
        if operation not in _TABLE_EVENTS and operation != "QUERY":
            self.skipped["connection"] += 1
            return None
        if operation == "QUERY":
            retcode = rest.rpartition(",")[2]
            if retcode.strip() not in ("", "0"):
                self.skipped["failed_statement"] += 1  # an error returned no data
                return None
        query_id = int(query) if query.isdigit() else 0
        return _Line(line, time, server, user, host, connection, query_id, operation, db, rest)

    def _resolve(self, buffer: RowBuffer, block: list[_Line]) -> None:
        """Events of one block of lines: the users' own statements, or TABLE groups."""
        queries = [x for x in block if x.operation == "QUERY"]
        tables = [x for x in block if x.operation != "QUERY"]
        self._queries_seen = self._queries_seen or bool(queries)
        if self._queries_seen and tables:
            self.skipped["table_event"] += len(tables)
        else:
            self._table_events(buffer, tables)
        for x in self._own_statements(queries):
            self._emit(buffer, x, _statement(x.rest.rpartition(",")[0]))

    def _own_statements(self, queries: list[_Line]) -> list[_Line]:
        """Queries the user ran (or a procedure they called ran), in log order."""
        open_by_connection: dict[str, list[_Line]] = {}
        own: list[_Line] = []
        for x in queries:
            stack = open_by_connection.setdefault(x.connection, [])
            inner = [p for p in stack if p.query > x.query]  # ran inside this statement
            if inner:
                stack[:] = [p for p in stack if p.query <= x.query]
                if _CALL.match(_statement(x.rest.rpartition(",")[0])):
                    own.extend(inner)
                else:
                    self.skipped["trigger"] += len(inner)
            stack.append(x)
        own.extend(x for stack in open_by_connection.values() for x in stack)
        return sorted(own, key=lambda x: x.line)

    def _table_events(self, buffer: RowBuffer, tables: list[_Line]) -> None:
        """TABLE-only logging: a query's READ/WRITE lines are its event."""
        groups: dict[tuple[str, int], list[_Line]] = {}
        for x in tables:
            if x.operation in _TABLE_COMMANDS:
                groups.setdefault((x.connection, x.query), []).append(x)
            else:
                self.skipped["table_event"] += 1  # CREATE/DROP/ALTER/RENAME: DDL
        for lines in groups.values():
            if len(lines) > 1:
                self.skipped["table_event"] += len(lines) - 1
            writes = any(x.operation == "WRITE" for x in lines)
            self._emit(
                buffer,
                lines[0],
                NOT_LOGGED,
                command=_TABLE_COMMANDS["WRITE" if writes else "READ"],
                relations=tuple(f"{x.db}.{x.rest.rstrip(',')}" for x in lines),
            )

    def _emit(
        self,
        buffer: RowBuffer,
        x: _Line,
        statement: str,
        command: str = "",
        relations: tuple[str, ...] = (),
    ) -> None:
        self.emit(
            buffer,
            x.line,
            event_id=self.event_id(x.server, x.connection, x.query, x.time),
            time=x.time,
            user=x.user,
            statement=statement,
            command=command,
            relations=relations,
            app="mariadb",
            src_ip="" if x.host == "localhost" else x.host,
        )


def _iso(text: str, pattern: str) -> str | None:
    """A logged time as ISO 8601 (no offset: the server's time, read as UTC)."""
    try:
        when = datetime.strptime(text.strip(), pattern)
    except ValueError:
        return None
    return when.isoformat(timespec="seconds")
