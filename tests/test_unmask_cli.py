"""``insiderwatch unmask`` end to end (SQLite; test_ops_unmask covers PostgreSQL): thin
commands over the use cases, whose refusals are one line, never a traceback."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from typer.testing import CliRunner

from insiderwatch.cli import app
from insiderwatch.privacy import HashKey
from insiderwatch.privacy.pseudonyms import pseudonym
from insiderwatch.store.ops import open_ops
from insiderwatch.store.ops.models import UserRow
from sample_data import KEY_HEX

MASK = pseudonym(HashKey(bytes.fromhex(KEY_HEX)), "E00042")


def run(url: str, *args: object):
    argv = ["unmask", *(str(a) for a in args), "--ops-url", url]
    return CliRunner().invoke(app, argv, env={"COLUMNS": "200"})


def test_request_approve_list_and_revoke(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    with open_ops(url) as ops, ops.session() as s:
        now = dt.datetime.now(dt.UTC)
        for name, role in (("ana", "analyst"), ("pat", "privacy_officer")):
            s.add(UserRow(name=name, role=role, password_hash="-", created_at=now))
    asked = run(url, "request", MASK, "--reason", "alert A-1", "--by", "ana", "--json")
    assert asked.exit_code == 0, asked.output
    request_id = json.loads(asked.stdout)["request_id"]
    own = run(url, "approve", request_id, "--by", "ana")
    assert own.exit_code == 1 and "only privacy_officer" in own.stderr
    assert "Traceback" not in own.output
    done = run(url, "approve", request_id, "--by", "pat", "--hours", "3", "--json")
    assert done.exit_code == 0, done.output
    decided = json.loads(done.stdout)
    assert decided["state"] == "approved"
    took = dt.datetime.fromisoformat(decided["expires_at"]) - dt.datetime.fromisoformat(
        decided["decided_at"]
    )
    assert took == dt.timedelta(hours=3)
    listed = json.loads(run(url, "list", "--state", "approved", "--json").stdout)
    assert [r["request_id"] for r in listed] == [request_id]
    assert run(url, "revoke", request_id, "--by", "pat", "--why", "done").exit_code == 0
    assert json.loads(run(url, "list", "--state", "approved", "--json").stdout) == []


def test_a_request_without_a_reason_or_with_an_unknown_state_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ops.sqlite'}"
    blank = run(url, "request", MASK, "--reason", " ", "--by", "ana")
    assert blank.exit_code == 1 and "reason is required" in blank.stderr
    state = run(url, "list", "--state", "granted")
    assert state.exit_code == 1 and "unknown unmask state" in state.stderr
