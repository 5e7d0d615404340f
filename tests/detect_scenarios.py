"""A small hand-built company for detector tests, with one insider act per scenario.

Twelve support agents in one team and their supervisor work eight ordinary days: six
cases a day, each customer viewed under its case, plus one quick look-up with no case.
On day 9 the scenario's act is added. Every expectation in the tests is derived from the
act (which employee, which events, when), so a detector that fires for anyone else, or
at another event, fails.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from insiderwatch.detect import DetectionConfig, run_detection
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from sample_data import KEY_HEX, copy_store, folder_digest

UTC = dt.UTC
AGENTS = [f"a{i:02d}" for i in range(12)]
INSIDER = "a00"
ACT_DAY = 9
# The customers the own_copies scenario looks up with no case and then copies.
OWN_LOOKED = [f"c{200 + k:03d}" for k in range(8)]


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2026, 9, 1, tzinfo=UTC) + dt.timedelta(
        days=day - 1, hours=hour, minutes=minute, seconds=second
    )


@dataclass
class Company:
    employees: list[dict[str, Any]] = field(default_factory=list)
    customers: list[dict[str, Any]] = field(default_factory=list)
    cases: list[dict[str, Any]] = field(default_factory=list)
    canaries: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    access: list[dict[str, Any]] = field(default_factory=list)
    act: list[str] = field(default_factory=list)  # event ids of the scenario's act

    def event(self, employee: str, time: dt.datetime, action: str, customers: list[str],
              fields: list[str], *, act: bool = False, **extra: Any) -> str:  # fmt: skip
        event_id = f"ev{len(self.access):06d}"
        row = {"event_id": event_id, "time": time, "employee_id": employee, "action": action,
               "customer_ids": customers, "fields": fields, "app": "crm",
               "src_ip": f"10.0.0.{AGENTS.index(employee) + 1 if employee in AGENTS else 99}",
               "device_id": f"dev-{employee}", **extra}  # fmt: skip
        self.access.append(row)
        if act:
            self.act.append(event_id)
        return event_id

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for table in ("employees", "customers", "cases", "canaries", "orders", "access"):
            if table == "orders" and not self.orders:
                continue  # an optional table
            with (folder / f"{table}.jsonl").open("w") as fh:
                for row in getattr(self, table):
                    fh.write(json.dumps(row, default=_iso) + "\n")
        return folder


def _iso(value: Any) -> str:
    return value.isoformat()


def detect(c: Company, folder: Path, cfg: DetectionConfig | None = None) -> Store:
    """The company written to ``folder``, ingested and detected; the store is left open."""
    c.write(folder / "dataset")
    key = HashKey(bytes.fromhex(KEY_HEX))
    store = Store(folder / "iw.duckdb", threads=1)
    ingest_dataset(store, folder / "dataset", key)
    run_detection(store, cfg or DetectionConfig(), key)
    return store


def replayed(dataset: Company | Path, built_once, cfg: DetectionConfig | None = None) -> Path:
    """The database file of one replay of the dataset folder or company (ingested, then
    detected with ``cfg``), built once per run for every test that replays the same
    content with the same settings (``built_once``, named by a digest of both).
    Read-only by convention: open it with ``read_only=True``, or copy it
    (``replayed_copy``)."""
    if isinstance(dataset, Company):
        with tempfile.TemporaryDirectory() as folder:
            return replayed(dataset.write(Path(folder) / "dataset"), built_once, cfg)
    cfg = cfg or DetectionConfig()
    settings = msgspec.json.encode(cfg, enc_hook=str)

    def build(folder: Path) -> None:
        key = HashKey(bytes.fromhex(KEY_HEX))
        with Store(folder / "iw.duckdb", threads=1) as store:
            ingest_dataset(store, dataset, key)
            run_detection(store, cfg, key)

    return built_once(f"detected-{folder_digest(dataset, settings)}", build) / "iw.duckdb"


def detected(c: Company, built_once, cfg: DetectionConfig | None = None) -> Store:
    """What ``detect(c, folder, cfg)`` finds, opened read-only: one replay shared by every
    test (in any module) that detects the same company with the same settings."""
    return Store(replayed(c, built_once, cfg), threads=1, read_only=True)


def replayed_copy(
    c: Company, folder: Path, built_once, cfg: DetectionConfig | None = None
) -> Store:
    """What ``detect(c, folder, cfg)`` leaves, without detecting again when another test
    replayed the same company: a copy of the shared replay in ``folder``, left open."""
    db = replayed(c.write(folder / "dataset"), built_once, cfg)
    return Store(copy_store(db, folder / "iw.duckdb"), threads=1)


def detected_before(c: Company, day: int, built_once, cfg: DetectionConfig | None = None) -> Path:
    """The database file of the company's context tables and its events before ``day``,
    detected up to that day (``until``, so every earlier day is complete): built once per run
    for every test, in any module, whose company has the same context tables and the
    same such events (``built_once``, named by a digest of both and the settings).
    Read-only by convention: copy it (``copy_store``) to go on from there."""
    cut = at(day, 0)
    cfg = cfg or DetectionConfig()
    early = Company(c.employees, c.customers, c.cases, c.canaries, c.orders)
    early.access = [r for r in c.access if r["time"] < cut]
    key = HashKey(bytes.fromhex(KEY_HEX))

    def build(built: Path) -> None:
        with Store(built / "iw.duckdb", threads=1) as store:
            ingest_dataset(store, dataset, key)
            run_detection(store, cfg, key, until=cut)

    with tempfile.TemporaryDirectory() as tmp:
        dataset = early.write(Path(tmp) / "dataset")
        settings = msgspec.json.encode(cfg, enc_hook=str)
        name = f"before-day-{day}-{folder_digest(dataset, settings)}"
        return built_once(name, build) / "iw.duckdb"


def ingest_events(store: Store, rows: list[dict[str, Any]], folder: Path) -> None:
    """``rows`` written to ``folder`` as an access file and ingested (events only)."""
    folder.mkdir(parents=True)
    with (folder / "access.jsonl").open("w") as fh:
        for row in rows:
            fh.write(json.dumps(row, default=_iso) + "\n")
    ingest_dataset(store, folder, HashKey(bytes.fromhex(KEY_HEX)))


def continued(
    c: Company, built_once, cfg: DetectionConfig | None = None, *, day: int = ACT_DAY
) -> Store:
    """What ``detected(c, built_once, cfg)`` finds, for tests about what happens from
    ``day`` on, opened read-only: a copy of the days before it detected once per run
    (``detected_before``, shared by every test whose company has the same context and
    the same earlier events), then the later events ingested and detected as a live run
    goes on; built once per run for every test that continues the same company with the
    same settings. The engine promises that a run continued in steps ends where one
    replay ends (test_alert_history, test_arrival_order and test_scope check it)."""
    cfg = cfg or DetectionConfig()
    late = [r for r in c.access if r["time"] >= at(day, 0)]
    assert late, f"the company has no event from day {day} on to continue with"

    def build(folder: Path) -> None:
        db = copy_store(detected_before(c, day, built_once, cfg), folder / "iw.duckdb")
        with Store(db, threads=1) as store:
            ingest_events(store, late, folder / "late")
            run_detection(store, cfg, HashKey(bytes.fromhex(KEY_HEX)))

    with tempfile.TemporaryDirectory() as tmp:
        dataset = c.write(Path(tmp) / "dataset")
        settings = msgspec.json.encode(cfg, enc_hook=str)
        name = f"continued-{day}-{folder_digest(dataset, settings)}"
        db = built_once(name, build) / "iw.duckdb"
    return Store(db, threads=1, read_only=True)


def explanations(store: Store) -> dict[str, str | None]:
    """Each event's explanation (None: unexplained)."""
    return dict(store.con.execute("SELECT event_id, explanation FROM access_explained").fetchall())


