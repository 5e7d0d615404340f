"""The ``mapped`` source: JSON Lines or CSV logs read through a declarative mapping.

Lines are read from the remembered position in batches, mapped by one DuckDB query
(:mod:`insiderwatch.sources.mapping`) and handed to the loader as contract columns.
A line that is not a JSON object, or a CSV record with the wrong number of fields,
becomes a dead letter with its line number; records the mapping's ``filter`` leaves
out are counted as ``filtered``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insiderwatch.errors import ConfigError, Location
from insiderwatch.sources.follow import LineReader
from insiderwatch.sources.kinds import LogSource, SourceOptions
from insiderwatch.sources.mapping import Mapping, connection, quote_str
from insiderwatch.sources.readers import LINE, ROW, RawBatch

_NOT_OBJECT = "not a JSON object (line withheld)"


class MappedSource(LogSource):
    kind = "mapped"
    description = "Any JSON Lines or CSV log through a YAML mapping (--mapping FILE)."

    def __init__(self, options: SourceOptions | None = None) -> None:
        super().__init__(options)
        if self.options.mapping is None:
            raise ConfigError(f"--source {self.kind} needs --mapping FILE")
        self.mapping = self.load_mapping()
        self.table = self.mapping.table
        self._con = connection()

    @property
    def identity_kind(self) -> str:
        return self.mapping.identity or self.kind

    def load_mapping(self) -> Mapping:
        return Mapping.find(self.options.mapping)  # type: ignore[arg-type]

    def read(self, reader: LineReader) -> Iterator[RawBatch]:
        for table, malformed in self.chunks(reader):
            yield self.map_batch(table, malformed)

    def chunks(self, reader: LineReader) -> Iterator[tuple[pa.Table, list[tuple[int, str]]]]:
        """Raw records in batches (before mapping), with the malformed ones."""
        if self.mapping.format == "jsonl":
            return self._json_chunks(reader)
        return self._csv_chunks(reader)

    # -- reading ----------------------------------------------------------------------
    def _json_chunks(self, reader: LineReader) -> Iterator[tuple[pa.Table, list]]:
        pending: list[pa.Table] = []
        count = 0
        for first, lines in reader.blocks():
            rows = np.arange(first, first + len(lines), dtype=np.int64)
            table = _json_table(lines, rows)
            # Blank lines are not records; only JSON's own whitespace makes a line blank.
            table = table.filter(pc.invert(pc.match_substring_regex(table[LINE], r"^[ \t\r]*$")))
            pending.append(table)
            count += table.num_rows
            if count >= self.options.batch_rows:
                self.position = reader.position
                yield pa.concat_tables(pending), []
                pending, count = [], 0
        self.position = reader.position
        if count:
            yield pa.concat_tables(pending), []

    def _csv_chunks(self, reader: LineReader) -> Iterator[tuple[pa.Table, list]]:
        header = self._header(reader)
        self._check_columns(header, reader)
        columns: list[list[str]] = [[] for _ in header]
        rows: list[int] = []
        malformed: list[tuple[int, str]] = []
        base, previous = reader.position.line, 0
        records = csv.reader(reader)
        for record in records:
            line, previous = base + previous + 1, records.line_num
            if line == 1:
                continue  # the header
            if len(record) != len(header):
                malformed.append((line, f"{len(record)} fields, header has {len(header)}"))
            else:
                for column, value in zip(columns, record, strict=True):
                    column.append(value)
                rows.append(line)
            if len(rows) + len(malformed) >= self.options.batch_rows:
                self.position = reader.position
                yield _csv_table(header, columns, rows), malformed
                columns, rows, malformed = [[] for _ in header], [], []
        self.position = reader.position
        if rows or malformed:
            yield _csv_table(header, columns, rows), malformed

    def _header(self, reader: LineReader) -> list[str]:
        with LineReader(reader.path) as top:
            first = next(iter(top), "")
        # Exports from Windows tools often start with a byte-order mark.
        return next(csv.reader(io.StringIO(first.removeprefix("\ufeff"))), [])

    def _check_columns(self, header: list[str], reader: LineReader) -> None:
        wanted = {r.path for r in self.mapping.rules.values() if r.path}
        if self.mapping.filter:
            wanted.add(self.mapping.filter.path)
        missing = sorted(wanted - set(header))
        if missing:
            raise ConfigError(
                f"column(s) {', '.join(missing)} named by mapping {self.mapping.source} "
                "are not in the header",
                Location(str(reader.path), row=1),
            )

    # -- mapping ----------------------------------------------------------------------
    def map_batch(self, table: pa.Table, malformed: list[tuple[int, str]]) -> RawBatch:
        con, mapping = self._con, self.mapping
        relation, candidates = "_in", table.num_rows
        if mapping.format == "jsonl":
            table, failed = mapping.add_jmespath_columns(table)
            malformed = malformed + failed
            con.register("_in", table)
            is_object = f"coalesce(try(json_type({LINE}) = 'OBJECT'), false)"
            bad = con.execute(f"SELECT {ROW} FROM _in WHERE NOT {is_object}").fetchall()
            malformed = malformed + [(row, _NOT_OBJECT) for (row,) in bad]
            relation, candidates = (
                f"(SELECT * FROM _in WHERE {is_object})",
                table.num_rows - len(bad),
            )
        else:
            con.register("_in", table)
        try:
            mapped = con.sql(mapping.select_sql(relation, self.identity)).to_arrow_table()
        finally:
            con.unregister("_in")
        if candidates > mapped.num_rows:
            self.skipped["filtered"] += candidates - mapped.num_rows
        if mapping.require:
            mapped = self._with_required(mapped)
        if mapping.identity and "employee_id" in mapped.column_names:
            mapped = self._resolve_identities(mapped)
        return RawBatch(
            layout="columns",
            data=mapped,
            malformed=malformed,
            rows=mapped.num_rows + len(malformed),
        )

    def _with_required(self, mapped: pa.Table) -> pa.Table:
        """Records with a value in every ``require``d column; the others are counted."""
        keep = pa.array(np.ones(mapped.num_rows, dtype=bool))
        for column in self.mapping.require:
            keep = pc.and_(keep, pc.fill_null(pc.not_equal(mapped[column], ""), False))
        missing = mapped.num_rows - pc.sum(keep).as_py() if mapped.num_rows else 0
        if missing:
            self.skipped["missing_required"] += missing
        return mapped.filter(keep)

    def diagnose(self, table: pa.Table) -> dict[str, dict]:
        """Per mapped column: records whose source value is absent, and source values
        the value map does not know (for ``sources check``)."""
        mapping, con = self.mapping, self._con
        if mapping.format == "jsonl":
            table, _ = mapping.add_jmespath_columns(table)
            objects = (
                f"(SELECT * FROM _in WHERE coalesce(try(json_type({LINE}) = 'OBJECT'), false))"
            )
            relation = f"(SELECT * FROM {mapping.parsed_relation(objects)} {mapping.where_sql()})"
        else:
            relation = f"(SELECT * FROM _in {mapping.where_sql()})"
        con.register("_in", table)
        found: dict[str, dict] = {}
        try:
            for target, rule in mapping.rules.items():
                if rule.path is None:
                    continue
                src = mapping.source_sql(rule.path)
                absent = con.execute(
                    f"SELECT count(*) FROM {relation} WHERE {src} IS NULL"
                ).fetchall()[0][0]
                unknown: list[str] = []
                if rule.map:
                    keys = ", ".join(quote_str(k) for k in rule.map)
                    unknown = [
                        v
                        for (v,) in con.execute(
                            f"SELECT DISTINCT {src} FROM {relation} "
                            f"WHERE {src} IS NOT NULL AND {src} NOT IN ({keys}) ORDER BY 1 LIMIT 20"
                        ).fetchall()
                    ]
                found[target] = {
                    "path": rule.path,
                    "absent": int(absent),
                    "unmapped_values": unknown,
                }
        finally:
            con.unregister("_in")
        return found

    def _resolve_identities(self, mapped: pa.Table) -> pa.Table:
        """Employee ids through the identity map, once per distinct name (not per row)."""
        names = mapped["employee_id"]
        times = (
            mapped["time"] if "time" in mapped.column_names else pa.nulls(len(names), pa.string())
        )
        firsts = (
            pa.table({"name": names, "time": times})
            .group_by("name")
            .aggregate([("time", "min"), ([], "count_all")])
        )
        resolved = [
            self.options.identities.resolve(self.identity_kind, name, first or "", count)
            if name
            else None
            for name, first, count in zip(
                firsts["name"].to_pylist(),
                firsts["time_min"].to_pylist(),
                firsts["count_all"].to_pylist(),
                strict=True,
            )
        ]
        lookup = pc.index_in(names, value_set=firsts["name"])
        column = pc.take(pa.array(resolved, pa.string()), lookup)
        index = mapped.schema.get_field_index("employee_id")
        return mapped.set_column(index, "employee_id", column)


def _json_table(lines: list[str], rows: np.ndarray) -> pa.Table:
    return pa.table({LINE: pa.array(lines, pa.string()), ROW: pa.array(rows)})


def _csv_table(header: list[str], columns: list[list[str]], rows: list[int]) -> pa.Table:
    data = {
        name: pa.array(values, pa.string()) for name, values in zip(header, columns, strict=True)
    }
    data[ROW] = pa.array(np.asarray(rows, dtype=np.int64))
    return pa.table(data)
