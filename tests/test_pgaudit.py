"""pgaudit against a real PostgreSQL: run queries as several roles, ingest the log the
server wrote, and check the events (who, what, which customers, which fields)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from insiderwatch.ingest import ingest_dataset, ingest_logs, unmapped_identities
from insiderwatch.sources.identity import IdentityMap
from insiderwatch.sources.kinds import SourceOptions
from sample_data import write_table
from servers import Postgres

EMAIL_LITERAL = "ann.secret@example.com"

# (role, application, statement): the workload, in order.
WORKLOAD = [
    ("alice", "crm-console", "SELECT name, email FROM customers WHERE id = 42"),
    ("alice", "crm-console", "SELECT * FROM customers WHERE id IN (1, 2, 3)"),
    ("bob", "psql", "SELECT * FROM customers"),
    (
        "bob",
        "psql",
        "SELECT c.name, o.total FROM customers c JOIN orders o ON o.customer_id = c.id "
        "WHERE c.id = 7",
    ),
    ("bob", "psql", "COPY (SELECT email FROM customers WHERE id BETWEEN 10 AND 12) TO STDOUT"),
    ("analyst", "metabase", "SELECT count(*) FROM customers"),
    (
        "analyst",
        "metabase",
        "WITH big AS (SELECT customer_id FROM orders WHERE total > 100) "
        "SELECT c.phone FROM customers c JOIN big b ON b.customer_id = c.id",
    ),
    ("analyst", "metabase", f"SELECT id FROM customers WHERE email = '{EMAIL_LITERAL}'"),
    ("alice", "crm-console", "INSERT INTO orders VALUES (100, 5, 9.99)"),
    ("monitor", "pgwatch", "SELECT count(*) FROM customers"),
    ("alice", "crm-console", "SELECT * FROM products"),
]
CUSTOMERS = 60


@pytest.fixture(scope="module")
def server():
    pg = Postgres()
    pg.start()
    try:
        pg.psql(
            f"""
            CREATE EXTENSION pgaudit;
            CREATE TABLE customers (id int PRIMARY KEY, name text, email text, phone text);
            CREATE TABLE orders (id int PRIMARY KEY, customer_id int REFERENCES customers(id),
                                 total numeric);
            CREATE TABLE products (id int PRIMARY KEY, title text);
            INSERT INTO customers SELECT i, 'n' || i, 'e' || i || '@x.test', '0700' || i
              FROM generate_series(1, {CUSTOMERS}) i;
            INSERT INTO orders SELECT i, i, i * 10 FROM generate_series(1, 20) i;
            CREATE ROLE alice LOGIN; CREATE ROLE bob LOGIN; CREATE ROLE analyst LOGIN;
            CREATE ROLE monitor LOGIN;
            GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA public TO alice, bob, analyst, monitor;
            GRANT pg_write_server_files TO bob;
            """
        )
        for role, app, sql in WORKLOAD:
            pg.psql(sql, user=role, app=app)
        pg.stop()  # flushes the log
        yield pg
    finally:
        pg.remove()


@pytest.fixture
def loaded(store, hash_key, tmp_path, server):
    roster = tmp_path / "roster"
    write_table(
        roster,
        "employees",
        [
            {"employee_id": "E1", "role": "cs_agent", "hired_on": "2020-01-01"},
            {"employee_id": "E2", "role": "dba", "hired_on": "2020-01-01"},
        ],
    )
    ingest_dataset(store, roster, hash_key)
    options = SourceOptions(identities=IdentityMap({"alice": "E1", "pgaudit:bob": "E2"}))
    report = ingest_logs(store, "pgaudit", [server.csvlog], hash_key, options)
    return store, report


def _events(store) -> list[dict]:
    cur = store.con.execute(
        "SELECT employee_id, action, customer_ids, fields, record_count, app, src_ip, "
        "destination, event_id FROM access WHERE employee_id <> 'pgaudit:postgres' "
        "ORDER BY time, event_id"
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def test_each_statement_becomes_one_event_with_who_what_and_whom(loaded):
    store, report = loaded
    result = report.files[0]
    assert result.error is None and result.counts.rejected == 0
    events = _events(store)
    got = [
        (e["employee_id"], e["action"], e["customer_ids"], sorted(e["fields"]), e["record_count"])
        for e in events
    ]
    assert got == [
        ("E1", "view", ["42"], ["email", "name"], 1),
        ("E1", "view", ["1", "2", "3"], ["address", "email", "name", "phone"], 3),
        ("E2", "search", [], ["address", "email", "name", "phone"], CUSTOMERS),
        ("E2", "view", ["7"], ["name", "orders"], 1),
        ("E2", "export", ["10", "11", "12"], ["email"], 3),
        ("pgaudit:analyst", "search", [], [], 0),
        ("pgaudit:analyst", "search", [], ["phone"], 10),
        ("pgaudit:analyst", "search", [], [], 0),  # no such email: no row shown
        ("E1", "update", [], ["orders"], 1),
    ]
    assert {e["app"] for e in events} == {"crm-console", "psql", "metabase"}
    assert {e["src_ip"] for e in events} == {"127.0.0.1"}
    assert [e["destination"] for e in events if e["action"] == "export"] == ["local"]
    # The per-relation repeat of the join, the foreign-key check of the INSERT, the
    # monitoring connection and the products query are counted, not loaded.
    assert result.skipped["same_statement"] >= 2
    assert result.skipped["internal"] >= 1
    assert result.skipped["monitoring"] == 1
    assert result.skipped["not_customer_data"] >= 1


def test_unmapped_role_is_kept_and_listed(loaded):
    store, report = loaded
    assert report.unmapped["pgaudit:analyst"] == 3
    role, team = store.con.execute(
        "SELECT role, team FROM employees WHERE employee_id = 'pgaudit:analyst'"
    ).fetchall()[0]
    assert (role, team) == ("unmapped", "pgaudit")
    listed = {r["identity"]: r["events"] for r in unmapped_identities(store)}
    assert listed["pgaudit:analyst"] == 3


def test_statement_literals_are_not_stored(loaded, tmp_path):
    store, _ = loaded
    texts = [
        t for (t,) in store.con.execute("SELECT statement FROM statement_fingerprints").fetchall()
    ]
    assert "SELECT id FROM customers WHERE email = ?" in texts
    assert not any(EMAIL_LITERAL in t or "42" in t for t in texts)
    unlinked = store.scalar(
        "SELECT count(*) FROM access WHERE event_id NOT IN (SELECT event_id FROM event_statements)"
    )
    assert unlinked == 0
    store.con.execute("CHECKPOINT")
    for path in store.path.parent.rglob("*"):
        if path.is_file():
            assert EMAIL_LITERAL.encode() not in path.read_bytes(), path


def test_rerun_reads_only_new_lines_and_never_double_counts(loaded, server, hash_key):
    store, first = loaded
    options = SourceOptions(identities=IdentityMap({"alice": "E1", "pgaudit:bob": "E2"}))
    again = ingest_logs(store, "pgaudit", [server.csvlog], hash_key, options).files[0]
    assert again.counts.rows_read == 0
    assert again.start_line > 0
    replay = ingest_logs(
        store, "pgaudit", [server.csvlog], hash_key, options, from_start=True
    ).files[0]
    assert replay.counts.loaded == 0
    assert replay.counts.duplicates == first.files[0].counts.loaded
    assert (
        store.scalar("SELECT count(*) - count(DISTINCT event_id) FROM event_statements") == 0
    )  # one statement per event, however often the log is read
    # The stderr log of the same server names the same sessions: same events.
    options.log_line_prefix = server.LOG_LINE_PREFIX
    other = ingest_logs(store, "pgaudit", [server.stderr_log], hash_key, options).files[0]
    assert other.error is None
    assert (other.counts.loaded, other.counts.rejected) == (0, 0)
    assert other.counts.duplicates == first.files[0].counts.loaded


def test_growing_log_loads_only_the_new_statement(loaded, server, hash_key):
    store, _ = loaded
    options = SourceOptions(identities=IdentityMap({"alice": "E1"}))
    server.start()
    try:
        server.psql("SELECT phone FROM customers WHERE id = 9", user="alice", app="crm-console")
    finally:
        server.stop()
    grown = ingest_logs(store, "pgaudit", [server.csvlog], hash_key, options).files[0]
    assert grown.counts.loaded == 1
    newest = _events(store)[-1]
    assert (newest["employee_id"], newest["customer_ids"], newest["fields"]) == (
        "E1",
        ["9"],
        ["phone"],
    )


def test_cli_ingest_with_source(cli, server, tmp_path: Path):
    result = cli(
        "ingest",
        "--source",
        "pgaudit",
        server.stderr_log,
        "--db",
        tmp_path / "c.duckdb",
        "--json",
        env={"INSIDERWATCH_PG_LOG_LINE_PREFIX": server.LOG_LINE_PREFIX},
    )
    assert result.exit_code == 0, result.stderr
    assert '"pgaudit:alice"' in result.stdout  # listed as unmapped
    roles = tmp_path / "roles.csv"
    roles.write_text("identity,employee_id\nbob,E404\n")
    mapped = cli(
        "ingest",
        "--source",
        "pgaudit",
        server.csvlog,
        "--identity-map",
        roles,
        "--db",
        tmp_path / "d.duckdb",
        "--json",
    )
    report = json.loads(mapped.stdout)
    # bob's events now name E404, who is not on the roster: rejected, and replayable.
    assert report["reasons"]["employee_id:unknown_employee"] == 3
    assert "pgaudit:bob" not in report["unmapped_identities"]
    listed = cli("sources", "identities", "--db", tmp_path / "d.duckdb", "--json")
    assert {r["identity"] for r in json.loads(listed.stdout)} >= {
        "pgaudit:alice",
        "pgaudit:analyst",
    }
