"""Declarative mappings: any JSON Lines or CSV log -> contract records, from a YAML file.

A mapping names, for each contract column, where its value comes from (a dotted path or
a JMESPath expression in the JSON record, a column of the CSV file, or a constant) and
how to turn it into the contract's value (a value map, a default, list splitting, a time
format, a prefix to add or strip). It compiles to one DuckDB query per batch, so mapped logs are read
set-at-a-time; only JMESPath expressions that are not plain paths run per record.

    name: my-crm
    format: jsonl            # or csv
    table: access            # or employees, cases, ...
    identity: crm            # employee ids go through the identity map as crm:<id>
    fields:
      time: ts
      employee_id: user.id
      action: {path: op, map: {READ: view, EXPORT: export}}
      customer_ids: {path: "records[*].customer", split: ","}
      fields: {const: [name, email]}
    require: [customer_ids]  # records without customers are not access: counted, not loaded

See docs/sources.md for every key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import duckdb
import jmespath
import jmespath.functions
import pyarrow as pa

from insiderwatch.contract import TABLES
from insiderwatch.errors import ConfigError, Location
from insiderwatch.sources.readers import LINE, ROW

_SIMPLE_PATH = re.compile(r"^[A-Za-z_@$][\w@$-]*(?:\.[A-Za-z_@$][\w@$-]*|\[\d+\])*$")
_RULE_KEYS = {
    *("path", "const", "map", "default", "split", "format", "prefix"),
    *("strip_prefix", "extract"),
}
# Epoch magnitudes: below 1e11 seconds (until the year 5138), then ms, µs, ns.
_EPOCH_SCALE = "CASE WHEN abs({v}) < 1e11 THEN 1 WHEN abs({v}) < 1e14 THEN 1e3 WHEN abs({v}) < 1e17 THEN 1e6 ELSE 1e9 END"
_ISO = "%Y-%m-%dT%H:%M:%S.%f"


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@dataclass(frozen=True)
class FieldRule:
    target: str
    path: str | None = None
    const: Any = None
    map: dict[str, Any] | None = None
    default: Any = None
    split: str | None = None
    format: str | None = None  # time: iso, epoch_s, epoch_ms or a strptime pattern
    prefix: str = ""
    # Applied to the value, or each element of a list: prefixes removed ("Patient/123" ->
    # "123"), then a regex's first group kept (elements it does not match are dropped).
    strip_prefix: tuple[str, ...] = ()
    extract: str | None = None


@dataclass(frozen=True)
class Filter:
    path: str
    values: tuple[str, ...]


@dataclass
class Mapping:
    name: str
    format: str
    table: str
    rules: dict[str, FieldRule]
    identity: str | None = None
    filter: Filter | None = None
    require: tuple[str, ...] = ()  # columns a record needs a value in to be loaded
    skip_when: str | None = None  # JMESPath: records where it is true are filtered out
    id_from: str = "line"  # without an event_id value: from the file and "line", or "content"
    description: str = ""
    source: str = "<mapping>"  # file it came from, for messages
    _jmespath: dict[str, Any] = field(default_factory=dict, repr=False)

    # -- loading ----------------------------------------------------------------------
    @classmethod
    def find(cls, name_or_path: Path | str) -> Mapping:
        """A mapping file, or one shipped with insiderwatch by name (``salesforce-api``)."""
        path = Path(name_or_path)
        if path.exists():
            return cls.load(path)
        shipped = shipped_mappings()
        if str(name_or_path) in shipped:
            return cls.load(shipped[str(name_or_path)])
        raise ConfigError(
            f"mapping not found: {name_or_path} (shipped mappings: {', '.join(shipped)})"
        )

    @classmethod
    def load(cls, path: Path) -> Mapping:
        import yaml

        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read mapping: {exc}", Location(str(path))) from None
        return cls.from_dict(doc, str(path))

    @classmethod
    def from_dict(cls, doc: Any, source: str = "<mapping>") -> Mapping:
        where = lambda key: Location(source, field=key)  # noqa: E731
        if not isinstance(doc, dict):
            raise ConfigError("a mapping is a YAML mapping (key: value)", Location(source))
        _check_types(doc, where)
        table = doc.get("table", "access")
        if table not in TABLES:
            raise ConfigError(f"unknown table {table!r}", where("table"))
        fmt = doc.get("format", "jsonl")
        if fmt not in ("jsonl", "csv"):
            raise ConfigError(f"format must be jsonl or csv, not {fmt!r}", where("format"))
        columns = set(TABLES[table].names)
        rules: dict[str, FieldRule] = {}
        for target, spec in (doc.get("fields") or {}).items():
            if target not in columns:
                raise ConfigError(
                    f"{target!r} is not a column of {table} (columns: {', '.join(TABLES[table].names)})",
                    where(f"fields.{target}"),
                )
            rules[target] = _rule(target, spec, fmt, where(f"fields.{target}"))
        missing = [c for c in TABLES[table].required if c not in rules and c != "event_id"]
        if missing:
            raise ConfigError(
                f"required column(s) not mapped: {', '.join(missing)}", where("fields")
            )
        flt = doc.get("filter")
        if flt is not None:
            if (
                not isinstance(flt, dict)
                or "path" not in flt
                or not isinstance(flt.get("in"), list)
            ):
                raise ConfigError("filter needs path and in: [values]", where("filter"))
            flt = Filter(str(flt["path"]), tuple(str(v) for v in flt["in"]))
        require = doc.get("require") or []
        if not isinstance(require, list) or not set(require) <= set(rules):
            raise ConfigError("require lists mapped columns (fields)", where("require"))
        id_from = doc.get("id_from", "line")
        if id_from not in ("line", "content") or (id_from == "content" and fmt != "jsonl"):
            raise ConfigError("id_from is line, or content (jsonl only)", where("id_from"))
        mapping = cls(
            name=str(doc.get("name") or Path(source).stem),
            format=fmt,
            table=table,
            rules=rules,
            identity=doc.get("identity"),
            filter=flt,
            require=tuple(require),
            skip_when=_skip_when(doc.get("skip_when"), fmt, where("skip_when")),
            id_from=id_from,
            description=str(doc.get("description") or ""),
            source=source,
        )
        mapping._compile_jmespath()
        return mapping

    def _compile_jmespath(self) -> None:
        from jmespath.exceptions import JMESPathError

        paths = [r.path for r in self.rules.values() if r.path]
        if self.filter:
            paths.append(self.filter.path)
        for path in paths + ([self.skip_when] if self.skip_when else []):
            # skip_when is a condition: JMESPath evaluates it even when it looks like a path.
            if self.format == "jsonl" and (path == self.skip_when or not _SIMPLE_PATH.match(path)):
                try:
                    self._jmespath[path] = jmespath.compile(path)
                except JMESPathError as exc:
                    raise ConfigError(
                        f"bad JMESPath {path!r}: {exc}", Location(self.source)
                    ) from None

    # -- SQL --------------------------------------------------------------------------
    @cached_property
    def _json_paths(self) -> list[str]:
        """Plain JSON paths in a fixed order: extracted together, in one parse per line."""
        found = [r.path for r in self.rules.values() if r.path]
        if self.filter:
            found.append(self.filter.path)
        return [p for p in dict.fromkeys(found) if p not in self._jmespath]

    def source_sql(self, path: str) -> str:
        if self.format == "csv":
            return f"NULLIF(trim({quote_ident(path)}), '')"
        if path in self._jmespath:
            return quote_ident(_jp_column(path))
        return f"NULLIF(_v[{self._json_paths.index(path) + 1}], '')"

    def _value_sql(self, rule: FieldRule) -> str:
        list_column = TABLES[self.table].column(rule.target).kind == "list"
        if rule.path is None:
            return _const_sql(rule.const)
        value = self.source_sql(rule.path)
        if list_column and self.format == "jsonl" and rule.path not in self._jmespath:
            # A JSON array arrives as its JSON text: join its elements the contract's way.
            value = (
                f"CASE WHEN starts_with({value}, '[') THEN coalesce(array_to_string("
                f"try(from_json({value}, '[\"VARCHAR\"]')), ';'), {value}) ELSE {value} END"
            )
        if rule.split:
            value = f"replace({value}, {quote_str(rule.split)}, ';')"
        if rule.map:
            whens = " ".join(
                f"WHEN {quote_str(str(k))} THEN {_const_sql(v)}" for k, v in rule.map.items()
            )
            fallback = _const_sql(rule.default) if rule.default is not None else value
            value = f"CASE {value} {whens} ELSE {fallback} END"
        elif rule.default is not None:
            value = f"coalesce({value}, {_const_sql(rule.default)})"
        if rule.format:
            value = _time_sql(value, rule.format, TABLES[self.table].column(rule.target).kind)
        if rule.strip_prefix or rule.extract:
            value = _each_element(value, rule)
        if rule.prefix:
            value = f"{quote_str(rule.prefix)} || {value}"
        return value

    def select_sql(self, relation: str, file_identity: str) -> str:
        """The mapped batch: one VARCHAR column per mapped contract column, and _row."""
        columns = [f"{ROW}"]
        derived = None
        if "event_id" in TABLES[self.table].names:
            # Without an id in the record, the file, line and content name it: a re-read
            # never double counts, and a file rotated under the same header (same first
            # line) cannot give its records the ids of the old file's.
            # id_from content: the record alone, so the same event in two files (a
            # producer without ids re-sending, a rotated copy) still loads once.
            seed = quote_str(f"{self.name}:{file_identity}:")
            content = LINE if self.format == "jsonl" else "CAST(_rec AS VARCHAR)"
            basis = f"{seed} || {ROW} || ':' || md5({content})"
            if self.id_from == "content":
                basis = f"{quote_str(self.name + ':')} || CAST(json({LINE}) AS VARCHAR)"
            derived = f"{quote_str(self.name + '-')} || md5({basis})"
            if "event_id" not in self.rules:
                columns.append(f"{derived} AS event_id")
        for target, rule in self.rules.items():
            value = self._value_sql(rule)
            if target == "event_id" and derived:
                value = f"coalesce({value}, {derived})"
            columns.append(f"CAST({value} AS VARCHAR) AS {quote_ident(target)}")
        return (
            f"SELECT {', '.join(columns)} FROM {self.parsed_relation(relation)} AS _rec "
            f"{self.where_sql()}"
        )

    def where_sql(self) -> str:
        """The mapping's filter and skip_when as a WHERE clause ('' without them)."""
        conditions = []
        if self.filter:
            allowed = ", ".join(quote_str(v) for v in self.filter.values)
            conditions.append(f"{self.source_sql(self.filter.path)} IN ({allowed})")
        if self.skip_when:
            conditions.append(f"{quote_ident(_jp_column(self.skip_when))} IS DISTINCT FROM 'True'")
        return f"WHERE {' AND '.join(conditions)}" if conditions else ""

    def parsed_relation(self, relation: str) -> str:
        """``relation`` with the plain JSON paths extracted into ``_v``."""
        if self.format == "csv" or not self._json_paths:
            return relation
        paths = ", ".join(quote_str("$." + p) for p in self._json_paths)
        return f"(SELECT *, json_extract_string({LINE}, [{paths}]) AS _v FROM {relation})"

    # -- per-record JMESPath ----------------------------------------------------------
    def add_jmespath_columns(self, table: pa.Table) -> tuple[pa.Table, list[tuple]]:
        """``table`` with one column per JMESPath expression, less the records on which
        an expression failed (a function given a null, say): those come back as
        (row, why, "field:jmespath_failed"), so one odd record is a dead letter naming
        its field and the rest of the file loads."""
        if not self._jmespath:
            return table, []
        docs = []
        for text in table[LINE].to_pylist():
            try:
                docs.append(json.loads(text))
            except (ValueError, TypeError, RecursionError):
                docs.append(None)
        failed: dict[int, tuple[str, str]] = {}  # record index -> (field, why)
        for path, compiled in self._jmespath.items():
            values = [self._search(compiled, path, doc, i, failed) for i, doc in enumerate(docs)]
            table = table.append_column(_jp_column(path), pa.array(values, pa.string()))
        if not failed:
            return table, []
        rows = table[ROW].to_pylist()
        rejected = [
            (rows[i], f"JMESPath {why} (line withheld)", f"{target}:jmespath_failed")
            for i, (target, why) in sorted(failed.items())
        ]
        keep = pa.array([i not in failed for i in range(table.num_rows)])
        return table.filter(keep), rejected

    def _search(
        self, compiled: Any, path: str, doc: Any, index: int, failed: dict[int, tuple[str, str]]
    ) -> str | None:
        if not isinstance(doc, dict) or index in failed:
            return None
        from jmespath.exceptions import JMESPathError

        try:
            return _text(compiled.search(doc, options=_JMESPATH_OPTIONS))
        except (JMESPathError, TypeError, ValueError, RecursionError) as exc:
            targets = [t for t, r in self.rules.items() if r.path == path]
            failed[index] = (targets[0] if targets else "filter", f"{path!r}: {_why(exc)}")
            return None


