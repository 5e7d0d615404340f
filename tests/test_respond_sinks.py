"""Alert delivery against real receivers: a local HTTP server checks the HMAC, syslog
listeners on UDP and TCP read the CEF, a private NATS server carries OCSF findings.
Retries, dead letters, replay and throttling go through the same Responder the live
loop calls."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from pathlib import Path

import pytest

from insiderwatch.export.ocsf import schema_errors
from insiderwatch.privacy.pseudonyms import pseudonym
from insiderwatch.respond.notice import alert_notice
from insiderwatch.respond.responder import Responder
from insiderwatch.respond.sinks.chat import slack_message, teams_message
from respond_helpers import alert, alert_id_of, config_from, response_store
from respond_servers import HookServer, SyslogListener
from servers import Nats

SECRET = "hook-secret-123"


@pytest.fixture
def hook():
    server = HookServer()
    yield server
    server.stop()


def _responder(tmp_path, hash_key, text: str) -> Responder:
    responder = Responder(config_from(tmp_path, text), hash_key, response_store(tmp_path))
    responder.start()
    return responder


def test_webhook_is_signed_and_pseudonymous(tmp_path, hash_key, hook, monkeypatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    responder = _responder(
        tmp_path,
        hash_key,
        f"sinks: {{soc: {{type: webhook, url: '{hook.url}', secret_env: HOOK_SECRET}}}}\n"
        "routes: [{name: all, sinks: [soc]}]\n",
    )
    line = alert(summary="E00042 sent 2,000 records to mallory@example.net and +44 20 7946 0958")
    responder.handle([line])
    responder.close()
    [got] = hook.received
    stamp = got.headers["X-Insiderwatch-Timestamp"]
    expected = hmac.new(SECRET.encode(), stamp.encode() + b"." + got.body, hashlib.sha256)
    assert got.headers["X-Insiderwatch-Signature"] == "sha256=" + expected.hexdigest()
    body = got.body.decode()
    anon = pseudonym(hash_key, "E00042")
    assert got.json()["employee"] == anon and anon in got.json()["alert"]["summary"]
    for raw in ("E00042", "mallory@example.net", "7946"):
        assert raw not in body
    [delivery] = responder.deliverer.store.deliveries()
    assert (delivery.status, delivery.tries) == ("delivered", 1)


def test_retry_with_backoff_then_dead_letter_then_replay(tmp_path, hash_key, hook) -> None:
    hook.fail_first = 10**6  # the receiver is down
    responder = _responder(
        tmp_path,
        hash_key,
        f"sinks: {{soc: {{type: webhook, url: '{hook.url}', tries: 3, backoff_seconds: 0.01}}}}\n"
        "routes: [{name: all, sinks: [soc]}]\n",
    )
    waits: list[float] = []
    responder.deliverer._sleep = waits.append
    responder.handle([alert()])
    responder.drain()
    [dead] = responder.deliverer.store.deliveries(status="dead")
    assert dead.tries == 3 and "HTTP 503" in dead.last_error
    assert waits == [0.01, 0.02]  # exponential backoff between the three tries
    assert hook.attempts == 3 and not hook.received
    hook.fail_first = 0  # the receiver is back
    [replayed] = responder.deliverer.replay([dead.delivery_id])
    responder.close()
    assert (replayed.status, replayed.tries) == ("delivered", 4)
    assert json.loads(hook.received[0].body)["alert"]["alert_id"] == alert_id_of("E00042")


def test_transient_failure_recovers_within_its_tries(tmp_path, hash_key, hook) -> None:
    hook.fail_first = 2
    responder = _responder(
        tmp_path,
        hash_key,
        f"sinks: {{soc: {{type: webhook, url: '{hook.url}', backoff_seconds: 0.01}}}}\n"
        "routes: [{name: all, sinks: [soc]}]\n",
    )
    responder.handle([alert()])
    responder.close()
    [delivery] = responder.deliverer.store.deliveries()
    assert (delivery.status, delivery.tries) == ("delivered", 3)


def test_routing_by_severity_and_throttled_storm(tmp_path, hash_key, hook) -> None:
    responder = _responder(
        tmp_path,
        hash_key,
        f"sinks: {{soc: {{type: slack, url: '{hook.url}'}}}}\n"
        "routes:\n"
        "  - {name: urgent, min_severity: high, sinks: [soc], throttle: {max_messages: 2, window: 1h}}\n",
    )
    storm = [alert(revision=i, minutes=i) for i in range(10)]
    done = responder.handle([alert("E7", severity="medium", score=40), *storm])
    assert (done.notices, done.held) == (2, 8)  # the medium alert is not routed at all
    done = responder.handle([alert(revision=10, minutes=61)])  # a new window opens
    assert (done.notices, done.storms) == (1, 1)
    responder.close()
    texts = [r.json()["text"] for r in hook.received]
    assert len(texts) == 4
    assert "8 more alert updates" in texts[2] and "E00042" not in "".join(texts)


def test_a_restart_in_a_storm_neither_resends_nor_forgets_it(tmp_path, hash_key, hook) -> None:
    text = (
        f"sinks: {{soc: {{type: slack, url: '{hook.url}'}}}}\n"
        "routes: [{name: urgent, sinks: [soc], throttle: {max_messages: 2, window: 1h}}]\n"
    )
    before = _responder(tmp_path, hash_key, text)
    done = before.handle([alert(revision=i, minutes=i) for i in range(5)])
    assert (done.notices, done.held) == (2, 3)
    before.deliverer.close()  # the process dies: no flush of the held lines
    after = _responder(tmp_path, hash_key, text)  # the same operational store
    done = after.handle([alert(revision=i, minutes=i) for i in range(5, 9)])
    assert (done.notices, done.held) == (0, 4)  # the window is still full
    done = after.handle([alert(revision=9, minutes=61)])  # the window has passed
    assert (done.notices, done.storms) == (1, 1)
    after.close()
    texts = [r.json()["text"] for r in hook.received]
    assert len(texts) == 4 and "7 more alert updates" in texts[2]


def test_chat_messages_have_each_shape(hash_key) -> None:
    notice = alert_notice(alert(), hash_key)
    slack = slack_message(notice)
    assert slack["blocks"][0]["type"] == "header" and notice.employee in slack["text"]
    card = teams_message(notice)["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    facts = {f["title"]: f["value"] for f in card["content"]["body"][2]["facts"]}
    assert facts["Staff"] == pseudonym(hash_key, "E00042") and facts["Score"] == "91"


@pytest.mark.parametrize("protocol", ["udp", "tcp"])
def test_cef_over_syslog(tmp_path, hash_key, protocol) -> None:
    listener = SyslogListener(protocol)
    try:
        responder = _responder(
            tmp_path,
            hash_key,
            f"sinks: {{siem: {{type: cef, port: {listener.port}, protocol: {protocol}}}}}\n"
            "routes: [{name: all, sinks: [siem], throttle: null}]\n",
        )
        responder.handle([alert(), alert("E9", severity="medium", score=45, summary="a=b|c\nd")])
        responder.close()
        messages = sorted(m.decode() for m in listener.wait(2))
    finally:
        listener.stop()
    assert len(messages) == 2
    critical = next(m for m in messages if "|10|" in m)
    assert critical.startswith("<82>1 2026-09-28T10:02:00.000Z ")  # authpriv.crit
    assert "CEF:0|insiderwatch|insiderwatch|" in critical and "|exfiltration:alert|" in critical
    assert f"suser={pseudonym(hash_key, 'E00042')}" in critical and "cn1=91" in critical
    medium = next(m for m in messages if "|5|" in m)
    assert "msg=a\\=b|c\\nd" in medium  # extension values escaped, no raw newline


def test_ocsf_findings_to_file(tmp_path, hash_key) -> None:
    out = tmp_path / "lake" / "findings.jsonl"
    responder = _responder(
        tmp_path,
        hash_key,
        f"sinks: {{lake: {{type: ocsf-file, path: '{out}'}}}}\n"
        "routes: [{name: all, sinks: [lake], throttle: null}]\n",
    )
    responder.handle([alert(), alert(revision=1, minutes=5)])
    responder.close()
    findings = [json.loads(line) for line in out.read_text().splitlines()]
    assert [f["activity_name"] for f in findings] == ["Create", "Update"]
    assert all(schema_errors(f) == [] for f in findings)
    assert findings[0]["evidences"][0]["actor"]["user"]["uid"] == pseudonym(hash_key, "E00042")


def test_ocsf_findings_to_nats(tmp_path: Path, hash_key) -> None:
    import nats

    server = Nats()
    server.start()
    received: list[dict] = []

    async def subscribe_then_wait(send) -> None:
        nc = await nats.connect(server.url)
        sub = await nc.subscribe("iw.findings")
        await nc.flush()
        await asyncio.to_thread(send)
        msg = await sub.next_msg(timeout=10)
        received.append(json.loads(msg.data))
        await nc.close()

    def send() -> None:
        responder = _responder(
            tmp_path,
            hash_key,
            f"sinks: {{bus: {{type: ocsf-nats, url: '{server.url}', subject: iw.findings}}}}\n"
            "routes: [{name: all, sinks: [bus]}]\n",
        )
        responder.handle([alert()])
        responder.close()

    try:
        asyncio.run(subscribe_then_wait(send))
    finally:
        server.remove()
    [finding] = received
    assert finding["class_uid"] == 2004 and finding["finding_info"]["uid"] == alert_id_of("E00042")
    assert schema_errors(finding) == []


def test_a_line_handed_over_again_is_sent_once(tmp_path, hash_key, hook) -> None:
    responder = _responder(
        tmp_path,
        hash_key,
        f"sinks: {{soc: {{type: webhook, url: '{hook.url}'}}}}\n"
        "routes: [{name: all, sinks: [soc]}]\n",
    )
    first = responder.handle([alert(), alert(revision=1, minutes=1)])
    again = responder.handle([alert(revision=1, minutes=1), alert(revision=2, minutes=2)])
    responder.close()
    assert (first.notices, again.notices) == (2, 1)
    assert [r.json()["alert"]["revision"] for r in hook.received] == [0, 1, 2]
