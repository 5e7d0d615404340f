"""pgaudit, the PostgreSQL audit extension: csvlog and stderr log formats.

A pgaudit entry is a server log message ``AUDIT: SESSION,<statement id>,<substatement
id>,<class>,<command>,<object type>,<object>,<statement>,<parameter>[,<rows>]``. With
``pgaudit.log_relation`` one statement is logged once per table it touches, and an
OBJECT entry repeats a SESSION one; those repeats share the statement id and text and
become one event, which names every table logged. Other server messages are counted as
``not_audit`` and left alone.
"""

from __future__ import annotations

import csv
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from insiderwatch.sources.follow import LineReader
from insiderwatch.sources.readers import RawBatch
from insiderwatch.sources.rows import RowBuffer
from insiderwatch.sources.sql_log import SqlLogSource, iso_time

_AUDIT = "AUDIT: "
_SESSIONS = 100_000  # sessions whose current statement is remembered to fold repeats
# csvlog columns (PostgreSQL 13+; 14 and 15 append more, which are not needed here)
_TIME, _USER, _DB, _PID, _FROM, _SESSION, _MESSAGE, _APP, _BACKEND = 0, 1, 2, 3, 4, 5, 13, 22, 23

# log_line_prefix escapes -> regex; %q ends the part only session processes print.
_PREFIX = {
    "m": r"(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?(?: [A-Za-z0-9+:-]+)?)",
    "t": r"(?P<time>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?: [A-Za-z0-9+:-]+)?)",
    "p": r"(?P<pid>\d+)",
    "u": r"(?P<user>[^\s@]*)",
    "d": r"(?P<db>[^\s@]*)",
    "a": r"(?P<app>.*?)",
    "h": r"(?P<host>[^\s(]*)",
    "r": r"(?P<host>[^\s(]*)(?:\(\d+\))?",
    "c": r"(?P<session>[0-9a-f]+\.[0-9a-f]+)",
    "b": r"(?P<backend>[a-z][a-z ]*?)",
}


def prefix_regex(prefix: str) -> re.Pattern[str]:
    """Regex for log lines written with ``log_line_prefix = prefix``."""
    parts: list[str] = []
    used: set[str] = set()
    optional_from = None
    i = 0
    while i < len(prefix):
        ch = prefix[i]
        if ch == "%" and i + 1 < len(prefix):
            code = prefix[i + 1]
            i += 2
            if code == "q":
                optional_from = len(parts)
            elif code == "%":
                parts.append("%")
            elif code in _PREFIX:
                pattern = _PREFIX[code]
                name = re.search(r"\?P<(\w+)>", pattern)
                if name and name[1] in used:  # a second %m/%t: match, don't capture
                    pattern = pattern.replace(f"?P<{name[1]}>", "?:")
                elif name:
                    used.add(name[1])
                parts.append(pattern)
            else:
                parts.append(r"\S*?")  # other escapes: not needed, just skipped
            continue
        parts.append(re.escape(ch))
        i += 1
    if optional_from is not None:
        parts[optional_from:] = ["(?:" + "".join(parts[optional_from:]) + ")?"]
    return re.compile("^" + "".join(parts) + r"(?P<level>[A-Z0-9]+):  (?P<message>.*)$", re.S)


class _Record(NamedTuple):
    """The parts of a server log record an audit event needs."""

    time: str
    user: str
    pid: str
    host: str
    session: str
    message: str
    app: str
    backend: str


def _audit_fields(text: str) -> list[str]:
    """The fields of a pgaudit entry. pgaudit quotes a field only when it holds a comma,
    quote or newline (the statement, the object name or the parameter list); a line
    without quotes is split directly, which is several times faster than a CSV parser."""
    if '"' not in text:
        return text.split(",")
    try:
        return next(csv.reader([text]), [])
    except csv.Error:
        return []


@dataclass
class _Statement:
    """The first entry of one logged statement and every relation its repeats name."""

    line: int
    record: _Record
    entry: list[str]
    event_key: tuple[str, ...]
    relations: list[str] = field(default_factory=list)
    emitted: bool = False