def _why(exc: Exception) -> str:
    """What went wrong, without the value (a JMESPath message quotes it: personal data)."""
    actual = getattr(exc, "actual_type", None)
    if actual is not None:
        return f"{exc.function_name}() got {actual}, expects {', '.join(exc.expected_types)}"
    return type(exc).__name__


# The type each top-level key must have: a YAML slip (a list for a name, a number for a
# format) is a ConfigError naming the key, not a traceback.
_TOP_LEVEL = {
    "name": str,
    "description": str,
    "table": str,
    "format": str,
    "identity": str,
    "fields": dict,
    "filter": dict,
}


def _check_types(doc: dict, where: Callable[[str], Location]) -> None:
    for key, kind in _TOP_LEVEL.items():
        value = doc.get(key)
        if value is not None and not isinstance(value, kind):
            wanted = "a text" if kind is str else "a mapping (key: value)"
            raise ConfigError(f"{key} must be {wanted}, not {value!r}", where(key))


def shipped_mappings() -> dict[str, Path]:
    """Mappings shipped with insiderwatch, by name (file name without .yaml)."""
    folder = Path(__file__).with_name("mappings")
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def _each_element(value: str, rule: FieldRule) -> str:
    """``value`` with strip_prefix and extract applied to each ';'-separated element."""
    element = "x"
    for prefix in rule.strip_prefix:
        p = quote_str(prefix)
        element = f"CASE WHEN starts_with({element}, {p}) THEN {element}[{len(prefix) + 1}:] ELSE {element} END"
    if rule.extract:
        element = f"regexp_extract({element}, {quote_str(rule.extract)}, 1)"
    kept = f"list_filter(list_transform(string_split({value}, ';'), lambda x: {element}), lambda x: x <> '')"
    return f"CASE WHEN {value} IS NULL THEN NULL ELSE nullif(array_to_string(list_distinct({kept}), ';'), '') END"


