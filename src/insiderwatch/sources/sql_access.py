"""What a SQL statement did to customer data, read from its text with sqlglot.

A statement's literals are personal data (``WHERE email = 'ann@example.com'``), so they
are cut out first: each becomes a numbered marker (a plain integer, the literal's index)
and only that normalised text is parsed, cached and fingerprinted. The literals are
consulted afterwards, and only at the positions the analysis found to be customer-id
predicates. Statements that differ only in their literals share one cache entry, which
is what makes parsing affordable on a busy database's audit log.

Customer data is recognised by a :class:`SqlMap`: a configurable map from ``table`` and
``table.column`` to the contract's field categories, with defaults inferred from names
(``customers.email`` is an email, ``orders`` holds orders) so a first run needs none.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from insiderwatch.contract import FIELD_CATEGORIES
from insiderwatch.errors import ConfigError, Location

# sqlglot logs statements it only half understands; they are not ours to print.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

Dialect = Literal["postgres", "mysql"]
Operation = Literal["read", "write", "export", "copy", "other"]

# Literals per dialect; quoted identifiers and comments are matched first so that a
# quote inside them is not taken for a string. Comments are dropped (they may hold data).
# PostgreSQL: a plain '...' string treats a backslash as an ordinary character
# (standard_conforming_strings, the default since 9.1); only E'...' strings escape with
# it. Dollar-quote tags may hold digits ($q1$...$q1$). MySQL escapes with a backslash
# and also comments with '#'.
_KEEP = {"postgres": r'"(?:[^"]|"")*"', "mysql": r"`(?:[^`]|``)*`"}
_STRINGS = {
    "postgres": r"[Ee]'(?:[^'\\]|''|\\.)*'|[Nn]?'(?:[^']|'')*'"
    r"|\$(?P<tag>(?:[A-Za-z_][A-Za-z_0-9]*)?)\$.*?\$(?P=tag)\$",
    "mysql": r"'(?:[^'\\]|\\.|'')*'|\"(?:[^\"\\]|\\.|\"\")*\"",
}
# A quote that never closes: everything after it is a literal, never statement text.
_OPEN = {"postgres": r"[EeNn]?'|\$(?:[A-Za-z_][A-Za-z_0-9]*)?\$", "mysql": r"['\"]"}
_COMMENTS = {"postgres": r"--[^\n]*|/\*", "mysql": r"--[^\n]*|#[^\n]*|/\*"}
_NUMBER = r"(?<![\w$.])\d+(?:\.\d*)?(?:[eE][-+]?\d+)?(?![\w.])"
# Characters a token can start with: the lookahead lets the engine skip every other
# position at once, which nearly halves the time spent per statement.
_FIRST = {"postgres": "-/\"'$0-9EeNn", "mysql": "-/#`'\"0-9"}
_TOKENS = {
    d: re.compile(
        rf"(?=[{_FIRST[d]}])(?:(?P<keep>{_KEEP[d]})|(?P<comment>{_COMMENTS[d]})"
        rf"|(?P<lit>{_STRINGS[d]}|{_NUMBER})|(?P<open>{_OPEN[d]}))",
        re.S,
    )
    for d in _KEEP
}
_BLOCK_EDGE = re.compile(r"/\*|\*/")
# Stored in place of a statement the parser could not read: its text was not proven
# free of literals, so none of it is kept.
UNPARSED = "<unparsed statement: text withheld>"

SYSTEM_SCHEMAS = frozenset(
    {"pg_catalog", "information_schema", "pg_toast", "mysql", "performance_schema", "sys"}
)
# A foreign-key check PostgreSQL runs on the user's behalf (``SELECT 1 FROM ONLY t x
# WHERE id OPERATOR(pg_catalog.=) $1 FOR KEY SHARE OF x``): not staff access.
_FK_CHECK = re.compile(r"^\s*SELECT \d+ FROM ONLY .* FOR KEY SHARE OF ", re.I | re.S)
_RANGE_LIMIT = 1000  # a wider id range is a bulk read, not a list of customers
# A prepared statement is logged as its PREPARE text when it is executed: the statement
# that ran is what follows AS.
_PREPARE = re.compile(r"^\s*PREPARE\s+\w+\s*(?:\([^)]*\))?\s+AS\s+", re.I)
NOT_LOGGED = "<not logged>"  # pgaudit.log_statement = off: only command and relation
# What a logged command does when the statement text cannot tell (not logged, or a
# syntax the parser does not know, such as SQL/PGQ GRAPH_TABLE).
_COMMAND_OPERATIONS: dict[str, Operation] = {
    "SELECT": "read",
    "INSERT": "write",
    "UPDATE": "write",
    "DELETE": "write",
    "MERGE": "write",
    "TRUNCATE TABLE": "write",
}

_TABLE_GUESSES: tuple[tuple[str, tuple[str, ...], str | None, bool], ...] = (
    # (table name pattern, categories SELECT * exposes, customer-id column, rows are customers)
    (
        r"customer|client|contact|member|patient|subscriber|consumer|person|people",
        ("name", "email", "phone", "address"),
        "id",
        True,
    ),
    (r"order", ("orders",), "customer_id", False),
    (r"payment|card|invoice|billing|bank", ("payment",), "customer_id", False),
    (r"address", ("address",), "customer_id", False),
    (r"note|comment|ticket|interaction", ("notes",), "customer_id", False),
)
_COLUMN_GUESSES: tuple[tuple[str, str], ...] = (
    (r"e_?mail", "email"),
    (r"phone|mobile|(^|_)tel(_|$)|fax", "phone"),
    (
        r"^(name|full_?name|first_?name|last_?name|surname|given_?name|family_?name|"
        r"display_?name|customer_?name|contact_?name)$",
        "name",
    ),
    (r"address|street|city|post_?code|zip|postal|(^|_)line_?[12]$", "address"),
    (r"card|iban|bank|account_?number|payment|(^|_)pan(_|$)|cvv|sort_?code", "payment"),
    (r"note|comment|remark", "notes"),
)


@dataclass(frozen=True)
class TableRule:
    categories: tuple[str, ...]  # what ``SELECT *`` exposes
    id_column: str | None = "customer_id"  # the column naming the customer
    customers: bool = False  # one row per customer (its id column is the customer id)


@dataclass(frozen=True)
class SqlMap:
    """Which tables and columns hold customer data; anything not configured is guessed."""

    tables: dict[str, TableRule] = field(default_factory=dict)
    columns: dict[str, str | None] = field(default_factory=dict)  # "table.column" -> category
    ignore: frozenset[str] = frozenset()  # tables that never count (e.g. an app's own log)

    def rule(self, table: str) -> TableRule | None:
        if table in self.ignore:
            return None
        if table in self.tables:
            return self.tables[table]
        for pattern, categories, id_column, customers in _TABLE_GUESSES:
            if re.search(pattern, table):
                return TableRule(categories, id_column, customers)
        return None

    def category(self, table: str | None, column: str) -> str | None:
        if table is not None and f"{table}.{column}" in self.columns:
            return self.columns[f"{table}.{column}"]
        if column == "id" or column.endswith("_id"):
            return None  # keys link records; they show nothing about the person
        for pattern, category in _COLUMN_GUESSES:
            if re.search(pattern, column):
                return category
        rule = self.rule(table) if table else None
        if rule and not rule.customers and rule.categories:
            return rule.categories[0]  # any column of an orders table is about orders
        return None

    @classmethod
    def load(cls, path: Path | None) -> SqlMap:
        """From a YAML file: ``tables: {name: {fields: [...], customer_id: col,
        customers: bool}}``, ``columns: {table.column: category or null}``, ``ignore: []``."""
        if path is None:
            return cls()
        import yaml

        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read SQL map: {exc}", Location(str(path))) from None
        tables = {}
        for name, spec in (doc.get("tables") or {}).items():
            spec = spec or {}
            categories = tuple(spec.get("fields") or ())
            _check_categories(categories, path, f"tables.{name}.fields")
            tables[name.lower()] = TableRule(
                categories, spec.get("customer_id", "customer_id"), bool(spec.get("customers"))
            )
        columns = {k.lower(): v for k, v in (doc.get("columns") or {}).items()}
        for key, value in columns.items():
            _check_categories([value] if value else [], path, f"columns.{key}")
        ignore = frozenset(t.lower() for t in doc.get("ignore") or ())
        return cls(tables, columns, ignore)


def _check_categories(values: Iterable[str], path: Path, where: str) -> None:
    bad = [v for v in values if v not in FIELD_CATEGORIES]
    if bad:
        raise ConfigError(
            f"unknown field categor{'y' if len(bad) == 1 else 'ies'} {', '.join(bad)} "
            f"(known: {', '.join(FIELD_CATEGORIES)})",
            Location(str(path), field=where),
        )


@dataclass(frozen=True)
class Analysis:
    """What the statement shape does, independent of its literals (cached)."""

    operation: Operation
    tables: tuple[str, ...]  # customer-data tables touched
    fields: tuple[str, ...]
    id_refs: tuple[int, ...] = ()  # literal indexes compared with a customer id
    # (low, high) literal indexes and whether each bound is strict (< rather than <=)
    ranges: tuple[tuple[int, int, bool, bool], ...] = ()
    id_predicate: bool = False  # filtered by customer id (values may be parameters)
    aggregate_only: bool = False  # e.g. SELECT count(*): no record shown
    internal: bool = False  # the database's own work, not staff access
    fingerprint: str = ""
    text: str = ""  # normalised statement, literals replaced by ?


@dataclass(frozen=True)
class Access:
    analysis: Analysis
    customer_ids: tuple[str, ...]

    @property
    def customer_data(self) -> bool:
        return bool(self.analysis.tables) and not self.analysis.internal


def split_literals(sql: str, dialect: Dialect) -> tuple[str, list[str]]:
    """(statement with literal i replaced by the integer i, the literals' values)."""
    pattern, nested = _TOKENS[dialect], dialect == "postgres"
    literals: list[str] = []
    out: list[str] = []
    pos = 0
    while m := pattern.search(sql, pos):
        out.append(sql[pos : m.start()])
        kind, end = m.lastgroup, m.end()
        if kind == "keep":
            out.append(m[0])
        elif kind == "comment":
            if m[0] == "/*":
                end = _block_comment_end(sql, end, nested)
            out.append(" ")
        else:
            text = m[0]
            if kind == "open":  # unterminated: the rest of the text is the literal
                text, end = sql[end:], len(sql)
            elif text[0] in "'\"" or text[:2].lower() in ("e'", "n'"):
                quote = text[-1]
                body = text[text.index(quote) + 1 : -1]
                text = body.replace(quote * 2, quote)
            elif text.startswith("$"):
                text = text[text.index("$", 1) + 1 : text.rindex("$", 0, -1)]
            literals.append(text)
            out.append(str(len(literals) - 1))
        pos = end
    out.append(sql[pos:])
    return "".join(out), literals


def _block_comment_end(sql: str, pos: int, nested: bool) -> int:
    """Where a block comment opened just before ``pos`` ends (PostgreSQL nests them);
    an unclosed comment runs to the end of the text."""
    depth = 1
    for edge in _BLOCK_EDGE.finditer(sql, pos):
        if edge[0] == "*/":
            depth -= 1
        elif nested:
            depth += 1
        if depth == 0:
            return edge.end()
    return len(sql)


class StatementReader:
    """Analyses statements, caching one analysis per normalised shape."""

    def __init__(self, sql_map: SqlMap | None = None, dialect: Dialect = "postgres") -> None:
        self.map = sql_map or SqlMap()
        self.dialect = dialect
        self.analyse = lru_cache(maxsize=50_000)(self._analyse)

    def read(
        self, sql: str, command: str = "", table: str = "", relations: tuple[str, ...] = ()
    ) -> Access:
        """``command`` and ``table``, when the log names them, pick the statement meant
        when one logged text holds several; ``relations`` (every table the log names for
        the statement) stand in when the text shows no customer table."""
        normalised, literals = split_literals(_PREPARE.sub("", sql, count=1), self.dialect)
        analysis = self.analyse(normalised, command, table)
        if relations and not analysis.tables and not analysis.internal:
            logged = self.logged_relations(command, relations, analysis)
            if logged.tables:
                return Access(logged, ())
        ids = [literals[i] for i in analysis.id_refs if i < len(literals)]
        for bounds in analysis.ranges:
            ids.extend(_expand(literals, *bounds))
        return Access(analysis, tuple(dict.fromkeys(ids)))

    def logged_relations(
        self, command: str, relations: tuple[str, ...], analysis: Analysis
    ) -> Analysis:
        """What the log's command and relation names say: every category the tables hold,
        no customer ids (the predicate is unknown, so a bulk read)."""
        data = {
            name: rule
            for raw in relations
            if not _is_system(raw) and (rule := self.map.rule(name := _table_name(raw)))
        }
        operation = _COMMAND_OPERATIONS.get(command.upper(), "other")
        return Analysis(
            operation,
            tuple(data),
            tuple(dict.fromkeys(c for r in data.values() for c in r.categories)),
            fingerprint=analysis.fingerprint,
            text=analysis.text,
        )

    # -- analysis -------------------------------------------------------------------
    def _analyse(self, normalised: str, command: str, table: str) -> Analysis:
        try:
            return self._analyse_parsed(normalised, command, table)
        except RecursionError:
            # Deeply nested text (any database user can log one) is more than the parser
            # can hold: the event keeps the shape guessed from the text, ingest goes on.
            return self._guess(normalised, _fingerprint(normalised))

    def _analyse_parsed(self, normalised: str, command: str, table: str) -> Analysis:
        command, table = command.upper(), _table_name(table)
        fingerprint = _fingerprint(normalised)
        if _FK_CHECK.match(normalised):
            return Analysis("read", (), (), internal=True, fingerprint=fingerprint, text=UNPARSED)
        try:
            trees = [t for t in sqlglot.parse(normalised, read=self.dialect) if t is not None]
        except SqlglotError:
            trees = []
        if command and len(trees) > 1:
            # One logged text holding several statements: keep those the log names.
            matching = [t for t in trees if t.key.upper() == command.split()[0]]
            named = [
                t for t in matching if any(x.name.lower() == table for x in t.find_all(exp.Table))
            ]
            trees = named or matching or trees
        if not trees:
            return self._guess(normalised, fingerprint)
        parts = [_StatementWalk(tree, self.map).result() for tree in trees]
        return _merge(parts, fingerprint, _literal_free_text(trees, self.dialect))

    def _guess(self, normalised: str, fingerprint: str) -> Analysis:
        """Unparseable text: tables by pattern, every category they hold, no ids (bulk)."""
        names = re.findall(r"\b(?:from|join|into|update|copy)\s+([\w.\"`]+)", normalised, re.I)
        rules = {_table_name(n): self.map.rule(_table_name(n)) for n in names if not _is_system(n)}
        data = {t: r for t, r in rules.items() if r}
        fields = tuple(dict.fromkeys(c for r in data.values() for c in r.categories))
        op: Operation = "read"
        if _DDL.match(normalised):
            op = "other"  # CREATE PROCEDURE/TRIGGER ... defines, runs nothing now
        elif re.match(r"\s*(insert|update|delete|merge)", normalised, re.I):
            op = "write"
        elif re.match(r"\s*copy\b.*\bto\b", normalised, re.I | re.S):
            op = "export"
        return Analysis(op, tuple(data), fields, fingerprint=fingerprint, text=UNPARSED)


_DDL = re.compile(r"\s*(?:create|alter|drop|comment|grant|revoke)\b", re.I)


def _merge(parts: list[Analysis], fingerprint: str, text: str) -> Analysis:
    order = ("export", "copy", "write", "read", "other")
    op = min((p.operation for p in parts), key=order.index)
    return Analysis(
        operation=op,
        tables=tuple(dict.fromkeys(t for p in parts for t in p.tables)),
        fields=tuple(dict.fromkeys(f for p in parts for f in p.fields)),
        id_refs=tuple(i for p in parts for i in p.id_refs),
        ranges=tuple(r for p in parts for r in p.ranges),
        id_predicate=all(p.id_predicate for p in parts if p.tables)
        and any(p.tables for p in parts),
        aggregate_only=all(p.aggregate_only for p in parts),
        internal=all(p.internal for p in parts),
        fingerprint=fingerprint,
        text=text,
    )


def _fingerprint(normalised: str) -> str:
    """The shape's id: statements differing only in literals (or IN-list length) share it."""
    text = re.sub(r"(?<![\w$.])\d+(?![\w.])", "?", normalised)
    text = re.sub(r"\(\s*\?(?:\s*,\s*\?)+\s*\)", "(?)", text)  # IN lists of any length
    text = re.sub(r"\s+", " ", text).strip()
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _literal_free_text(trees: list[exp.Expression], dialect: Dialect) -> str:
    """The statement as stored: regenerated from the parse tree with every literal node
    replaced by ``?`` and comments left out, so no value the regular-expression pass
    might have missed can reach the store."""
    placeholder = exp.Var(this="?")
    texts = [
        tree.transform(lambda n: placeholder.copy() if isinstance(n, exp.Literal) else n).sql(
            dialect=dialect, comments=False
        )
        for tree in trees
    ]
    text = "; ".join(texts)
    return re.sub(r"\(\s*\?(?:\s*,\s*\?)+\s*\)", "(?)", text)  # IN lists of any length


def _expand(
    literals: list[str], low: int, high: int, low_strict: bool, high_strict: bool
) -> list[str]:
    try:
        lo, hi = int(literals[low]) + low_strict, int(literals[high]) - high_strict
    except (IndexError, ValueError):
        return []
    return [str(i) for i in range(lo, hi + 1)] if 0 <= hi - lo < _RANGE_LIMIT else []


def _table_name(raw: str) -> str:
    return raw.replace('"', "").replace("`", "").split(".")[-1].lower()


def _is_system(raw: str) -> bool:
    parts = raw.replace('"', "").replace("`", "").lower().split(".")
    return (len(parts) > 1 and parts[-2] in SYSTEM_SCHEMAS) or parts[-1].startswith("pg_")


def _materialized(tree: exp.Create) -> bool:
    properties = tree.args.get("properties")
    return bool(properties) and any(
        isinstance(p, exp.MaterializedProperty) for p in properties.expressions
    )


def _marker(node: exp.Expression) -> int | None:
    """The literal index a marker stands for (every plain number is one)."""
    if isinstance(node, exp.Neg):
        node = node.this
    if isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit():
        return int(node.this)
    return None


class _StatementWalk:
    """One parsed statement: its tables, exposed categories and customer-id predicates."""

    def __init__(self, tree: exp.Expression, sql_map: SqlMap) -> None:
        self.tree = tree
        self.map = sql_map
        ctes = {c.alias_or_name.lower() for c in tree.find_all(exp.CTE)}
        self.aliases: dict[str, str] = {}
        self.system = True
        self.data: dict[str, TableRule] = {}
        for table in tree.find_all(exp.Table):
            name = table.name.lower()
            if not name or name in ctes:
                continue
            schema = (table.db or "").lower()
            system = schema in SYSTEM_SCHEMAS or name.startswith("pg_")
            self.system = self.system and system
            self.aliases[table.alias_or_name.lower()] = name
            rule = None if system else self.map.rule(name)
            if rule:
                self.data[name] = rule

    def result(self) -> Analysis:
        operation, fields = self._operation_and_fields()
        ids, ranges, predicate = self._id_predicates()
        return Analysis(
            operation=operation,
            tables=tuple(self.data),
            fields=tuple(dict.fromkeys(fields)) if self.data else (),
            id_refs=tuple(ids),
            ranges=tuple(ranges),
            id_predicate=predicate,
            aggregate_only=self._aggregate_only(),
            internal=self.system and bool(self.aliases),
        )

    def _operation_and_fields(self) -> tuple[Operation, list[str]]:
        tree = self.tree
        if isinstance(tree, exp.Copy):
            op: Operation = "write" if tree.args.get("kind") else "export"
            if isinstance(tree.this, exp.Table):
                rule = self.data.get(tree.this.name.lower())
                return op, list(rule.categories) if rule else []
            return op, self._read_fields()
        if isinstance(tree, exp.Update):
            cols = [e.this for e in tree.expressions if isinstance(e, exp.EQ)]
            return "write", self._column_fields(c for c in cols if isinstance(c, exp.Column))
        if isinstance(tree, exp.Insert):
            target = tree.this
            if isinstance(target, exp.Schema) and target.expressions:
                table = _table_name(target.this.name) if target.this else None
                names = [i.name.lower() for i in target.expressions]
                return "write", [c for n in names if (c := self.map.category(table, n))]
            rule = self.data.get(tree.this.name.lower()) if tree.this else None
            return "write", list(rule.categories) if rule else []
        if isinstance(tree, exp.Delete | exp.Merge):
            return "write", []
        if isinstance(tree, exp.Create) and isinstance(tree.expression, exp.Query):
            # CREATE TABLE / MATERIALIZED VIEW ... AS SELECT stores the rows; a view
            # only stores the query (DDL).
            if tree.kind == "TABLE" or _materialized(tree):
                return "copy", self._read_fields()
            return "other", []
        if isinstance(tree, exp.Query):
            return "read", self._read_fields()
        return "other", []

    def _read_fields(self) -> list[str]:
        fields: list[str] = []
        for select in self.tree.find_all(exp.Select):
            sources = [
                t.name.lower()
                for t in select.find_all(exp.Table)
                if t.find_ancestor(exp.Select) is select
            ]
            for projection in select.expressions:
                fields.extend(self._projection_fields(projection, sources))
        return fields

    def _projection_fields(self, projection: exp.Expression, sources: list[str]) -> list[str]:
        if isinstance(projection, exp.Star):
            return [c for s in sources if (r := self.data.get(s)) for c in r.categories]
        found = []
        for column in projection.find_all(exp.Column):
            if column.find_ancestor(exp.Count) is not None:
                continue  # count(x) shows how many, not what
            if isinstance(column.this, exp.Star):
                table = self.aliases.get(column.table.lower(), column.table.lower())
                rule = self.data.get(table)
                found.extend(rule.categories if rule else ())
            else:
                found.extend(self._column_fields([column], sources))
        return found

    def _column_fields(self, columns: Iterable[exp.Column], sources: list[str] = ()) -> list[str]:
        found = []
        data_sources = [s for s in sources if s in self.data] or list(self.data)
        for column in columns:
            qualifier = column.table.lower()
            table = self.aliases.get(qualifier, qualifier) if qualifier else None
            if table is None and len(data_sources) == 1:
                table = data_sources[0]
            category = self.map.category(table, column.name.lower())
            if category:
                found.append(category)
        return found

    def _aggregate_only(self) -> bool:
        select = self.tree if isinstance(self.tree, exp.Select) else None
        return bool(select and select.expressions) and all(
            isinstance(p.unalias(), exp.AggFunc) for p in select.expressions
        )

    def _is_id_column(self, column: exp.Expression) -> bool:
        if not isinstance(column, exp.Column):
            return False
        name, qualifier = column.name.lower(), column.table.lower()
        if qualifier:
            rule = self.data.get(self.aliases.get(qualifier, qualifier))
            return bool(rule) and name == rule.id_column
        ids = {r.id_column for r in self.data.values()}
        return name in ids

    def _id_predicates(self) -> tuple[list[int], list[tuple[int, int, bool, bool]], bool]:
        ids: list[int] = []
        ranges: list[tuple[int, int, bool, bool]] = []
        bounds: dict[str, dict[str, tuple[int, bool]]] = {}
        predicate = False
        for where in self.tree.find_all(exp.Where):
            for node in where.find_all(
                exp.EQ, exp.In, exp.Between, exp.GT, exp.GTE, exp.LT, exp.LTE
            ):
                column, values = node.this, []
                if not self._is_id_column(column):
                    if isinstance(node, exp.EQ) and self._is_id_column(node.expression):
                        column, values = node.expression, [node.this]
                    else:
                        continue
                if isinstance(node, exp.EQ):
                    values = values or [node.expression]
                    if isinstance(values[0], exp.Column):
                        continue  # a join condition, not a filter
                    predicate = True
                    ids.extend(m for v in values if (m := _marker(v)) is not None)
                elif isinstance(node, exp.In):
                    predicate = True
                    ids.extend(m for v in node.expressions if (m := _marker(v)) is not None)
                elif isinstance(node, exp.Between):
                    low, high = _marker(node.args["low"]), _marker(node.args["high"])
                    predicate = True
                    if low is not None and high is not None:
                        ranges.append((low, high, False, False))
                else:
                    side = "low" if isinstance(node, exp.GT | exp.GTE) else "high"
                    marker = _marker(node.expression)
                    if marker is not None:
                        strict = isinstance(node, exp.GT | exp.LT)
                        bounds.setdefault(column.sql(), {})[side] = (marker, strict)
        for pair in bounds.values():
            if len(pair) == 2:
                predicate = True
                (low, low_strict), (high, high_strict) = pair["low"], pair["high"]
                ranges.append((low, high, low_strict, high_strict))
        return ids, ranges, predicate
