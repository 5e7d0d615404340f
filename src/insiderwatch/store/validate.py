"""Contract validation as one set-based query per batch.

For every column of a table the contract gives a parse expression and a list of checks;
this module turns them into DuckDB SQL that yields the parsed columns plus ``_problems``,
the list of ``field:reason`` codes that apply to the row (empty = the row is good). Doing
it in SQL keeps ingest vectorised: millions of rows are checked without a Python loop.
This is ingest-side and DuckDB-specific on purpose; detection queries use Ibis.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from insiderwatch.contract import ColumnSpec, TableSpec
from insiderwatch.sources.readers import LINE, ROW

ISO_DATE = r"\d{4}-\d{2}-\d{2}"
# Offsets exist from -12:00 to +14:00; the engine would read "+99:99" as a shift of
# four days, so anything outside 00-14 hours and 00-59 minutes is not a time.
ISO_TIMESTAMP = ISO_DATE + (
    r"([T ]\d{2}:\d{2}(:\d{2}([.,]\d{1,9})?)?)?([Zz]|[+-](0\d|1[0-4])(:?[0-5]\d)?)?"
)

TRUE_WORDS = ("true", "t", "1", "yes", "y")
FALSE_WORDS = ("false", "f", "0", "no", "n")

INVALID_REASON = {
    "int": "not_an_integer",
    "bool": "not_a_boolean",
    "date": "not_a_date",
    "timestamp": "not_a_timestamp",
    "list": "not_a_list",
    "str": "not_a_string",
}

# Source type of columns read as untrusted text (CSV, JSON): trimmed and parsed. A
# typed VARCHAR (Parquet) is taken as written, since its producer typed it.
TEXT = "TEXT"

NATIVE_MATCH = {
    "str": ("VARCHAR",),
    "int": (
        "BIGINT",
        "INTEGER",
        "SMALLINT",
        "TINYINT",
        "UBIGINT",
        "UINTEGER",
        "USMALLINT",
        "UTINYINT",
    ),
    "bool": ("BOOLEAN",),
    "date": ("DATE",),
    "timestamp": (
        "TIMESTAMP WITH TIME ZONE",
        "TIMESTAMP",
        "TIMESTAMP_NS",
        "TIMESTAMP_MS",
        "TIMESTAMP_S",
    ),
    "list": ("VARCHAR[]",),
}


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(quote_str(v) for v in values) + "]"


@dataclass(frozen=True)
class Reference:
    """A column whose value must exist in another table (e.g. a known employee)."""

    column: str
    table: str
    key: str
    reason: str


def _split_list(text_expr: str) -> str:
    return f"list_filter(list_transform(string_split({text_expr}, ';'), lambda x: trim(x)), lambda x: x <> '')"


def _clean_list(list_expr: str) -> str:
    return (
        f"list_filter(list_transform({list_expr}, lambda x: trim(CAST(x AS VARCHAR))), "
        "lambda x: x IS NOT NULL AND x <> '')"
    )


def _parse(col: ColumnSpec, src: str | None, src_type: str | None) -> tuple[str, str]:
    """(parsed expression, expression true when the source holds a value)."""
    if src is None:
        empty = "CAST([] AS VARCHAR[])" if col.kind == "list" else "NULL"
        return empty, "FALSE"
    ref = quote_ident(src)
    if src_type == "JSON":  # list columns of JSON Lines are read as JSON
        present = f"({ref} IS NOT NULL AND json_type({ref}) <> 'NULL')"
        as_text = f"json_extract_string({ref}, '$')"
        parsed = (
            f"CASE WHEN NOT {present} THEN CAST([] AS VARCHAR[]) "
            f"WHEN json_type({ref}) = 'ARRAY' THEN {_clean_list(f'json_extract_string({ref}, {chr(39)}$[*]{chr(39)})')} "
            f"WHEN json_type({ref}) IN ('VARCHAR', 'BIGINT', 'UBIGINT') THEN {_split_list(as_text)} END"
        )
        return parsed, present
    if src_type in NATIVE_MATCH.get(col.kind, ()):
        present = f"({ref} IS NOT NULL)"
        if col.kind == "list":
            # Typed lists come from typed producers: elements are taken as written, and
            # only a list holding an empty element pays for the element-wise filter.
            clean = (
                f"CASE WHEN {ref} IS NULL THEN CAST([] AS VARCHAR[]) "
                f"WHEN list_contains({ref}, '') THEN {_clean_list(ref)} ELSE {ref} END"
            )
            return clean, present
        if col.kind == "str":
            return f"NULLIF({ref}, '')", f"(NULLIF({ref}, '') IS NOT NULL)"
        # TRY_CAST: a typed value can still be out of range (an unsigned 2^64 - 1).
        if col.kind == "timestamp":
            return f"TRY_CAST({ref} AS TIMESTAMPTZ)", present
        return (
            f"TRY_CAST({ref} AS {dict(int='BIGINT', bool='BOOLEAN', date='DATE')[col.kind]})",
            present,
        )
    # Everything else is read as text; an empty string means "no value".
    text = f"NULLIF(trim(CAST({ref} AS VARCHAR)), '')"
    present = f"({text} IS NOT NULL)"
    parsed = {
        "str": text,
        # Only whole numbers: a cast alone would round "3.5" to 4.
        "int": f"CASE WHEN regexp_full_match({text}, '[+-]?[0-9]+') THEN TRY_CAST({text} AS BIGINT) END",
        "bool": (
            f"CASE WHEN lower({text}) IN {tuple(TRUE_WORDS)} THEN TRUE "
            f"WHEN lower({text}) IN {tuple(FALSE_WORDS)} THEN FALSE END"
        ),
        # ISO 8601 only: the engine's cast also reads zone names ("PST", "IST"), which
        # are ambiguous, and would drop the offset of a date-time given for a date.
        "date": f"CASE WHEN regexp_full_match({text}, {quote_str(ISO_DATE)}) THEN TRY_CAST({text} AS DATE) END",
        "timestamp": f"CASE WHEN regexp_full_match({text}, {quote_str(ISO_TIMESTAMP)}) THEN TRY_CAST({text} AS TIMESTAMPTZ) END",
        "list": f"CASE WHEN {present} THEN {_split_list(text)} ELSE CAST([] AS VARCHAR[]) END",
    }[col.kind]
    return parsed, present


@dataclass(frozen=True)
class TimeWindow:
    """The instants an event time may take (settings ``time_earliest`` and
    ``time_days_ahead``). A year-0 or 1970 time is an error in the log, not an event: let
    in, it overflows Python dates or makes detection replay decades day by day. A time
    more than a few days after the ingest is clock trouble or forgery."""

    earliest: date = date(1990, 1, 1)
    days_ahead: int = 2

    def outside(self, parsed: str) -> str:
        return (
            f"({parsed} < TIMESTAMPTZ '{self.earliest.isoformat()} 00:00:00+00' "
            f"OR {parsed} > now() + INTERVAL {int(self.days_ahead)} DAY)"
        )


def _checks(
    col: ColumnSpec, parsed: str, present: str, window: TimeWindow
) -> list[tuple[str, str]]:
    """(condition that is true when the check fails, 'field:reason') pairs."""
    name = col.name
    fail = lambda cond, reason: (cond, f"{name}:{reason}")  # noqa: E731
    checks = []
    if col.required:
        checks.append(fail(f"NOT {present}", "missing"))
    if col.kind != "str":  # a present string always parses
        checks.append(fail(f"{present} AND ({parsed}) IS NULL", INVALID_REASON[col.kind]))
    if col.choices and col.kind == "str":
        checks.append(
            fail(f"NOT list_contains({_sql_list(col.choices)}, {parsed})", "unknown_value")
        )
    if col.choices and col.kind == "list":
        allowed = ", ".join(quote_str(c) for c in col.choices)
        checks.append(
            fail(f"len(list_filter({parsed}, lambda x: x NOT IN ({allowed}))) > 0", "unknown_value")
        )
    if col.pattern:
        checks.append(
            fail(f"NOT regexp_full_match({parsed}, {quote_str(col.pattern)})", "bad_format")
        )
    if col.max_length:
        checks.append(fail(f"length({parsed}) > {col.max_length}", "too_long"))
    if col.min_value is not None:
        checks.append(fail(f"{parsed} < {col.min_value}", "out_of_range"))
    if col.kind == "timestamp":
        checks.append(fail(window.outside(parsed), "out_of_range"))
    return checks


def json_objects_select(spec: TableSpec, relation: str, line: str = LINE) -> str:
    """Rows of ``relation`` whose ``_line`` is a JSON object, one column per field.

    The JSON is parsed once per line (``try`` turns a malformed line into NULL rather
    than an error); lines that are not objects are left out, and the caller finds them
    with an anti-join on ``_row`` to name what is wrong with each.
    """
    fields = ", ".join(
        f'"{c.name}": "{"JSON" if c.kind == "list" else "VARCHAR"}"' for c in spec.columns
    )
    looks_like_object = (
        f"CASE WHEN starts_with({LINE}, '{{') THEN TRUE "
        f"ELSE regexp_matches({LINE}, '^\\s*\\{{') END"
    )
    return (
        f"SELECT {ROW}, unnest(s) FROM (SELECT {ROW}, try(from_json({line}, '{{{fields}}}')) AS s "
        f"FROM {relation} WHERE {looks_like_object}) WHERE s IS NOT NULL"
    )


def case_folded_line(spec: TableSpec, keys: list[str]) -> str:
    """SQL for the JSON line with keys that differ from a contract column only in case
    (``EMAIL``, ``Phone``) renamed to the column, as CSV headers already match; ``keys``
    are the keys found in the batch. A key is a quoted name right after ``{`` or ``,``
    and before ``:`` (inside a string value a quote is escaped, so it cannot match)."""
    names = {c.name.lower(): c.name for c in spec.columns}
    expr = LINE
    for key in keys:
        target = names.get(key.lower())
        if target and key != target and '"' not in key and "\\" not in key:
            pattern = quote_str(f'([{{,]\\s*)"{re.escape(key)}"(\\s*:)')
            renamed = quote_str("\\1" + f'"{target}"' + "\\2")
            expr = f"regexp_replace({expr}, {pattern}, {renamed}, 'g')"
    return expr


def staged_select(
    spec: TableSpec,
    relation: str,
    source_types: Mapping[str, str],
    references: tuple[Reference, ...] = (),
    window: TimeWindow = TimeWindow(),
) -> str:
    """SELECT of the parsed columns, ``_row`` and ``_problems`` over ``relation``.

    ``source_types`` maps each source column present to its engine type ("JSON" for list
    fields read from JSON Lines); contract columns missing from it are treated as empty.
    Choice-constrained values (actions, field categories) are compared lower-cased.
    """
    by_lower = {name.lower(): name for name in source_types}
    inner, problems = [ROW], []
    for col in spec.columns:
        src = col.name if col.name in source_types else by_lower.get(col.name.lower())
        parsed, present = _parse(col, src, source_types.get(src) if src else None)
        if col.choices and col.kind == "list":
            parsed = f"list_transform({parsed}, lambda x: lower(x))"
        elif col.choices:
            parsed = f"lower({parsed})"
        if col.default is not None:
            parsed = f"CASE WHEN {present} THEN {parsed} ELSE {str(col.default).upper()} END"
        inner.append(f"{parsed} AS {col.name}")
        if col.kind == "str" and src is not None:
            # A string is present exactly when its parsed value is: no second trim.
            has = f"({col.name} IS NOT NULL)"
        else:
            inner.append(f"{present} AS _has_{col.name}")
            has = f"_has_{col.name}"
        problems.extend(_checks(col, col.name, has, window))
    problems.extend(
        (
            f"{r.column} IS NOT NULL AND {r.column} NOT IN (SELECT {r.key} FROM {r.table})",
            f"{r.column}:{r.reason}",
        )
        for r in references
    )
    columns = ", ".join([ROW, *spec.names])
    # Most rows are good: one cheap boolean decides, and only rows that fail a check pay
    # for naming their problems (CASE evaluates a branch only on the rows it selects).
    any_failed = " OR ".join(f"({cond}) IS TRUE" for cond, _ in problems)
    named = (
        "concat_ws(',', "
        + ", ".join(f"CASE WHEN {cond} THEN '{code}' END" for cond, code in problems)
        + ")"
    )
    return (
        f"SELECT {columns}, CASE WHEN {any_failed} THEN string_split({named}, ',') "
        f"ELSE CAST([] AS VARCHAR[]) END AS _problems "
        f"FROM (SELECT {', '.join(inner)} FROM {relation})"
    )
