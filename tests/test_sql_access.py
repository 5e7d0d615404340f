"""Statement analysis: which customer data a SQL statement touched, with literals cut
out before anything is parsed or kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insiderwatch.errors import ConfigError
from insiderwatch.sources.sql_access import UNPARSED, SqlMap, StatementReader, split_literals


@pytest.mark.parametrize(
    ("sql", "operation", "ids", "fields", "id_predicate"),
    [
        ("SELECT email FROM customers WHERE id = 42", "read", ["42"], ["email"], True),
        (
            "select * from customers where id in (1, 2, 3)",
            "read",
            ["1", "2", "3"],
            ["name", "email", "phone", "address"],
            True,
        ),
        (
            "SELECT name FROM customers WHERE id BETWEEN 5 AND 7",
            "read",
            ["5", "6", "7"],
            ["name"],
            True,
        ),
        (
            "SELECT phone FROM customers WHERE id > 5 AND id <= 7",
            "read",
            ["6", "7"],
            ["phone"],
            True,
        ),
        ("SELECT phone FROM customers WHERE id BETWEEN 1 AND 100000", "read", [], ["phone"], True),
        ("SELECT * FROM customers", "read", [], ["name", "email", "phone", "address"], False),
        ("SELECT count(*) FROM customers", "read", [], [], False),
        ("SELECT id FROM customers WHERE email = 'a@b.c'", "read", [], [], False),
        (
            "SELECT c.name, o.total FROM customers c JOIN orders o ON o.customer_id = c.id WHERE c.id = 9",
            "read",
            ["9"],
            ["name", "orders"],
            True,
        ),
        (
            "WITH x AS (SELECT * FROM customers WHERE id = 3) SELECT email FROM x",
            "read",
            ["3"],
            ["name", "email", "phone", "address"],
            True,
        ),
        ("SELECT total FROM orders WHERE customer_id = 12", "read", ["12"], ["orders"], True),
        ("UPDATE customers SET phone = '1' WHERE id = 4", "write", ["4"], ["phone"], True),
        ("INSERT INTO customers (id, email) VALUES (1, 'x')", "write", [], ["email"], False),
        ("DELETE FROM customers WHERE id = 8", "write", ["8"], [], True),
        ("COPY customers TO STDOUT", "export", [], ["name", "email", "phone", "address"], False),
        (
            "COPY (SELECT email FROM customers WHERE id = 2) TO '/tmp/x.csv'",
            "export",
            ["2"],
            ["email"],
            True,
        ),
        ("COPY customers FROM STDIN", "write", [], ["name", "email", "phone", "address"], False),
        ("CREATE TABLE t AS SELECT email FROM customers", "copy", [], ["email"], False),
        ("SELECT email FROM customers WHERE id = $1", "read", [], ["email"], True),
    ],
)
def test_statements(sql, operation, ids, fields, id_predicate):
    access = StatementReader().read(sql)
    assert access.customer_data
    assert access.analysis.operation == operation
    assert list(access.customer_ids) == ids
    assert sorted(access.analysis.fields) == sorted(fields)
    assert access.analysis.id_predicate is id_predicate


@pytest.mark.parametrize(
    ("sql", "internal"),
    [
        ("SELECT * FROM products WHERE id = 1", False),
        ("SELECT relname FROM pg_catalog.pg_class", True),
        ("SELECT * FROM information_schema.tables", True),
        (
            'SELECT 1 FROM ONLY "public"."customers" x WHERE "id" OPERATOR(pg_catalog.=) $1 FOR KEY SHARE OF x',
            True,
        ),
        ("SET search_path = public", False),
        ("SELECT 1", False),
    ],
)
def test_not_customer_access(sql, internal):
    access = StatementReader().read(sql)
    assert not access.customer_data
    assert access.analysis.internal is internal


def test_literals_never_reach_the_fingerprint():
    reader = StatementReader()
    one = reader.read("SELECT id FROM customers WHERE email = 'ann@example.com' AND id IN (1,2)")
    two = reader.read("SELECT id FROM customers WHERE email = 'bob@example.com' AND id IN (7,8,9)")
    assert one.analysis.fingerprint == two.analysis.fingerprint
    assert "ann@example.com" not in one.analysis.text and "?" in one.analysis.text
    assert reader.analyse.cache_info().currsize == 2  # two shapes (IN lists of 2 and 3)


def test_mysql_literals_and_comments():
    normalised, literals = split_literals(
        "SELECT `e` FROM t WHERE a = 'it\\'s' -- 'x'\n AND b = \"y\"", "mysql"
    )
    assert literals == ["it\\'s", "y"]
    assert "x" not in normalised and "`e`" in normalised


def test_sql_map_configures_tables_and_columns(tmp_path: Path):
    path = tmp_path / "map.yaml"
    path.write_text(
        "tables:\n  accts: {fields: [payment], customer_id: owner, customers: false}\n"
        "columns:\n  people.handle: email\n  people.name: null\nignore: [customers]\n"
    )
    sql_map = SqlMap.load(path)
    reader = StatementReader(sql_map)
    accts = reader.read("SELECT * FROM accts WHERE owner = 5")
    assert (list(accts.customer_ids), accts.analysis.fields) == (["5"], ("payment",))
    people = reader.read("SELECT handle, name FROM people WHERE id = 1")
    assert people.analysis.fields == ("email",)
    assert not reader.read("SELECT * FROM customers").customer_data


def test_sql_map_rejects_unknown_categories(tmp_path: Path):
    path = tmp_path / "map.yaml"
    path.write_text("columns:\n  customers.iban: bank\n")
    with pytest.raises(ConfigError, match="unknown field category bank"):
        SqlMap.load(path)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_analysed_without_crashing(text):
    for dialect in ("postgres", "mysql"):
        access = StatementReader(dialect=dialect).read(text)
        assert isinstance(access.customer_ids, tuple)


def test_deeply_nested_statement_is_guessed_not_a_crash():
    """Fifty nested parentheses overflowed the parser's recursion and stopped every
    later line of the log; now the statement keeps a guessed shape and no text."""
    reader = StatementReader()
    nested = "SELECT email FROM customers WHERE id = " + "(" * 400 + "1" + ")" * 400
    access = reader.read(nested)
    assert access.analysis.tables == ("customers",)
    assert access.analysis.text == UNPARSED
    assert reader.read("SELECT email FROM customers WHERE id = 3").customer_ids == ("3",)


HIDDEN = "ann.hidden@example.com"


@pytest.mark.parametrize(
    ("dialect", "sql"),
    [
        # A backslash does not escape in a standard PostgreSQL string: 'x\' is closed.
        ("postgres", f"SELECT id FROM customers WHERE note = 'x\\' AND email = '{HIDDEN}'"),
        ("postgres", f"SELECT id FROM customers WHERE email = $q1${HIDDEN}$q1$"),
        ("postgres", f"SELECT id FROM customers WHERE email = $${HIDDEN}$$"),
        ("postgres", f"SELECT id /* a /* nested */ {HIDDEN} */ FROM customers WHERE id = 1"),
        ("postgres", f"SELECT id FROM customers WHERE email = E'it\\'s {HIDDEN}'"),
        ("postgres", f"SELECT id FROM customers WHERE email = '{HIDDEN}"),  # never closed
        ("mysql", f"SELECT id FROM customers # {HIDDEN}\nWHERE id = 1"),
        ("mysql", f'SELECT id FROM customers WHERE email = "{HIDDEN}"'),
        ("mysql", f"SELECT id FROM customers WHERE email = 'it\\'s {HIDDEN}'"),
    ],
)
def test_no_literal_or_comment_reaches_the_stored_text(dialect, sql):
    access = StatementReader(dialect=dialect).read(sql)
    assert access.customer_data
    for part in (HIDDEN, "ann.hidden", "example.com"):
        assert part not in access.analysis.text


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["postgres", "mysql"]),
    st.sampled_from(["'{}'", "$$ {} $$", "$t1${}$t1$", "/* {} */", "-- {}\n", "E'{}'", "'{}"]),
    st.text(alphabet="ab'\\$/*-#\" ", max_size=12),
)
def test_stored_text_never_holds_a_quoted_value(dialect, wrapper, noise):
    sql = f"SELECT id FROM customers WHERE note = {wrapper.format(noise + HIDDEN)} AND id = 2"
    text = StatementReader(dialect=dialect).read(sql).analysis.text
    assert "hidden" not in text and "example" not in text
