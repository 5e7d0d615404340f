"""Read a log line by line from a remembered position, like a log shipper.

A position is (byte offset, line number) just after the last complete line consumed.
Only whole lines are handed out: a last line without its newline is still being written,
so it is left for the next run. A position is only reused when the file is still the
one it was taken in: same first line, and the bytes just before the offset unchanged
(``position_check``). A CSV export rotated under the same header, a truncated log or a
replaced one fails the check and is read from the top (event ids derive from the
records, so nothing is counted twice). Gzip files are read through a decompressor; their
offsets count decompressed bytes.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, NamedTuple

from insiderwatch.errors import Location, UnreadableFileError


class Position(NamedTuple):  # a tuple: one is made per line read, so it must be cheap
    offset: int = 0  # bytes (decompressed for gzip) before the next line to read
    line: int = 0  # number of the last line consumed (the next line is line + 1)


START = Position()


def is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _open(path: Path) -> IO[bytes]:
    try:
        return gzip.open(path, "rb") if is_gzip(path) else path.open("rb")
    except OSError as exc:
        raise UnreadableFileError(f"cannot open: {exc}", Location(file=str(path))) from None


_IDENTITY_BYTES = 1 << 20


def file_identity(path: Path) -> str:
    """Fingerprint of the file's first complete line ('' while it has none)."""
    try:
        with _open(path) as fh:
            first = fh.readline(_IDENTITY_BYTES)  # bounded: a first line may be a gigabyte
    except (OSError, EOFError) as exc:  # a broken gzip header fails at the first read
        raise UnreadableFileError(f"cannot read: {exc}", Location(file=str(path))) from None
    if not first.endswith(b"\n") and len(first) < _IDENTITY_BYTES:
        return ""
    return hashlib.sha256(first).hexdigest()[:24]


_CHECK_BYTES = 4096


def position_check(path: Path, offset: int) -> str:
    """Fingerprint of what lies before ``offset``: the last 4 KiB before it in a plain
    file (appending never changes them; rotation, truncation or replacement does), and
    for a gzip archive, which is never appended to, its size and first 64 KiB."""
    try:
        if is_gzip(path):
            with path.open("rb") as fh:
                head = fh.read(1 << 16)
            return f"gz:{path.stat().st_size}:{hashlib.sha256(head).hexdigest()[:24]}"
        start = max(0, offset - _CHECK_BYTES)
        with path.open("rb") as fh:
            fh.seek(start)
            window = fh.read(offset - start)
    except OSError as exc:
        raise UnreadableFileError(f"cannot open: {exc}", Location(file=str(path))) from None
    if len(window) < offset - start:
        return "shorter"  # truncated below the offset: never equal to a real check
    return hashlib.sha256(window).hexdigest()[:24]


MAX_LINE_BYTES = 16 << 20  # the setting max_line_bytes
TOO_LONG = "line:too_long"
NOT_UTF8 = "line:invalid_utf8"


def _ignore(line: int) -> None:
    pass


class BoundedLines:
    """Splits a byte stream into runs of complete lines in bounded memory.

    ``runs`` yields (bytes consumed, complete lines). A line longer than ``limit`` is
    never held whole: its bytes are dropped as they stream past, ``on_too_long(line
    number)`` is called, and it comes alone as (its length, b"\\n"). Memory stays within
    a block plus ``limit``. A last line without its newline is being written (a log):
    left for the next run, unless ``keep_last`` (a finished file).
    """

    def __init__(
        self,
        read: Callable[[int], bytes],
        limit: int,
        on_too_long: Callable[[int], None] = _ignore,
        first_line: int = 0,
        keep_last: bool = False,
    ) -> None:
        self.read, self.limit, self.on_too_long = read, max(1, limit), on_too_long
        self.line = first_line  # lines handed out so far
        self.keep_last = keep_last
        # Line numbers only name over-long lines for a reader that numbers lines itself;
        # a caller that numbers records another way (a CSV parser) saves the count.
        self.count_lines = on_too_long is not _ignore

    def runs(self, block_bytes: int) -> Iterator[tuple[int, bytes]]:
        carry, skipped = b"", -1  # skipped >= 0: bytes of an over-long line dropped so far
        while chunk := self.read(block_bytes):
            if skipped >= 0:
                end = chunk.find(b"\n")
                if end < 0:
                    skipped += len(chunk)
                    continue
                yield self._dropped(skipped + end + 1)
                chunk, skipped = chunk[end + 1 :], -1
            data = carry + chunk
            end = data.rfind(b"\n") + 1
            whole, carry = data[:end], data[end:]
            if len(whole) > self.limit:
                yield from self._split_long(whole)
            elif whole:
                if self.count_lines:
                    self.line += whole.count(b"\n")
                yield len(whole), whole
            if len(carry) > self.limit:
                carry, skipped = b"", len(carry)
        if self.keep_last and skipped >= 0:
            yield self._dropped(skipped)
        elif self.keep_last and carry:
            self.line += 1
            yield len(carry), carry

    def _dropped(self, consumed: int) -> tuple[int, bytes]:
        self.line += 1
        self.on_too_long(self.line)
        return consumed, b"\n"

    def _split_long(self, whole: bytes) -> Iterator[tuple[int, bytes]]:
        """Complete lines holding one longer than the limit (a limit below the block size)."""
        good: list[bytes] = []
        raws = whole.split(b"\n")
        raws.pop()
        for raw in raws:
            if len(raw) + 1 <= self.limit:
                good.append(raw + b"\n")
                continue
            if good:
                self.line += len(good)
                yield sum(map(len, good)), b"".join(good)
                good = []
            yield self._dropped(len(raw) + 1)
        if good:
            self.line += len(good)
            yield sum(map(len, good)), b"".join(good)


