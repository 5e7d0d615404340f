"""The five-minute live demo (`make demo-live`): a simulated company streams into
`insiderwatch serve`, alerts appear, and a playbook of the running server suspends the
insider at a real SCIM server once someone approves.

Everything runs on this machine from a fresh folder (data/demo-live): the store and the
operational store are embedded (DuckDB, SQLite), the SCIM 2.0 server is scim2-server
(installed with the dev extras), the events go in through the HTTP collector with a
collector token, and alerts are read back through the API (staff as pseudonyms). The
steps are the commands an operator would type; each is printed before it runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

BIN = Path(sys.executable).parent
SCIM_TOKEN = "demo-scim-token"
RESPOND = """\
version: 1
scim:
  url: {scim_url}
  token_env: INSIDERWATCH_SCIM_TOKEN
  user_filter: 'userName eq "{{employee_id}}"'
playbooks:
  - name: contain-critical
    description: A critical alert suspends the employee at the identity provider once approved.
    when:
      severities: [critical]
    mode: approve
    approvals: 1
    expires_after: 2h
    actions: [suspend]
"""


def say(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def run(*args: str | Path, env: dict | None = None, capture: bool = False, stdin: str = "") -> str:
    shown = " ".join(str(a) for a in args)
    print(f"$ {shown.replace(str(BIN) + '/', '')}", flush=True)
    done = subprocess.run(
        [str(a) for a in args],
        env=env,
        check=True,
        text=True,
        capture_output=capture,
        input=stdin or None,
    )
    return done.stdout if capture else ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"{what} did not listen on port {port} within {seconds:.0f} s")


def http(method: str, url: str, token: str, body: bytes | None = None, kind: str = "") -> object:
    request = urllib.request.Request(url, data=body, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if kind:
        request.add_header("Content-Type", kind)
    for _ in range(100):  # 503 is the writer's back-pressure: wait and send again
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return json.loads(answer.read() or b"null")
        except urllib.error.HTTPError as exc:
            if exc.code != 503:
                raise SystemExit(f"{method} {url}: {exc.code} {exc.read()[:300]!r}") from None
            time.sleep(0.5)
    raise SystemExit(f"{method} {url}: still busy")


def split(dataset: Path, history: Path, since: datetime) -> list[bytes]:
    """Context tables and the access events before ``since`` go to ``history``; the later
    events come back as JSON lines in time order, to be streamed."""
    history.mkdir(parents=True)
    for path in dataset.iterdir():
        if path.name != "access.parquet":
            shutil.copy(path, history / path.name)
    access = pq.read_table(dataset / "access.parquet")
    early = pc.less(access["time"], since)
    pq.write_table(access.filter(early), history / "access.parquet")
    later = access.filter(pc.invert(early)).sort_by("time")
    return [
        json.dumps({k: v for k, v in row.items() if v is not None}, default=str).encode()
        for row in later.to_pylist()
    ]


def scim_users(scim_url: str, employees: list[str]) -> None:
    for employee in employees:
        body = {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": employee,
            "active": True,
        }
        http(
            "POST",
            f"{scim_url}/Users",
            SCIM_TOKEN,
            json.dumps(body).encode(),
            "application/scim+json",
        )


def scim_active(scim_url: str, employee: str) -> bool:
    query = urllib.parse.quote(f'userName eq "{employee}"')
    found = http("GET", f"{scim_url}/Users?filter={query}", SCIM_TOKEN)
    return bool(found["Resources"][0]["active"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/demo-live"))
    parser.add_argument("--employees", type=int, default=200)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--rate", type=float, default=5000, help="events/s streamed")
    args = parser.parse_args()
    out = args.out.resolve()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    db, alerts_out = out / "insiderwatch.duckdb", out / "alerts.jsonl"
    env = {
        **os.environ,
        "INSIDERWATCH_SECRET_FILE": str(out / "hash.key"),
        "INSIDERWATCH_SCIM_TOKEN": SCIM_TOKEN,
        "INSIDERWATCH_ALERTS_OUT": str(alerts_out),
        "INSIDERWATCH_DETECT_INTERVAL_SECONDS": "2",
    }
    cli = BIN / "insiderwatch"
    procs: list[subprocess.Popen] = []
    try:
        say(
            "1. A company of the simulator, with insiders (their names are kept apart, in truth.json)"
        )
        run(cli, "simulate", "--employees", args.employees, "--days", args.days, "--seed", 11,
            "--out", out / "dataset", "--truth", out / "truth.json", env=env)  # fmt: skip
        truth = json.loads((out / "truth.json").read_text())
        since = min(datetime.fromisoformat(i["first_malicious_at"]) for i in truth["insiders"])
        since = since.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
        stream = split(out / "dataset", out / "history", since)
        print(
            f"history before {since:%Y-%m-%d} loads first; {len(stream):,} later events stream live"
        )
        run(cli, "ingest", out / "history", "--db", db, env=env)

        say("2. A SCIM 2.0 identity provider (scim2-server) holding every employee, active")
        scim_port = free_port()
        scim = subprocess.Popen(
            [sys.executable, "-m", "scim2_server.testserver.cli", "--port", str(scim_port),
             "--bearer-token", SCIM_TOKEN],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        procs.append(scim)
        wait_port(scim_port, scim, "scim2-server")
        scim_url = f"http://127.0.0.1:{scim_port}/v2"
        employees = pq.read_table(out / "dataset" / "employees.parquet")["employee_id"].to_pylist()
        scim_users(scim_url, employees)
        print(f"{len(employees)} users at {scim_url}")
        respond = out / "respond.yaml"
        respond.write_text(RESPOND.format(scim_url=scim_url))
        run(cli, "playbooks", "check", respond, env=env)

        say("3. A collector token, an analyst, then the server (embedded stores, no other server)")
        token = run(cli, "tokens", "create", "--source", "simulated-crm", "--db", db,
                    env=env, capture=True).strip().splitlines()[-1]  # fmt: skip
        run(cli, "users", "add", "ana", "--role", "analyst", "--db", db, env=env,
            stdin="a demo password, never reused\n")  # fmt: skip
        reader = run(cli, "tokens", "create", "--user", "ana", "--db", db,
                     env=env, capture=True).strip().splitlines()[-1]  # fmt: skip
        port = free_port()
        env["INSIDERWATCH_RESPOND_CONFIG"] = str(respond)
        print(f"$ insiderwatch serve --db {db} --port {port}   (its log: {out / 'serve.log'})")
        with (out / "serve.log").open("w") as log:
            server = subprocess.Popen(
                [cli, "serve", "--db", db, "--port", str(port)], env=env, stdout=log, stderr=log
            )
        procs.append(server)
        wait_port(port, server, "insiderwatch serve")
        api = f"http://127.0.0.1:{port}"

        say(f"4. The company streams into POST /v1/events at {args.rate:,.0f} events/s")
        began = time.monotonic()
        seen: set[str] = set()
        for start in range(0, len(stream), 1000):
            body = b"\n".join(stream[start : start + 1000])
            http("POST", f"{api}/v1/events", token, body, "application/x-ndjson")
            wait = began + (start + 1000) / args.rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if start % 10_000 == 0:
                show_alerts(api, reader, seen)
        print(f"streamed {len(stream):,} events in {time.monotonic() - began:.0f} s")

        say("5. A playbook asks for approval to suspend (staff named by pseudonym)")
        pending: list = []
        deadline = time.monotonic() + 90
        while not pending and time.monotonic() < deadline:
            show_alerts(api, reader, seen)
            pending = json.loads(run(cli, "contain", "list", "--status", "pending", "--json",
                                     "--db", db, env=env, capture=True))  # fmt: skip
            if not pending:
                time.sleep(2)
        if not pending:
            raise SystemExit("no containment action is waiting for approval")
        # The analyst takes the surest first: a planted decoy record that was touched.
        action = next((a for a in pending if "decoy" in a["reason"]), pending[0])
        print(f"pending {action['action_id']} for {action['employee']}: {action['reason']}")

        say("6. An analyst approves; the employee is suspended at the identity provider")
        run(cli, "contain", "approve", action["action_id"], "--by", "ana",
            "--note", "confirmed with the team lead", "--db", db, env=env)  # fmt: skip
        insiders = {i["employee_id"] for i in truth["insiders"]}
        for employee in sorted(insiders):
            state = "active" if scim_active(scim_url, employee) else "SUSPENDED (active=false)"
            print(f"insider {employee} (from truth.json) at the identity provider: {state}")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=60)


def show_alerts(api: str, reader: str, seen: set[str]) -> None:
    for alert in http("GET", f"{api}/v1/alerts", reader):
        key = f"{alert['alert_id']}:{alert['severity']}"
        if key not in seen:
            seen.add(key)
            print(
                f"  ALERT {alert['severity']:<8} score {alert['score']:5.1f}  "
                f"{alert['employee']}  {alert['summary']}"
            )


if __name__ == "__main__":
    main()
