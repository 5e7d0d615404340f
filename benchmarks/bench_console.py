"""Console benchmark: how fast the alert queue renders over 100,000 alerts.

Run with `make bench-console`. Prints the machine and the figures; asserts nothing.

    python benchmarks/bench_console.py [--alerts 100000] [--renders 30] [--profiles 3]

For each company profile (a different roster, detector mix, severity mix and share of
noisy alerts), the operational store (SQLite, the embedded default) is filled with
ALERTS alerts through the same path detection uses (record_published), and the real
console (create_app over a real service, logged in through its form) renders queue pages
RENDERS times each: the first page, a filtered page, a page 1,000 pages deep (reached
by its keyset cursor), newest-first unassigned, and one peer group (noisy detectors
grouped, as by default). p50 and p95 per page and profile, then the worst p95 over the
profiles. The reference, measured in the same run on the same store: the same deep page
read with OFFSET (what keyset pagination avoids), and a bare primary-key read of 50
alerts (the floor of any page).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import msgspec
from sqlalchemy import select

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from fastapi.testclient import TestClient  # noqa: E402

from console_world import login, synthetic_alerts  # noqa: E402
from insiderwatch.app.alerts import record_published  # noqa: E402
from insiderwatch.app.queue import alert_queue  # noqa: E402
from insiderwatch.app.users import add_user  # noqa: E402
from insiderwatch.contract.console import QueueQuery  # noqa: E402
from insiderwatch.ingest import ingest_dataset  # noqa: E402
from insiderwatch.privacy import HashKey  # noqa: E402
from insiderwatch.settings import load_settings  # noqa: E402
from insiderwatch.store import Store  # noqa: E402
from insiderwatch.store.ops.models import AlertRow  # noqa: E402
from insiderwatch.web.api import create_app  # noqa: E402
from insiderwatch.web.server import build  # noqa: E402
from machine import describe  # noqa: E402

KEY_HEX = "11" * 32
PAGE = 50
DEEP_PAGES = 1_000


@dataclass(frozen=True)
class Profile:
    name: str
    employees: int
    roles: tuple[str, ...]
    detectors: tuple[str, ...]
    noisy_share: float  # of alerts from one detector, low severity


PROFILES = (
    Profile(
        "call-centre",
        1_200,
        ("cs_agent", "supervisor", "qa"),
        ("volume", "vip", "exfiltration", "canary", "sensitivity"),
        0.5,
    ),  # fmt: skip
    Profile(
        "bank",
        3_000,
        ("teller", "fraud_analyst", "branch_manager", "it_admin", "auditor"),
        ("volume", "relationship", "departing", "account_misuse", "sustained", "vip"),
        0.1,
    ),  # fmt: skip
    Profile(
        "clinic",
        400,
        ("nurse", "doctor", "receptionist"),
        ("sensitivity", "vip", "relationship"),
        0.0,
    ),  # fmt: skip
)


def company(folder: Path, profile: Profile, seed: int) -> Path:
    """A roster of the profile's size and roles, as a contract dataset."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    rows = [
        {
            "employee_id": f"E{i:05d}",
            "role": rng.choice(profile.roles),
            "team": f"team-{rng.randrange(1, 12)}",
            "hired_on": "2020-01-01",
        }  # fmt: skip
        for i in range(profile.employees)
    ]
    (folder / "employees.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return folder


def alerts(profile: Profile, count: int, seed: int):
    employees = [f"E{i:05d}" for i in range(profile.employees)]
    noisy = int(count * profile.noisy_share)
    rest = synthetic_alerts(count - noisy, employees, seed=seed, detectors=profile.detectors)
    loud = synthetic_alerts(noisy, employees, seed=seed + 1, detectors=profile.detectors[:1],
                            prefix="N")  # fmt: skip
    loud = [msgspec.structs.replace(a, severity="low", score=min(a.score, 40.0)) for a in loud]
    return rest + loud


def timings(fn: Callable[[], object], times: int) -> list[float]:
    out = []
    for _ in range(times):
        began = time.perf_counter()
        fn()
        out.append(time.perf_counter() - began)
    return out


def quantiles(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=20, method="inclusive")
    return statistics.median(values), cuts[18]


def deep_cursor(ops, depth_pages: int) -> str:
    """The cursor of the page ``depth_pages`` deep, by walking the keyset (not timed)."""
    after = None
    for _ in range(depth_pages):
        page = alert_queue(ops, QueueQuery(limit=PAGE, after=after), noisy_after=0)
        if page.next_cursor is None:
            break
        after = page.next_cursor
    return after


def run_profile(profile: Profile, seed: int, count: int, renders: int, work: Path) -> dict:
    folder = work / profile.name
    db = folder / "iw.duckdb"
    with Store(db, threads=1) as store:
        ingest_dataset(
            store, company(folder / "dataset", profile, seed), HashKey(bytes.fromhex(KEY_HEX))
        )
    service = build(load_settings({"db": str(db), "hash_key": KEY_HEX, "threads": 1,
                                   "console_secure_cookies": False}))  # fmt: skip
    ops = service.ops.store
    began = time.perf_counter()
    record_published(ops, alerts(profile, count, seed), source="bench", actor="bench")
    filled = time.perf_counter() - began
    add_user(ops, "bench", "analyst", "benchmark password", actor="bench")
    detector = profile.detectors[-1]
    peer = f"{profile.roles[0]}:team"
    deep = deep_cursor(ops, DEEP_PAGES)
    pages = {
        "first page": {},
        "filtered": {
            "severity": ["high", "critical"],
            "detector": detector,
            "from": "2026-09-15",
            "to": "2026-10-15",
        },  # fmt: skip
        f"page {DEEP_PAGES} deep": {"after": deep},
        "newest unassigned": {"sort": "newest", "assignee": "-"},
        "peer group": {"peer_group": peer},
    }
    figures: dict[str, tuple[float, float]] = {}
    try:
        with TestClient(create_app(service, run_service=False)) as client:
            assert login(client, "bench", "benchmark password").status_code in (200, 303)
            for name, params in pages.items():

                def render(params=params):
                    reply = client.get("/alerts", params=params)
                    assert reply.status_code == 200, reply.text[:300]

                render()  # warm
                figures[name] = quantiles(timings(render, renders))
        offset = select(AlertRow).order_by(AlertRow.score.desc(), AlertRow.alert_id.desc())
        ids = [f"S-{i:07d}" for i in range(PAGE)]

        def read(query) -> Callable[[], object]:
            def run() -> None:
                with ops.session() as s:  # a transaction each, as the use cases read
                    list(s.scalars(query))

            return run

        deep_rows = offset.offset(DEEP_PAGES * PAGE).limit(PAGE)
        figures[f"reference: OFFSET {DEEP_PAGES * PAGE} query"] = quantiles(
            timings(read(deep_rows), renders)
        )
        figures[f"reference: keyset {DEEP_PAGES} deep query"] = quantiles(
            timings(lambda: alert_queue(ops, QueueQuery(after=deep), noisy_after=0), renders)
        )
        figures["reference: 50 alerts by key"] = quantiles(
            timings(read(select(AlertRow).where(AlertRow.alert_id.in_(ids))), renders)
        )
    finally:
        service.stop()
    return {"filled": filled, "figures": figures}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, default=100_000)
    parser.add_argument("--renders", type=int, default=30)
    parser.add_argument("--profiles", type=int, default=len(PROFILES))
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    print(f"machine: {describe()}")
    print(f"{args.alerts:,} alerts per profile, {args.renders} renders per page, "
          f"{PAGE} alerts a page; ops store on SQLite\n")  # fmt: skip
    worst: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp:
        for k, profile in enumerate(PROFILES[: args.profiles]):
            result = run_profile(profile, args.seed + k, args.alerts, args.renders, Path(tmp))
            print(f"profile {profile.name} (seed {args.seed + k}): filled in "
                  f"{result['filled']:.1f} s ({args.alerts / result['filled']:,.0f} alerts/s)")  # fmt: skip
            for name, (p50, p95) in result["figures"].items():
                print(f"  {name:<34} p50 {p50 * 1000:8.1f} ms   p95 {p95 * 1000:8.1f} ms")
                worst[name] = max(worst.get(name, 0.0), p95)
            first = result["figures"]["first page"][0]
            deep = result["figures"][f"page {DEEP_PAGES} deep"][0]
            off = result["figures"][f"reference: OFFSET {DEEP_PAGES * PAGE} query"][0]
            key = result["figures"][f"reference: keyset {DEEP_PAGES} deep query"][0]
            print(f"  deep page / first page render: {deep / first:.2f}x; "
                  f"OFFSET / keyset query at that depth: {off / key:.1f}x\n")  # fmt: skip
    print("worst p95 over the profiles:")
    for name, p95 in worst.items():
        print(f"  {name:<34} {p95 * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
