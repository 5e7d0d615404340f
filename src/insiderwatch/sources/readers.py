"""File readers: turn CSV, JSON Lines and Parquet files into raw batches.

A reader does not validate; it only splits a file into records and numbers them, so that
every problem found later can name its row. Records it cannot even split (a CSV line with
the wrong number of fields) come back as ``malformed`` so they reach the dead letters too.

Row numbers count records from the top of the file with the CSV header as row 1, i.e.
the line number when no value spans lines; for JSON Lines they are line numbers; for
Parquet the 1-based row index.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from insiderwatch.errors import Location, UnreadableFileError
from insiderwatch.registry import Registry
from insiderwatch.sources.dataset import DatasetFile
from insiderwatch.sources.follow import MAX_LINE_BYTES, NOT_UTF8, TOO_LONG, BoundedLines

ROW = "_row"  # column carrying each record's row number
LINE = "_line"  # column carrying a raw JSON line

# A byte that never occurs unescaped in valid JSON, so splitting on it keeps each line whole.
_NO_SPLIT = "\x1e"
_BLOCK_BYTES = 16 << 20
# Put in place of a line the parser must not see (too long, not UTF-8), followed by the
# problem: no real record starts with two ASCII SUB characters and these words.
_MARK = "\x1a\x1ainsiderwatch-rejected-line:"


@dataclass
class RawBatch:
    """Records as read. ``layout`` tells how to interpret them:

    * ``columns``: ``data`` (or the DuckDB ``relation``) has one column per source field;
    * ``json``: ``data`` has a single ``_line`` column holding one JSON document per row.
    """

    layout: Literal["columns", "json"]
    data: pa.Table | None = None
    relation: str | None = None  # SQL relation the store reads directly (Parquet)
    # (row, raw text or why) of records that could not be split, optionally with a third
    # element "field:reason" when the failing field is known (default row:malformed_row)
    malformed: list[tuple] = field(default_factory=list)
    rows: int = 0  # records in this batch, malformed included
    typed: bool = False  # column types come from the producer (Parquet), not from text


class Reader:
    """Base class; ``format`` is the registry name."""

    format: ClassVar[str]

    def __init__(
        self, file: DatasetFile, batch_rows: int = 500_000, max_line_bytes: int = MAX_LINE_BYTES
    ) -> None:
        self.file = file
        self.batch_rows = max(1, batch_rows)
        self.max_line_bytes = max(1, max_line_bytes)
        self.bytes_done = 0  # progress through the file on disk, for progress bars

    def columns(self) -> list[str] | None:
        """Column names when the format declares them up front (None for JSON Lines)."""
        return None

    def batches(self) -> Iterator[RawBatch]:
        raise NotImplementedError

    def _fail(self, exc: Exception) -> UnreadableFileError:
        return UnreadableFileError(
            f"cannot read as {self.format}: {exc}", Location(file=str(self.file.path))
        )


READERS: Registry[type[Reader]] = Registry("readers")


def _stream(file: DatasetFile) -> tuple[pa.NativeFile, pa.NativeFile]:
    """(on-disk file, decompressed stream); the first tells how far the read has got."""
    raw = pa.OSFile(str(file.path), "rb")
    return raw, (pa.CompressedInputStream(raw, "gzip") if file.compressed else raw)


class _CheckedLines:
    """What the CSV parser reads: the file's bytes, except that a line longer than the
    limit (skipped as it streams past, never held) or one that is not UTF-8 becomes a
    marker line naming the problem. The parser then sees one short record in its place,
    which the batcher turns into a dead letter at that row; the rest of the file loads."""

    def __init__(self, stream: pa.NativeFile, limit: int, block: int = 8 << 20) -> None:
        self._runs = BoundedLines(stream.read, limit, keep_last=True).runs(block)
        self._pending = b""
        self._done = False
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        """At most ``size`` bytes, one run of lines at a time: a short read is allowed
        (only an empty one means the end), and handing runs on whole saves a copy."""
        if not self._pending and not self._done:
            try:
                consumed, run = next(self._runs)
                self._pending = _checked(consumed, run)
            except StopIteration:
                self._done = True
        if 0 <= size < len(self._pending):
            data, self._pending = self._pending[:size], self._pending[size:]
            return data
        data, self._pending = self._pending, b""
        return data

    def lines(self) -> Iterator[bytes]:
        """The checked lines one by one (for reading a header without the rest)."""
        while data := self.read():
            yield from data.splitlines(keepends=True)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True


def _checked(consumed: int, run: bytes) -> bytes:
    if consumed != len(run):  # an over-long line, dropped
        return f"{_MARK}{TOO_LONG}\n".encode()
    if run.isascii():  # the common case, checked far faster than by decoding
        return run
    try:
        run.decode("utf-8")
        return run
    except UnicodeDecodeError:
        marker = f"{_MARK}{NOT_UTF8}".encode()
        return b"\n".join(_utf8_or(line, marker) for line in run.split(b"\n"))


def _utf8_or(line: bytes, marker: bytes) -> bytes:
    try:
        line.decode("utf-8")
        return line
    except UnicodeDecodeError:
        return marker


def _rejected_line(row: int, text: str, limit: int) -> tuple[int, str, str] | None:
    """(row, why, problem) when ``text`` is a marker line, else None."""
    if not text.startswith(_MARK):
        return None
    problem = text[len(_MARK) :].strip()
    if problem == TOO_LONG:
        return row, f"line longer than {limit:,} bytes (line withheld)", TOO_LONG
    return row, "not valid UTF-8 (line withheld)", NOT_UTF8


def _without_row_column(table: pa.Table) -> pa.Table:
    """Drop a source column named like ours (``_row``): it is not in the contract, and
    two columns of that name would make the row numbers ambiguous."""
    keep = [i for i, name in enumerate(table.column_names) if name.lower() != ROW]
    return table if len(keep) == table.num_columns else table.select(keep)


def _number_rows(first_row: int, good: int, bad_rows: list[int]) -> tuple[np.ndarray, int]:
    """Row numbers of ``good`` records that follow ``first_row``, skipping malformed ones."""
    span = np.arange(first_row, first_row + good + len(bad_rows), dtype=np.int64)
    if bad_rows:
        span = span[~np.isin(span, np.asarray(bad_rows, dtype=np.int64))]
    return span[:good], first_row + good + len(bad_rows)


class _LineBatcher:
    """Groups a pyarrow CSV stream into batches and numbers their rows."""

    def __init__(self, reader: Reader, raw: pa.NativeFile, first_row: int) -> None:
        self.reader = reader
        self.raw = raw
        self.next_row = first_row
        self.bad: list[tuple] = []

    def on_invalid(self, row: pacsv.InvalidRow) -> str:
        number = row.number if row.number is not None else -1
        marked = _rejected_line(number, row.text, self.reader.max_line_bytes)
        self.bad.append(marked or (number, row.text))
        return "skip"

    def _take_marked(self, table: pa.Table) -> tuple[pa.Table, list[tuple]]:
        """Marker lines the parser read as records (a one-column file, JSON Lines)."""
        if table.num_columns < 2 or not pa.types.is_string(table.schema.field(0).type):
            return table, []
        hit = pc.fill_null(pc.starts_with(table.column(0), _MARK), False)
        if not pc.any(hit).as_py():
            return table, []
        limit = self.reader.max_line_bytes
        found = table.filter(hit)
        marked = [
            _rejected_line(row, text, limit)
            for row, text in zip(found[ROW].to_pylist(), found.column(0).to_pylist(), strict=True)
        ]
        return table.filter(pc.invert(hit)), marked

    def run(self, stream: pacsv.CSVStreamingReader, layout: Literal["columns", "json"]):
        pending: list[pa.RecordBatch] = []
        pending_rows = 0

        def flush(last: bool = False) -> RawBatch:
            nonlocal pending, pending_rows
            table = _without_row_column(pa.Table.from_batches(pending, schema=stream.schema))
            # pyarrow parses ahead: malformed rows of the next block may already have been
            # reported. A malformed row belongs here only if it falls before the end of
            # this batch's span; the rest wait for the next flush.
            self.bad.sort(key=lambda item: item[0])
            take = 0
            while take < len(self.bad) and (
                last or self.bad[take][0] < self.next_row + table.num_rows + take
            ):
                take += 1
            bad, self.bad = self.bad[:take], self.bad[take:]
            rows, self.next_row = _number_rows(self.next_row, table.num_rows, [m[0] for m in bad])
            table = table.append_column(ROW, pa.array(rows))
            table, marked = self._take_marked(table)
            bad += marked
            pending, pending_rows = [], 0
            return RawBatch(
                layout=layout, data=table, malformed=bad, rows=table.num_rows + len(bad)
            )

        try:
            for batch in stream:
                pending.append(batch)
                pending_rows += batch.num_rows
                if pending_rows >= self.reader.batch_rows:
                    self.reader.bytes_done = self.raw.tell()
                    yield flush()
        except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
            raise self.reader._fail(exc) from None
        if pending or self.bad:
            self.reader.bytes_done = self.reader.file.size
            yield flush(last=True)


class CsvReader(Reader):
    format = "csv"

    def columns(self) -> list[str]:
        if not hasattr(self, "_columns"):
            try:
                raw, fh = _stream(self.file)
                with raw, fh:
                    # The header line alone (a header may span lines only when quoted,
                    # which no contract header needs): read in small steps, bounded.
                    header = next(_CheckedLines(fh, self.max_line_bytes, 1 << 16).lines(), b"")
                stream = pacsv.open_csv(
                    pa.BufferReader(header),
                    read_options=pacsv.ReadOptions(use_threads=False),
                )
                self._columns = list(stream.schema.names)
            except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
                raise self._fail(exc) from None
            bad = _rejected_line(1, self._columns[0] if self._columns else "", 0)
            if bad:
                raise self._fail(ValueError(f"the header is {bad[2].split(':')[1]}"))
        return self._columns

    def batches(self) -> Iterator[RawBatch]:
        names = self.columns()
        try:
            raw, fh = _stream(self.file)
            batcher = _LineBatcher(self, raw, first_row=2)  # row 1 is the header
            stream = pacsv.open_csv(
                pa.PythonFile(_CheckedLines(fh, self.max_line_bytes), mode="r"),
                # Single-threaded: only then does pyarrow tell the row number of a
                # malformed row (and it is no slower on a small machine).
                read_options=pacsv.ReadOptions(block_size=_BLOCK_BYTES, use_threads=False),
                parse_options=pacsv.ParseOptions(
                    invalid_row_handler=batcher.on_invalid, newlines_in_values=True
                ),
                # Everything as text: typing is the contract's job, so bad values become
                # dead letters with a reason instead of a failed file.
                convert_options=pacsv.ConvertOptions(
                    column_types={n: pa.string() for n in names},
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                ),
            )
        except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
            raise self._fail(exc) from None
        with raw, fh:
            yield from batcher.run(stream, "columns")


class JsonLinesReader(Reader):
    format = "jsonl"

    def batches(self) -> Iterator[RawBatch]:
        try:
            raw, fh = _stream(self.file)
            batcher = _LineBatcher(self, raw, first_row=1)
            stream = pacsv.open_csv(
                pa.PythonFile(_CheckedLines(fh, self.max_line_bytes), mode="r"),
                read_options=pacsv.ReadOptions(
                    column_names=[LINE], block_size=_BLOCK_BYTES, use_threads=False
                ),
                parse_options=pacsv.ParseOptions(
                    delimiter=_NO_SPLIT,
                    quote_char=False,
                    escape_char=False,
                    ignore_empty_lines=False,
                    invalid_row_handler=batcher.on_invalid,
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types={LINE: pa.string()}, strings_can_be_null=False
                ),
            )
        except pa.ArrowInvalid as exc:
            if str(exc).startswith("Empty CSV file"):  # not even one line: no records
                raw.close()
                return
            raise self._fail(exc) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise self._fail(exc) from None
        with raw, fh:
            yield from batcher.run(stream, "json")


class ParquetReader(Reader):
    """Parquet is typed and columnar: the store engine reads it itself, in parallel.

    Batches follow row groups (merged up to ``batch_rows``; a huge group is split by
    row ranges) so that each one reads only its part of the file.
    """

    format = "parquet"

    def columns(self) -> list[str]:
        try:
            return list(pq.read_schema(self.file.path).names)
        except (pa.ArrowInvalid, OSError) as exc:
            raise self._fail(exc) from None

    def ranges(self) -> list[tuple[int, int]]:
        """[start, end) row ranges of the batches."""
        try:
            meta = pq.ParquetFile(self.file.path).metadata
        except (pa.ArrowInvalid, OSError) as exc:
            raise self._fail(exc) from None
        bounds, start, end = [], 0, 0
        for i in range(meta.num_row_groups):
            end += meta.row_group(i).num_rows
            if end - start >= self.batch_rows:
                bounds.append((start, end))
                start = end
        if end > start:
            bounds.append((start, end))
        split = []
        for begin, stop in bounds:
            step = self.batch_rows if stop - begin > 2 * self.batch_rows else stop - begin
            split.extend((b, min(b + step, stop)) for b in range(begin, stop, max(step, 1)))
        return split

    def batches(self) -> Iterator[RawBatch]:
        path = str(self.file.path).replace("'", "''")
        ranges = self.ranges()
        total = ranges[-1][1] if ranges else 0
        # A source column named like ours (``_row``) is dropped, not mixed up with ours.
        clash = ['"' + c.replace('"', '""') + '"' for c in self.columns() if c.lower() == ROW]
        exclude = ", ".join(["file_row_number", *clash])
        for begin, end in ranges:
            relation = (
                f"(SELECT * EXCLUDE ({exclude}), file_row_number + 1 AS {ROW} "
                f"FROM read_parquet('{path}', file_row_number = true) "
                f"WHERE file_row_number >= {begin} AND file_row_number < {end})"
            )
            self.bytes_done = int(self.file.size * end / max(total, 1))
            yield RawBatch(layout="columns", relation=relation, rows=end - begin, typed=True)


for _reader in (CsvReader, JsonLinesReader, ParquetReader):
    READERS.register(_reader.format, _reader, origin=f"{__name__}:{_reader.__name__}")


def reader_for(
    file: DatasetFile, batch_rows: int = 500_000, max_line_bytes: int = MAX_LINE_BYTES
) -> Reader:
    return READERS.get(file.format)(file, batch_rows, max_line_bytes)
