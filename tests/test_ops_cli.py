"""The operational-store commands end to end (SQLite; the store's own tests cover
PostgreSQL): thin wrappers whose errors are one line, never a traceback."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from insiderwatch.cli import app
from test_ops_workflow import line, write_history


def run(*args, stdin: str | None = None):
    runner = CliRunner()
    return runner.invoke(app, [str(a) for a in args], input=stdin, env={"COLUMNS": "200"})


def test_a_token_is_printed_once_and_listed_only_by_its_prefix(tmp_path: Path) -> None:
    db = ["--db", tmp_path / "iw.duckdb"]
    made = run("tokens", "create", "--source", "crm-audit", *db)
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert token.startswith("iw_") and "\n" not in token
    listed = json.loads(run("tokens", "list", "--json", *db).stdout)
    assert [(t["owner"], t["prefix"]) for t in listed] == [("crm-audit", token[:10])]
    assert token not in (tmp_path / "iw.ops.sqlite").read_bytes().decode("latin-1")
    assert run("tokens", "revoke", str(listed[0]["token_id"]), *db).exit_code == 0
    assert json.loads(run("tokens", "list", "--json", *db).stdout) == []
    again = run("tokens", "revoke", str(listed[0]["token_id"]), *db)
    assert again.exit_code == 1 and "already revoked" in again.stderr
    both = run("tokens", "create", "--source", "a", "--user", "b", *db)
    assert both.exit_code == 2


def test_users_read_the_password_from_standard_input(tmp_path: Path) -> None:
    url = ["--ops-url", f"sqlite:///{tmp_path / 'ops.sqlite'}"]
    added = run(
        "users", "add", "ana", "--role", "investigator", *url, stdin="correct horse battery\n"
    )
    assert added.exit_code == 0, added.output
    short = run("users", "add", "bo", "--role", "analyst", *url, stdin="short\n")
    assert short.exit_code == 1 and "at least 12 characters" in short.stderr
    assert "Traceback" not in short.output
    listed = json.loads(run("users", "list", "--json", *url).stdout)
    assert [(u["name"], u["role"]) for u in listed] == [("ana", "investigator")]


def test_sync_triage_show_and_the_audit_trail(tmp_path: Path) -> None:
    store = ["--ops-url", f"sqlite:///{tmp_path / 'ops.sqlite'}"]
    url = [*store, "--by", "ana"]
    history = write_history(tmp_path / "alerts.jsonl", [line("A1", 0), line("A1", 1, 70)])
    synced = run("alerts", "sync", "--from", history, "--json", *url)
    assert json.loads(synced.stdout)["recorded"] == 2, synced.output
    moved = run("alerts", "triage", "A1", "triaging", "--why", "odd volume", *url)
    assert moved.exit_code == 0 and "A1: triaging" in moved.stdout
    refused = run("alerts", "triage", "A1", "closed", *url)
    assert refused.exit_code == 1 and "closing needs a reason" in refused.stderr
    closed = run("alerts", "triage", "A1", "closed", "--reason", "data_quality", *url)
    assert closed.exit_code == 0, closed.output
    assert run("alerts", "note", "A1", "clock skew on the CRM host", *url).exit_code == 0
    shown = json.loads(run("alerts", "show", "A1", "--json", *url).stdout)
    assert shown["alert"]["state"] == "closed" and shown["alert"]["score"] == 70
    assert [t["to_state"] for t in shown["transitions"]] == ["triaging", "closed"]
    queue = json.loads(run("alerts", "queue", "--state", "closed", "--json", *store).stdout)
    assert [a["alert_id"] for a in queue] == ["A1"]
    trail = json.loads(run("audit", "list", "--json", *store).stdout)
    assert [e["action"] for e in trail] == [
        "alert.read",
        "alert.note",
        "alert.closed",
        "alert.triaging",
        "alerts.sync",
    ]
    assert all(e["actor"] == "ana" for e in trail)
    verified = run("audit", "verify", "--json", *store)
    assert verified.exit_code == 0 and json.loads(verified.stdout)["ok"] is True


def test_verify_fails_when_the_log_was_edited(tmp_path: Path) -> None:
    path = tmp_path / "ops.sqlite"
    url = ["--ops-url", f"sqlite:///{path}"]
    run("tokens", "create", "--source", "crm", *url)
    run("tokens", "create", "--source", "nats", *url)
    con = sqlite3.connect(path)
    con.execute("DROP TRIGGER audit_log_no_update")
    con.execute("UPDATE audit_log SET actor = 'nobody' WHERE seq = 1")
    con.commit()
    con.close()
    result = run("audit", "verify", *url)
    assert result.exit_code == 1
    assert "entry 1" in result.stderr and "content changed" in result.stderr


def test_an_unreachable_store_is_one_line_without_the_password() -> None:
    result = run("audit", "list", "--ops-url", "postgresql+psycopg://iw:hunter2@127.0.0.1:1/ops")
    assert result.exit_code == 1
    assert "cannot open the ops store" in result.stderr and "hunter2" not in result.output
    assert "Traceback" not in result.output
