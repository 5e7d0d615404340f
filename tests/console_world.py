"""A served console over a real company: the episode company ingested and detected
(real alerts in the analytics store and the operational store), one user per role, and
helpers to log in through the login form the way a browser does."""

from __future__ import annotations

import datetime as dt
import random
import re
import shutil
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi.testclient import TestClient

from insiderwatch.alerts import read_alert_history
from insiderwatch.app.alerts import sync_store, triage
from insiderwatch.app.users import add_user
from insiderwatch.contract import Alert
from insiderwatch.contract.workflow import ROLES
from insiderwatch.privacy import HashKey
from insiderwatch.settings import load_settings
from insiderwatch.web.api import create_app
from insiderwatch.web.server import build
from insiderwatch.web.service import Service
from sample_data import KEY_HEX, copy_store
from test_alert_history import detect_episode

KEY = HashKey(bytes.fromhex(KEY_HEX))
PASSWORD = "correct horse battery staple"
# One user per role, named after it ("admin", "privacy_officer" ...).
USERS = {role: role for role in ROLES}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_LOGIN_TOKEN = re.compile(r'name="login_token" value="([^"]+)"')


# Every alert asks one approval before suspending its employee at an identity provider
# that is not there (a closed loopback port): approving records the decision and runs
# the action, which then fails without reaching anyone.
RESPOND_YAML = """version: 1
sinks:
  lake: {{type: ocsf-file, path: {path}}}
routes:
  - {{name: lake, min_severity: low, sinks: [lake], throttle: null}}
scim:
  url: http://127.0.0.1:9/scim/v2
  token_env: INSIDERWATCH_TEST_SCIM_TOKEN
playbooks:
  - name: watch
    description: Every alert asks one person before the employee is suspended.
    when: {{severities: [low, medium, high, critical]}}
    mode: approve
    approvals: 1
    actions: [suspend]
"""


@dataclass
class World:
    service: Service
    alert_ids: list[str]
    case_id: int  # a case the first alert was escalated into


def make_world(folder: Path, built_once: Callable[..., Path], **flags) -> World:
    """The episode company detected, its alert history in the ops store, a user per role;
    plain-http cookies (the test client talks http). Ingesting and detecting happen once
    per run (``built_once``): ``folder`` gets a copy of the dataset and of the store."""
    built = built_once("episode-detected", detect_episode)
    shutil.copytree(built / "dataset", folder / "dataset")
    respond = folder / "respond.yaml"
    respond.write_text(RESPOND_YAML.format(path=folder / "findings.jsonl"))
    flags = {"db": str(folder / "iw.duckdb"), "hash_key": KEY_HEX, "threads": 1,
             "console_secure_cookies": False, "respond_config": str(respond), **flags}  # fmt: skip
    copy_store(built / "iw.duckdb", Path(flags["db"]))
    service = build(load_settings(flags))
    ops = service.ops.store
    with service.reading() as store:
        report = sync_store(ops, store, actor="test")
    assert report.alerts_opened > 0
    for role, name in USERS.items():
        add_user(ops, name, role, PASSWORD, actor="test")
    with service.reading() as store:
        ids = sorted(
            r[0] for r in store.con.execute("SELECT DISTINCT alert_id FROM alerts").fetchall()
        )
        # The playbook asks for an approval on every alert: pending containment actions.
        service.responder.handle(read_alert_history(store))
    triage(ops, ids[0], "triaging", actor="test")
    escalated = triage(ops, ids[0], "escalated", actor="test", new_case="world case")
    return World(service=service, alert_ids=ids, case_id=escalated.case_id)


@contextmanager
def client_for(world: World, base_url: str = "http://testserver") -> Iterator[TestClient]:
    """A browser-like client (the service is started by the caller, if at all)."""
    app = create_app(world.service, run_service=False)
    with TestClient(app, base_url=base_url, follow_redirects=False) as client:
        yield client


@contextmanager
def logged_in(world: World, names: Iterable[str]) -> Iterator[dict[str, TestClient]]:
    """A client per user name, each logged in through the form; the module-scoped
    fixtures keep them (logging in hashes a password)."""
    with ExitStack() as stack:
        clients = {}
        for name in names:
            clients[name] = stack.enter_context(client_for(world))
            assert login(clients[name], name).status_code == 303
        yield clients


def login(client: TestClient, name: str, password: str = PASSWORD, next_url: str = "/"):
    """Log in through the form (fetching it first for its token); the reply to the post."""
    page = client.get("/login")
    token = _LOGIN_TOKEN.search(page.text).group(1)
    return client.post(
        "/login",
        data={"name": name, "password": password, "login_token": token, "next": next_url},
    )


def csrf_of(client: TestClient, path: str = "/") -> str:
    """The session's CSRF token, as a page carries it."""
    return _CSRF.search(client.get(path).text).group(1)


def synthetic_alerts(
    count: int,
    employees: list[str],
    *,
    seed: int = 0,
    detectors: tuple[str, ...] = ("volume", "vip", "exfiltration", "canary", "sensitivity"),
    start: dt.datetime = dt.datetime(2026, 9, 1, tzinfo=dt.UTC),
    prefix: str = "S",
) -> list[Alert]:
    """Alert-history lines (revision 0) of varied severity, score, time, employee and
    detectors, to fill the queue beyond what a small company produces."""
    rng = random.Random(seed)
    severities = ("low", "medium", "high", "critical")
    out = []
    for i in range(count):
        detected = start + dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 60))
        picked = rng.sample(detectors, min(len(detectors), rng.choice((1, 1, 1, 2))))
        out.append(
            Alert(
                alert_id=f"{prefix}-{i:07d}",
                revision=0,
                employee_id=rng.choice(employees),
                score=float(rng.randrange(10, 100)),
                severity=rng.choice(severities),
                detected_at=detected,
                opened_at=detected,
                first_seen=detected - dt.timedelta(hours=1),
                last_seen=detected,
                summary=f"synthetic alert {i} from {' and '.join(picked)}",
                detectors=picked,
                reasons=[f"{d}: synthetic" for d in picked],
                event_ids=[f"ev-{i}"],
                customer_ids=[],
                finding_ids=[f"f-{i}"],
            )
        )
    return out


def employees_of(world: World) -> list[str]:
    with world.service.reading() as store:
        return [r[0] for r in store.con.execute("SELECT employee_id FROM employees").fetchall()]