def _skip_when(condition: Any, fmt: str, where: Location) -> str | None:
    if condition is None:
        return None
    if not isinstance(condition, str) or fmt != "jsonl":
        raise ConfigError("skip_when is one JMESPath condition (jsonl mappings)", where)
    return condition


def _jp_column(path: str) -> str:
    return "_jp_" + str(abs(hash(path)))


def _text(value: Any) -> str | None:
    if value is None or value == [] or value == "":
        return None
    if isinstance(value, list):
        return ";".join(str(v) for v in value if v is not None)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


def _const_sql(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, list | tuple):
        return quote_str(";".join(str(v) for v in value))
    if isinstance(value, bool):
        return quote_str(str(value).lower())
    return quote_str(str(value))


def _time_sql(value: str, fmt: str, kind: str) -> str:
    out = "%Y-%m-%d" if kind == "date" else _ISO
    zone = "" if kind == "date" else " || 'Z'"
    if fmt == "iso":
        return value
    if fmt in ("epoch_s", "epoch_ms"):
        scale = 1000.0 if fmt == "epoch_ms" else 1.0
        parsed = f"to_timestamp(TRY_CAST({value} AS DOUBLE) / {scale})"
    elif fmt == "epoch":
        number = f"TRY_CAST({value} AS DOUBLE)"
        parsed = f"to_timestamp({number} / {_EPOCH_SCALE.format(v=number)})"
    else:
        parsed = f"try_strptime({value}, {quote_str(fmt)})"
    # An unparseable value stays as written, so the contract rejects it by name.
    return f"coalesce(strftime({parsed}, {quote_str(out)}){zone}, {value})"


