"""MariaDB server_audit against a real server: queries as several users, then the log
the plugin wrote is ingested and the events checked."""

from __future__ import annotations

import pytest

from insiderwatch.ingest import ingest_dataset, ingest_logs
from insiderwatch.sources.identity import IdentityMap
from insiderwatch.sources.kinds import SourceOptions
from sample_data import write_table
from servers import Mariadb

PHONE_LITERAL = "+44 7700 900123"
WORKLOAD = [
    ("alice", "SELECT name, email FROM shop.customers WHERE id = 42"),
    ("alice", "SELECT * FROM shop.customers WHERE id IN (1, 2, 3)"),
    ("bob", "SELECT * FROM shop.customers"),
    (
        "bob",
        "SELECT c.name, o.total FROM shop.customers c JOIN shop.orders o ON o.customer_id = c.id WHERE c.id = 7",
    ),
    ("bob", f"SELECT id FROM shop.customers WHERE phone = '{PHONE_LITERAL}'"),
    ("alice", "UPDATE shop.customers SET phone = 'x\\'y' WHERE id = 5"),
    ("alice", "SELECT * FROM shop.products"),
    ("alice", "SELECT * FROM shop.no_such_table"),
]


@pytest.fixture(scope="module")
def server():
    db = Mariadb()
    db.start()
    try:
        db.sql(
            """
            CREATE DATABASE shop;
            CREATE TABLE shop.customers (id INT PRIMARY KEY, name TEXT, email TEXT, phone TEXT);
            CREATE TABLE shop.orders (id INT PRIMARY KEY, customer_id INT, total DECIMAL(9,2));
            CREATE TABLE shop.products (id INT PRIMARY KEY, title TEXT);
            INSERT INTO shop.customers VALUES (1,'a','a@x','1'),(2,'b','b@x','2'),(7,'c','c@x','3');
            INSERT INTO shop.orders VALUES (1, 7, 10.5);
            CREATE USER alice@'%'; CREATE USER bob@'%';
            GRANT ALL ON shop.* TO alice@'%'; GRANT SELECT ON shop.* TO bob@'%';
            """
        )
        for user, sql in WORKLOAD:
            try:
                db.sql(sql, user=user)
            except RuntimeError:
                assert "no_such_table" in sql  # the failing statement is part of the test
        db.stop()  # the plugin flushes its log on shutdown
        yield db
    finally:
        db.remove()


@pytest.fixture
def loaded(store, hash_key, tmp_path, server):
    write_table(
        tmp_path / "roster",
        "employees",
        [{"employee_id": "E1", "role": "dba", "hired_on": "2020-01-01"}],
    )
    ingest_dataset(store, tmp_path / "roster", hash_key)
    options = SourceOptions(identities=IdentityMap({"mariadb-audit:alice": "E1"}))
    return store, ingest_logs(store, "mariadb-audit", [server.audit_log], hash_key, options)


def test_queries_become_events(loaded):
    store, report = loaded
    result = report.files[0]
    assert result.error is None and result.counts.rejected == 0
    rows = store.con.execute(
        "SELECT employee_id, action, customer_ids, fields, record_count, app FROM access "
        "WHERE employee_id <> 'mariadb-audit:root' ORDER BY time, event_id"
    ).fetchall()
    got = [(who, action, ids, sorted(fields)) for who, action, ids, fields, _, _ in rows]
    assert sorted(got) == sorted(
        [
            ("E1", "view", ["42"], ["email", "name"]),
            ("E1", "view", ["1", "2", "3"], ["address", "email", "name", "phone"]),
            ("mariadb-audit:bob", "search", [], ["address", "email", "name", "phone"]),
            ("mariadb-audit:bob", "view", ["7"], ["name", "orders"]),
            ("mariadb-audit:bob", "search", [], []),
            ("E1", "update", ["5"], ["phone"]),
        ]
    )
    assert {app for *_, app in rows} == {"mariadb"}
    assert result.skipped["table_event"] > 0  # the READ/WRITE lines beside each query
    assert result.skipped["failed_statement"] == 1
    assert result.skipped["not_customer_data"] >= 1  # products, and the setup's DDL
    assert report.unmapped["mariadb-audit:bob"] == 3


def test_literals_are_not_stored(loaded):
    store, _ = loaded
    texts = [
        t for (t,) in store.con.execute("SELECT statement FROM statement_fingerprints").fetchall()
    ]
    assert "SELECT id FROM shop.customers WHERE phone = ?" in texts
    assert not any(PHONE_LITERAL in t for t in texts)


def test_rerun_reads_nothing_new(loaded, server, hash_key):
    store, first = loaded
    options = SourceOptions(identities=IdentityMap({"mariadb-audit:alice": "E1"}))
    again = ingest_logs(store, "mariadb-audit", [server.audit_log], hash_key, options).files[0]
    assert again.counts.rows_read == 0
    replay = ingest_logs(
        store, "mariadb-audit", [server.audit_log], hash_key, options, from_start=True
    ).files[0]
    assert replay.counts.loaded == 0
    assert replay.counts.duplicates == first.files[0].counts.loaded
