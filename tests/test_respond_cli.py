"""The response commands end to end: an alert history goes through `respond`, two people
approve at the command line, the user is suspended at a real SCIM server and reinstated;
a dead letter is replayed once its receiver is back."""

from __future__ import annotations

import json

import msgspec
import pytest

from insiderwatch.privacy.pseudonyms import pseudonym
from respond_helpers import alert, alert_id_of
from respond_servers import HookServer, ScimServer
from sample_data import KEY_HEX
from test_respond_contain import active, create_user


@pytest.fixture
def scim(monkeypatch):
    server = ScimServer()
    monkeypatch.setenv("SCIM_TOKEN", ScimServer.TOKEN)
    yield server
    server.stop()


def _files(tmp_path, scim_url: str, hook_url: str):
    history = tmp_path / "alerts.jsonl"
    lines = [alert("E00042"), alert("E00042", revision=1, minutes=3, score=95)]
    history.write_bytes(b"".join(msgspec.json.encode(a) + b"\n" for a in lines))
    respond = tmp_path / "respond.yaml"
    respond.write_text(
        f"sinks: {{soc: {{type: webhook, url: '{hook_url}', tries: 2, backoff_seconds: 0.01}}}}\n"
        "routes: [{name: all, sinks: [soc]}]\n"
        f"scim: {{url: '{scim_url}', token_env: SCIM_TOKEN}}\n"
        "playbooks:\n"
        "  - {name: harvest, when: {severities: [critical]}, mode: approve, approvals: 2, actions: [suspend]}\n"
    )
    return history, ["--db", tmp_path / "iw.duckdb", "--respond-config", respond]


def test_respond_approve_reinstate_and_replay(tmp_path, cli, scim, hash_key, monkeypatch) -> None:
    monkeypatch.setenv("INSIDERWATCH_HASH_KEY", KEY_HEX)  # pseudonyms from the deployment key
    user = create_user(scim, "E00042")
    hook = HookServer(fail_first=2)  # down for the first notice's two tries
    try:
        history, opts = _files(tmp_path, scim.url, hook.url)
        result = cli("respond", history, *opts)
        assert result.exit_code == 0, result.stderr
        assert "2 alert lines: 2 notices sent" in result.stderr
        listed = json.loads(cli("contain", "list", "--json", *opts[:2]).stdout)
        [action] = listed
        assert action["status"] == "pending" and "employee_id" not in action
        assert "E00042" not in json.dumps(listed)
        action_id = action["action_id"]
        first = cli("contain", "approve", action_id, "--by", "alice", *opts)
        assert first.exit_code == 0 and "status pending" in first.stdout
        again = cli("contain", "approve", action_id, "--by", "alice", *opts)
        assert again.exit_code == 1 and "someone else" in again.stderr
        second = cli("contain", "approve", action_id, "--by", "bob", "--note", "confirmed", *opts)
        assert second.exit_code == 0 and "status done" in second.stdout
        assert active(scim, user) is False
        back = cli("contain", "reinstate", action_id, "--by", "carol", "--why", "cleared", *opts)
        assert back.exit_code == 0 and active(scim, user) is True
        shown = cli("contain", "show", action_id, *opts[:2]).stdout
        assert "carol reinstated: cleared" in shown and pseudonym(hash_key, "E00042") in shown
        dead = json.loads(cli("deliveries", "list", "--status", "dead", "--json", *opts[:2]).stdout)
        assert len(dead) == 1 and "HTTP 503" in dead[0]["last_error"]
        replay = cli("deliveries", "replay", "--dead", *opts)
        assert replay.exit_code == 0, replay.stdout
        delivered = json.loads(cli("deliveries", "list", "--json", *opts[:2]).stdout)
        assert {d["status"] for d in delivered} == {"delivered"}
        assert len(hook.received) == 2
    finally:
        hook.stop()


def test_playbooks_check_reports_located_problems(tmp_path, cli) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("playbooks:\n  - name: p\n    mode: sometimes\n    actions: [suspend]\n")
    result = cli("playbooks", "check", bad)
    assert result.exit_code == 1
    assert f"{bad}:3:playbooks.0.mode" in result.stderr.replace("\n", "")
    assert "Traceback" not in result.stderr


def test_sinks_and_actions_are_listed_as_plugins(cli) -> None:
    listed = {(p["kind"], p["name"]) for p in json.loads(cli("plugins", "--json").stdout)}
    for sink in ("webhook", "slack", "teams", "cef", "ocsf-file", "ocsf-nats"):
        assert ("sinks", sink) in listed
    for action in ("suspend", "revoke_sessions", "notify"):
        assert ("response_actions", action) in listed


def test_respond_reads_roles_from_the_store(tmp_path, cli, monkeypatch) -> None:
    from sample_data import EVENTS_ONLY, write_sample

    db = tmp_path / "iw.duckdb"
    assert cli("ingest", write_sample(tmp_path / "ds", only=EVENTS_ONLY), "--db", db).exit_code == 0
    history = tmp_path / "alerts.jsonl"
    history.write_bytes(
        b"".join(msgspec.json.encode(alert(e, score=90)) + b"\n" for e in ("e1", "e2"))
    )
    respond = tmp_path / "respond.yaml"
    respond.write_text(
        "playbooks:\n"
        "  - {name: agents, when: {roles: [cs_agent]}, mode: dry-run, actions: [suspend]}\n"
        "scim: {url: 'http://127.0.0.1:9/v2'}\n"
    )
    result = cli("respond", history, "--db", db, "--respond-config", respond)
    assert result.exit_code == 0, result.stderr
    [action] = json.loads(cli("contain", "list", "--json", "--db", db).stdout)
    assert (action["playbook"], action["status"]) == ("agents", "dry_run")
    assert action["alert_id"] == alert_id_of("e1")  # e1 is the cs_agent, e2 is not
    assert action["employee"].startswith("anon-")