class LineReader:
    """Iterates over the complete lines of ``path`` from ``start``, decoded as UTF-8.

    ``position`` always names the point after the last line handed out, so a caller
    that stops after a record can save it and resume exactly there.

    A line longer than ``max_line_bytes`` is never held in memory: its bytes are skipped
    as they stream past. It, and a line that is not valid UTF-8, is handed out as an
    empty line (so line numbers hold) and listed in ``rejected`` as (line, why,
    ``field:reason``); the source kind passes those on as dead letters.
    """

    def __init__(
        self, path: Path, start: Position = START, max_line_bytes: int = MAX_LINE_BYTES
    ) -> None:
        self.path = path
        self.position = start
        self.size = path.stat().st_size
        self.max_line_bytes = max(1, max_line_bytes)
        self.rejected: list[tuple[int, str, str]] = []
        self._fh = _open(path)
        self._raw = getattr(self._fh, "fileobj", None) or self._fh  # on-disk progress
        try:
            self._fh.seek(start.offset)
        except (OSError, EOFError) as exc:
            raise UnreadableFileError(
                f"cannot seek to byte {start.offset}: {exc}", Location(file=str(path))
            ) from None

    @property
    def bytes_done(self) -> int:
        """How far through the file on disk the read has got (for progress bars)."""
        return min(self._raw.tell(), self.size)

    def take_rejected(self) -> list[tuple[int, str, str]]:
        taken, self.rejected = self.rejected, []
        return taken

    def __iter__(self) -> Iterator[str]:
        offset, line = self.position.offset, self.position.line
        for consumed, whole in self._runs(1 << 16):
            if consumed != len(whole):  # one over-long line, skipped
                offset, line = offset + consumed, line + 1
                self.position = Position(offset, line)
                yield "\n"
                continue
            parts = whole.split(b"\n")
            parts.pop()  # the empty string after the last newline
            for raw in parts:
                offset, line = offset + len(raw) + 1, line + 1
                self.position = Position(offset, line)
                yield self._decode([raw], line)[0] + "\n"

    def blocks(self, block_bytes: int = 1 << 22) -> Iterator[tuple[int, list[str]]]:
        """Complete lines in blocks: (number of the block's first line, its lines without
        newlines). Splitting whole blocks is several times faster than line by line;
        ``position`` is after the block's last line when the block is handed out."""
        offset, line = self.position.offset, self.position.line
        for consumed, whole in self._runs(block_bytes):
            if consumed != len(whole):
                lines = [""]
            else:
                try:
                    lines = whole.decode("utf-8").split("\n")
                    lines.pop()
                except UnicodeDecodeError:
                    raws = whole.split(b"\n")
                    raws.pop()
                    lines = self._decode(raws, line + 1)
            offset += consumed
            self.position = Position(offset, line + len(lines))
            yield line + 1, lines
            line += len(lines)

    def _decode(self, raws: list[bytes], first: int) -> list[str]:
        lines = []
        for number, raw in enumerate(raws, first):
            try:
                lines.append(raw.decode("utf-8"))
            except UnicodeDecodeError as exc:
                why = f"not valid UTF-8 at byte {exc.start + 1} (line withheld)"
                self.rejected.append((number, why, NOT_UTF8))
                lines.append("")
        return lines

    def _runs(self, block_bytes: int) -> Iterator[tuple[int, bytes]]:
        lines = BoundedLines(self._fh.read, self.max_line_bytes, self._too_long, self.position.line)
        try:
            yield from lines.runs(block_bytes)
        except (OSError, EOFError) as exc:
            raise UnreadableFileError(
                f"read failed after line {lines.line}: {exc}",
                Location(file=str(self.path), row=lines.line),
            ) from None

    def _too_long(self, line: int) -> None:
        why = f"line longer than {self.max_line_bytes:,} bytes (line withheld)"
        self.rejected.append((line, why, TOO_LONG))

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> LineReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