def lookups(c: Company, employee: str, *, acts: bool = False) -> list[dict]:
    """The employee's one-customer look-ups: the act's, or (by default) the routine's."""
    return [
        r
        for r in c.access
        if r["employee_id"] == employee
        and len(r["customer_ids"]) == 1
        and (r["event_id"] in c.act) == acts
    ]


def base_company(days: int = ACT_DAY - 1, seed: int = 1) -> Company:
    rng = random.Random(seed)
    c = Company()
    c.employees.append({"employee_id": "sup", "surname": "Boss", "role": "supervisor",
                        "team": "cs-1", "hired_on": "2020-01-01", "home_postcode": "ZZ9 9ZZ"})  # fmt: skip
    for i, e in enumerate(AGENTS):
        c.employees.append({"employee_id": e, "surname": f"Agent{i}", "role": "cs_agent",
                            "team": "cs-1", "manager_id": "sup", "hired_on": "2020-01-01",
                            "home_postcode": f"HP{i} 1AA"})  # fmt: skip
    for i in range(400):
        c.customers.append({"customer_id": f"c{i:03d}", "surname": f"Cust{i}",
                            "postcode": f"PC{i % 40} 2BB", "email": f"c{i}@example.com",
                            "phone": f"+44 7700 9{i:05d}", "is_vip": i < 3})  # fmt: skip
    # Relatives for the relationship scenario: same surname and postcode as the insider.
    c.customers.append({"customer_id": "rel1", "surname": "Agent0", "postcode": "HP0 1AA"})
    c.customers.append({"customer_id": "decoy1", "surname": "Trap", "postcode": "TR1 1AP"})
    c.canaries.append({"customer_id": "decoy1", "note": "planted in search results"})
    # Cases are about c003-c199, quick look-ups about c350-c399; the acts use c200-c349.
    ordinary = [f"c{i:03d}" for i in range(3, 200)]
    quick = [f"c{i:03d}" for i in range(350, 400)]
    n_case = 0
    for day in range(1, days + 1):
        for e in AGENTS:
            for k in range(6):
                cust = rng.choice(ordinary)
                opened = at(day, 9 + k, rng.randrange(0, 20))
                n_case += 1
                case_id = f"k{n_case:05d}"
                c.cases.append({"case_id": case_id, "customer_id": cust, "employee_id": e,
                                "opened_at": opened,
                                "closed_at": opened + dt.timedelta(minutes=30)})  # fmt: skip
                c.event(e, opened + dt.timedelta(minutes=5), "view", [cust],
                        ["name", "email", "phone", "address"], case_id=case_id)  # fmt: skip
            c.event(e, at(day, 16, 30), "view", [rng.choice(quick)], ["name", "orders"])
    return c


