"""A console to test against: a small simulated company, ingested and detected, its
alerts in the operational store, one user per role, and ``insiderwatch serve`` running in
its own process on a free port.

Built once per test session by the ``console_site`` fixture of the tests that use it
(``tests/test_console_browser.py``); building takes a few seconds (80 staff, 10 days:
enough for several alerts and an insider who harvested at least the 30 customers of the
leaked list, as the tests and ``leaked_list`` assert).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pyarrow.parquet as pq

from insiderwatch.app.deployment import Deployment, load_deployment
from insiderwatch.app.detect import detect
from insiderwatch.app.ingest import ingest_paths
from insiderwatch.app.users import add_user
from insiderwatch.contract.workflow import ROLES
from insiderwatch.privacy import HashKey
from insiderwatch.privacy.pseudonyms import pseudonym
from insiderwatch_sim import SimulationConfig, simulate, write_dataset
from sample_data import KEY_HEX
from servers import free_port

COMPANY = SimulationConfig(employees=80, days=10, seed=13, insider_rate=0.05)
# Every user's password is the same: what the tests check is what a role may do.
PASSWORD = "correct horse battery staple"
SERVER_START_SECONDS = 60


@dataclass(frozen=True)
class ConsoleSite:
    url: str
    folder: Path
    users: dict[str, str]  # role -> user name
    password: str
    deployment: Deployment  # the same stores the server uses (read them, never write)
    leak_csv: bytes  # a list of customers one insider harvested, as found outside
    leaker: str  # the employee id of that insider (from the simulator's ground truth)
    server_log: Path

    def employee_behind(self, shown: str) -> str:
        """The employee id behind a pseudonym (what an approved unmasking must show)."""
        key = HashKey(bytes.fromhex(KEY_HEX))
        roster = pq.read_table(
            self.folder / "dataset" / "employees.parquet", columns=["employee_id"]
        )
        found = [e for e in roster["employee_id"].to_pylist() if pseudonym(key, e) == shown]
        assert len(found) == 1, f"{shown} is nobody on the roster"
        return found[0]


def build_company(folder: Path) -> tuple[Deployment, dict]:
    """Simulate, ingest and detect; the alerts land in the operational store."""
    company = simulate(COMPANY)
    data = folder / "dataset"
    write_dataset(company, data, "parquet")
    deployment = _deployment(folder)
    ingest_paths(deployment, [data])
    detect(deployment)
    return deployment, company.truth


def _deployment(folder: Path) -> Deployment:
    return load_deployment(
        {"db": str(folder / "iw.duckdb"), "hash_key": KEY_HEX, "threads": 1}, environ={}
    )


def add_role_users(deployment: Deployment) -> dict[str, str]:
    ops = deployment.open_ops()
    try:
        users = {role: f"{role.replace('_', '-')}-1" for role in ROLES}
        for role, name in users.items():
            add_user(ops, name, role, PASSWORD, actor="test-setup")
    finally:
        ops.close()
    return users


def leaked_list(folder: Path, truth: dict) -> tuple[bytes, str]:
    """A CSV of 30 customers the insider who touched the most took, written messily."""
    insider = max(truth["insiders"], key=lambda i: len(i["customer_ids"]))
    customers = pq.read_table(folder / "dataset" / "customers.parquet").to_pylist()
    by_id = {c["customer_id"]: c for c in customers}
    taken = [by_id[c] for c in insider["customer_ids"] if c in by_id and by_id[c]["email"]]
    assert len(taken) >= 30, "the company should have an insider who took 30 customers"
    lines = ["E-Mail,Mobile"] + [f"{c['email'].upper()}, {c['phone'] or ''}" for c in taken[:30]]
    return ("\n".join(lines) + "\n").encode(), insider["employee_id"]


@contextmanager
def running_server(deployment: Deployment, folder: Path) -> Iterator[tuple[str, Path]]:
    """``insiderwatch serve`` over the deployment's stores, stopped on exit."""
    port = free_port()
    log = folder / "server.log"
    env = {**os.environ, "INSIDERWATCH_HASH_KEY": KEY_HEX, "INSIDERWATCH_THREADS": "1"}
    code = "from insiderwatch.cli import main; main()"
    with log.open("a") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, "serve", "--db", str(deployment.store_path),
             "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=err,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield url, log
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"insiderwatch serve exited:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"insiderwatch serve did not answer:\n{log.read_text()[-3000:]}")


@contextmanager
def console_site(folder: Path) -> Iterator[ConsoleSite]:
    deployment, truth = build_company(folder)
    users = add_role_users(deployment)
    leak, leaker = leaked_list(folder, truth)
    with running_server(deployment, folder) as (url, log):
        yield ConsoleSite(url, folder, users, PASSWORD, deployment, leak, leaker, log)