class PgauditSource(SqlLogSource):
    kind = "pgaudit"
    description = "PostgreSQL pgaudit entries in the server's csvlog or stderr log."
    dialect = "postgres"

    def read(self, reader: LineReader) -> Iterator[RawBatch]:
        # session -> (statement id, {statement text checksum: statement}): a statement's
        # repeats follow each other within its session, before the session's next one.
        self._current: dict[str, tuple[str, dict[int, _Statement]]] = {}
        self._user_in_prefix = "%u" in self.options.log_line_prefix
        name = reader.path.name.lower()
        records = self._csv(reader) if ".csv" in name else self._stderr(reader)
        buffer = self.new_buffer()
        for line, fields in records:
            if fields is None:
                buffer.reject(line, "not a PostgreSQL log record (text withheld)")
            else:
                self._record(buffer, line, fields)
            if len(buffer) >= self.batch_rows:
                self._emit_pending(buffer)
                yield buffer.flush()
        self._emit_pending(buffer)
        if len(buffer):
            yield buffer.flush()

    # -- formats ----------------------------------------------------------------------
    def _csv(self, reader: LineReader) -> Iterator[tuple[int, _Record | None]]:
        base, previous = reader.position.line, 0
        rows = csv.reader(reader)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except csv.Error:
                if reader.bytes_done >= reader.size:
                    return  # a record still being written: read it next time
                row = None
            line, previous = base + previous + 1, rows.line_num
            self.position = reader.position
            if row is None or len(row) <= _APP:
                yield line, None
                continue
            yield (
                line,
                _Record(
                    row[_TIME],
                    row[_USER],
                    row[_PID],
                    row[_FROM].rsplit(":", 1)[0] if row[_FROM] != "[local]" else "",
                    row[_SESSION],
                    row[_MESSAGE],
                    row[_APP],
                    row[_BACKEND] if len(row) > _BACKEND else "client backend",
                ),
            )

    def _stderr(self, reader: LineReader) -> Iterator[tuple[int, _Record | None]]:
        pattern = prefix_regex(self.options.log_line_prefix)
        pending: tuple[int, list[str]] | None = None
        end = reader.position
        for text in reader:
            if text.startswith("\t") and pending:  # continuation of a multi-line message
                pending[1].append("\n" + text[1:].rstrip("\n"))
            else:
                if pending:
                    self.position = end
                    yield self._stderr_record(pattern, *pending)
                pending = (reader.position.line, [text.rstrip("\n")])
            end = reader.position
        if pending:
            self.position = end
            yield self._stderr_record(pattern, *pending)

    def _stderr_record(
        self, pattern: re.Pattern[str], line: int, parts: list[str]
    ) -> tuple[int, _Record | None]:
        m = pattern.match("".join(parts))
        if not m:
            return line, None
        found = m.groupdict()
        return line, _Record(
            found.get("time") or "",
            found.get("user") or "",
            found.get("pid") or "",
            found.get("host") or "",
            found.get("session") or "",
            # pgaudit.log_level may be any level (NOTICE, WARNING ...), not just LOG.
            found["message"],
            found.get("app") or "",
            found.get("backend") or self._stderr_backend(found),
        )

    def _stderr_backend(self, found: dict[str, str | None]) -> str:
        """A line without the user the prefix prints for sessions comes from a process
        that is no session (a parallel worker, autovacuum): not staff access."""
        return "background" if self._user_in_prefix and not found.get("user") else ""

    # -- one record -------------------------------------------------------------------
    def _record(self, buffer: RowBuffer, line: int, rec: _Record) -> None:
        message = rec.message
        if not message.startswith(_AUDIT):
            self.skipped["not_audit"] += 1
            return
        entry = _audit_fields(message[len(_AUDIT) :])
        if len(entry) < 9 or not entry[1].isdigit() or not entry[2].isdigit():
            buffer.reject(line, "malformed pgaudit entry (text withheld)")
            return
        if rec.backend not in ("", "client backend"):
            self.skipped["internal"] += 1  # autovacuum, parallel and background workers
            return
        statement_id, relation, text = entry[1], entry[6], entry[7]
        # Without a session id (a stderr prefix without %c) the backend's pid scopes the
        # statement ids; a new session on that pid restarts them, ending the current one.
        session = rec.session or f"{self.identity}:{rec.pid}"
        checksum = zlib.crc32(text.encode())
        current = self._current.get(session)
        if current is None or current[0] != statement_id:
            if current is not None:
                self._emit_statements(buffer, current[1].values())
            current = (statement_id, {})
            self._remember(buffer, session, current)
        statements = current[1]
        if checksum in statements:  # a per-relation or OBJECT repeat
            self.skipped["same_statement"] += 1
            statements[checksum].relations.append(relation)
            return
        # Without a session id the statement's first line names it (the ids of earlier
        # releases, so a re-read log is still recognised).
        named = session if rec.session else f"{session}:{line}"
        key = (named, statement_id, str(checksum))
        statements[checksum] = _Statement(line, rec, entry, key, [relation])

    def _remember(
        self, buffer: RowBuffer, session: str, current: tuple[str, dict[int, _Statement]]
    ) -> None:
        self._current.pop(session, None)
        self._current[session] = current  # insertion order: the longest idle first
        if len(self._current) > _SESSIONS:
            oldest = next(iter(self._current))
            self._emit_statements(buffer, self._current.pop(oldest)[1].values())

    def _emit_pending(self, buffer: RowBuffer) -> None:
        """Every statement not yet an event becomes one (before a batch is handed on);
        later repeats of it are still recognised and counted."""
        for _, statements in self._current.values():
            self._emit_statements(buffer, statements.values())

    def _emit_statements(self, buffer: RowBuffer, statements: Iterable[_Statement]) -> None:
        for st in statements:
            if st.emitted:
                continue
            st.emitted = True
            command, entry, rec = st.entry[4], st.entry, st.record
            if command.upper() == "PREPARE":
                self.skipped["prepare"] += 1  # defined, not run: its EXECUTE is logged
                continue
            rows = entry[9] if len(entry) > 9 else ""
            self.emit(
                buffer,
                st.line,
                event_id=self.event_id(*st.event_key),
                time=iso_time(rec.time),
                user=rec.user,
                statement=entry[7],
                command=command,
                table=entry[6],
                relations=tuple(r for r in dict.fromkeys(st.relations) if r),
                app=rec.app,
                src_ip=rec.host,
                rows=int(rows) if rows.isdigit() else None,
            )
