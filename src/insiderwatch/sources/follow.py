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
from collections.abc import Iterator
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


def file_identity(path: Path) -> str:
    """Fingerprint of the file's first complete line ('' while it has none)."""
    with _open(path) as fh:
        first = fh.readline()
    if not first.endswith(b"\n"):
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


class LineReader:
    """Iterates over the complete lines of ``path`` from ``start``, decoded as UTF-8.

    ``position`` always names the point after the last line handed out, so a caller
    that stops after a record can save it and resume exactly there.
    """

    def __init__(self, path: Path, start: Position = START) -> None:
        self.path = path
        self.position = start
        self.size = path.stat().st_size
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

    def __iter__(self) -> Iterator[str]:
        offset, line = self.position.offset, self.position.line
        try:
            for raw in self._fh:
                if not raw.endswith(b"\n"):
                    return  # being written: next run
                offset += len(raw)
                line += 1
                self.position = Position(offset, line)
                yield raw.decode("utf-8", errors="replace")
        except (OSError, EOFError) as exc:
            raise UnreadableFileError(
                f"read failed after line {line}: {exc}", Location(file=str(self.path), row=line)
            ) from None

    def blocks(self, block_bytes: int = 1 << 22) -> Iterator[tuple[int, list[str]]]:
        """Complete lines in blocks: (number of the block's first line, its lines without
        newlines). Splitting whole blocks is several times faster than line by line;
        ``position`` is after the block's last line when the block is handed out."""
        offset, line = self.position.offset, self.position.line
        carry = b""
        try:
            while chunk := self._fh.read(block_bytes):
                data = carry + chunk
                end = data.rfind(b"\n") + 1
                if not end:
                    carry = data
                    continue
                whole, carry = data[:end], data[end:]
                lines = whole.decode("utf-8", errors="replace").split("\n")
                lines.pop()  # the empty string after the last newline
                offset += len(whole)
                self.position = Position(offset, line + len(lines))
                yield line + 1, lines
                line += len(lines)
        except (OSError, EOFError) as exc:
            raise UnreadableFileError(
                f"read failed after line {line}: {exc}", Location(file=str(self.path), row=line)
            ) from None
        # A last line without its newline is being written: left for the next run.

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> LineReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