def _rule(target: str, spec: Any, fmt: str, where: Location) -> FieldRule:
    if isinstance(spec, str):
        return FieldRule(target, path=spec)
    if not isinstance(spec, dict):
        raise ConfigError("give a path, or {path|const: ..., map, default, ...}", where)
    unknown = set(spec) - _RULE_KEYS
    if unknown:
        raise ConfigError(
            f"unknown key(s) {', '.join(sorted(unknown))} (known: {', '.join(sorted(_RULE_KEYS))})",
            where,
        )
    if ("path" in spec) == ("const" in spec):
        raise ConfigError("give exactly one of path and const", where)
    mapping = spec.get("map")
    if mapping is not None and not isinstance(mapping, dict):
        raise ConfigError("map must be a mapping of source value: contract value", where)
    return FieldRule(
        target,
        path=str(spec["path"]) if "path" in spec else None,
        const=spec.get("const"),
        map={str(k): v for k, v in mapping.items()} if mapping else None,
        default=spec.get("default"),
        split=spec.get("split"),
        format=spec.get("format"),
        prefix=str(spec.get("prefix") or ""),
        strip_prefix=_strings(spec.get("strip_prefix"), where),
        extract=_regex(spec.get("extract"), where),
    )


def connection() -> duckdb.DuckDBPyConnection:
    """An in-memory engine for mapping batches (times rendered in UTC)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


class _Functions(jmespath.functions.Functions):
    """JMESPath plus ``matches(value, regex)``: a case-insensitive regex search, so that a
    mapping can pick records by a pattern (``resources[?matches(type, 'patient')]``)."""

    @jmespath.functions.signature({"types": []}, {"types": ["string"]})
    def _func_matches(self, value: Any, pattern: str) -> bool:
        return value is not None and re.search(pattern, str(value), re.I) is not None


_JMESPATH_OPTIONS = jmespath.Options(custom_functions=_Functions())


def _strings(value: Any, where: Location) -> tuple[str, ...]:
    values = [value] if isinstance(value, str) else value or []
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise ConfigError("give a text or a list of texts", where)
    return tuple(values)


def _regex(value: Any, where: Location) -> str | None:
    if value is None:
        return None
    try:
        groups = re.compile(str(value)).groups
    except re.error as exc:
        raise ConfigError(f"bad regex {value!r}: {exc}", where) from None
    if groups < 1:
        raise ConfigError("extract needs a group: the part in (...) is kept", where)
    return str(value)