def scenario(name: str) -> Company:
    """The base company plus the act named after the detector that must catch it."""
    c = base_company()
    d = ACT_DAY
    for e in AGENTS[1:]:  # the others have an ordinary day 9 as well
        c.event(e, at(d, 10), "view", ["c100"], ["name"])
    ins = INSIDER
    if name == "volume":
        for k in range(40):
            c.event(ins, at(d, 10, k), "view", [f"c{200 + k:03d}"], ["name", "orders"], act=True)
    elif name == "sensitivity":
        for k in range(7):  # too few customers for the volume line, but contact details
            c.event(ins, at(d, 10, k), "view", [f"c{200 + k:03d}"],
                    ["name", "email", "phone", "address", "payment"], act=True)  # fmt: skip
    elif name == "exfiltration":
        harvest = [f"c{200 + k:03d}" for k in range(30)]
        c.event(ins, at(d, 10), "search", harvest, ["name", "email", "phone"], act=True)
        c.event(ins, at(d, 13), "export", harvest, ["name", "email", "phone"],
                destination="personal_email", act=True)  # fmt: skip
    elif name == "sustained":  # four a day: under every daily line, not under the weekly one
        for day in range(d - 4, d + 1):
            for k in range(4):
                c.event(ins, at(day, 11, k), "view", [f"c{200 + 4 * (day - d + 4) + k:03d}"],
                        ["email", "phone"], act=True)  # fmt: skip
    elif name == "lookup_pace":  # four a day for a week: under the daily lines, not the weeks'
        for day in range(d - 6, d + 1):
            for k in range(4):
                c.event(ins, at(day, 11, k), "view", [f"c{200 + 4 * (day - d + 6) + k:03d}"],
                        ["name", "address"], act=True)  # fmt: skip
    elif name == "fixation":  # an ex and their new partner, looked up every other day
        for day in (d - 7, d - 5, d - 3, d - 1, d):
            for k, cust in enumerate(("c260", "c261")):
                c.event(ins, at(day, 14, 5 * k), "view", [cust], ["name", "address", "phone"],
                        act=True)  # fmt: skip
    elif name == "shared_harvest":  # the insider collects, a colleague copies the list
        harvest = [f"c{200 + k:03d}" for k in range(6)]  # too few for the colleague's volume
        for k, cust in enumerate(harvest):
            c.event(ins, at(d - 2 + k // 2, 11, k), "view", [cust], ["name", "address"], act=True)
        c.event(AGENTS[1], at(d, 15), "copy", harvest, ["name", "address"],
                destination="local", act=True)  # fmt: skip
    elif name == "own_copies":  # two look-ups a day with no case, then a small copy of them
        for k, cust in enumerate(OWN_LOOKED):
            c.event(ins, at(d - 3 + k // 2, 11, k), "view", [cust], ["name", "phone"], act=True)
        c.event(ins, at(d, 15), "copy", OWN_LOOKED, ["name", "phone"], destination="local",
                act=True)  # fmt: skip
    elif name == "case_mismatch":  # under a colleague's real, open case about someone else
        c.cases.append({"case_id": "k-cover", "customer_id": "c150", "employee_id": AGENTS[1],
                        "opened_at": at(d, 10), "closed_at": at(d, 18)})  # fmt: skip
        for k in range(3):
            c.event(ins, at(d, 11, 5 * k), "view", [f"c{200 + k:03d}"], ["name", "address"],
                    case_id="k-cover", act=True)  # fmt: skip
    elif name == "relationship":
        c.event(ins, at(d, 11), "view", ["rel1"], ["name", "address"], act=True)
    elif name == "vip":
        c.event(ins, at(d, 11), "view", ["c001"], ["name", "orders"], act=True)
    elif name == "canary":
        c.event(ins, at(d, 11), "search", ["c150", "decoy1", "c151"], ["name"], act=True)
    elif name == "account_misuse":
        for k in range(12):
            c.event(ins, at(d, 2, k), "view", [f"c{200 + k:03d}"], ["name"],
                    device_id="dev-unknown", src_ip="203.0.113.9", act=True)  # fmt: skip
    elif name == "departing":
        for row in c.employees:
            if row["employee_id"] == ins:
                row["departs_on"] = (at(d, 0) + dt.timedelta(days=10)).date().isoformat()
        c.event(ins, at(d, 15), "print", ["c250", "c251", "c252"], ["name", "address"],
                destination="printer", act=True)  # fmt: skip
    elif name == "rule:0c6f4b0e-5a53-4c61-9a55-2d8b7f1f1a01":
        c.event(ins, at(d, 15), "download", ["c250"], ["name"], destination="usb", act=True)
    elif name == "unusual_fields":  # contact details alone, where colleagues open whole records
        for k in range(3):
            c.event(ins, at(d, 11, 5 * k), "view", [f"c{200 + k:03d}"], ["email", "phone"],
                    act=True)  # fmt: skip
    elif name == "rule:night-contact-lookups":
        for k in range(10):
            c.event(ins, at(d, 1, k), "view", [f"c{300 + k:03d}"], ["email", "phone"], act=True)
    else:
        raise KeyError(name)
    return c


# Detectors each scenario must trigger (besides the one it is named after, others may
# legitimately fire too: a night sweep of contact details is also a volume spike).
SCENARIOS = (
    "volume",
    "sensitivity",
    "exfiltration",
    "relationship",
    "vip",
    "canary",
    "account_misuse",
    "departing",
    "sustained",
    "lookup_pace",
    "shared_harvest",
    "case_mismatch",
    "own_copies",
    "fixation",
    "unusual_fields",
    "rule:0c6f4b0e-5a53-4c61-9a55-2d8b7f1f1a01",
    "rule:night-contact-lookups",
)
