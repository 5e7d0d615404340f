"""A canary plan: decoys, who sees which, kept in the store and exported for planting.

The store keeps only what attribution needs: each decoy's keyed hashes and its holders.
The raw decoy addresses go only to the exported files, which the planting systems (CRM,
queue router, search service) and the mailbox/phone monitoring read.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from insiderwatch.canary.code import CanaryCode, build_code
from insiderwatch.canary.decoys import Decoy, make_decoys
from insiderwatch.errors import InsiderwatchError
from insiderwatch.privacy import HashKey
from insiderwatch.store.duckdb_store import Store

PLAN_DDL = (
    """CREATE TABLE IF NOT EXISTS canary_plans (
  plan_id VARCHAR PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL,
  planted_at TIMESTAMPTZ NOT NULL,
  field_size INTEGER NOT NULL,
  positions INTEGER NOT NULL,
  staff INTEGER NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS canary_decoys (
  customer_id VARCHAR PRIMARY KEY,
  plan_id VARCHAR NOT NULL,
  canary INTEGER NOT NULL,
  email_hash VARCHAR NOT NULL,
  phone_hash VARCHAR NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS canary_holders (
  customer_id VARCHAR NOT NULL,
  employee_id VARCHAR NOT NULL,
  PRIMARY KEY (customer_id, employee_id)
)""",
)


@dataclass(frozen=True)
class CanaryPlan:
    plan_id: str
    created_at: datetime
    planted_at: datetime
    code: CanaryCode
    decoys: list[Decoy]  # decoys[i] is canary number i of the code

    def holders_of(self) -> dict[str, list[str]]:
        """Decoy customer id -> the staff it is shown to."""
        return {self.decoys[c].customer_id: staff for c, staff in self.code.holders().items()}


def has_plans(store: Store) -> bool:
    return store.has_table("canary_decoys")


def staff_at(store: Store, when: datetime) -> list[str]:
    """Employees on the roster at ``when``: hired by then and not yet gone."""
    rows = store.con.execute(
        "SELECT employee_id FROM employees WHERE hired_on <= CAST(? AS DATE) "
        "AND (departs_on IS NULL OR departs_on > CAST(? AS DATE)) ORDER BY employee_id",
        [when, when],
    ).fetchall()
    return [r[0] for r in rows]


def make_plan(
    store: Store,
    key: HashKey,
    count: int,
    *,
    domain: str,
    phone_range: tuple[int, int],
    planted_at: datetime,
    created_at: datetime,
    rng: np.random.Generator,
) -> CanaryPlan:
    """Design a plan for the staff on the roster at ``planted_at`` and save it."""
    code = build_code(staff_at(store, planted_at), count, rng)
    for ddl in PLAN_DDL:
        store.con.execute(ddl)
    number = int(store.scalar("SELECT count(*) FROM canary_plans")) + 1
    plan_id = f"plan-{number:02d}"
    decoys = make_decoys(
        code.canaries,
        id_prefix=f"cus-c{number:02d}",
        domain=domain,
        phone_range=phone_range,
        rng=rng,
    )
    plan = CanaryPlan(plan_id, created_at, planted_at, code, decoys)
    _save(store, key, plan)
    return plan


def _save(store: Store, key: HashKey, plan: CanaryPlan) -> None:
    con = store.con
    emails = key.digest_many("email", [d.email for d in plan.decoys])
    phones = key.digest_many("phone", [d.phone for d in plan.decoys])
    clash = store.scalar(
        "SELECT count(*) FROM customers WHERE email_hash IN (SELECT unnest(?)) "
        "OR phone_hash IN (SELECT unnest(?))",
        [emails, phones],
    )
    if clash:
        raise InsiderwatchError(
            f"{clash} decoy address(es) belong to real customers: choose another "
            "--email-domain or --phone-range"
        )
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(
            "INSERT INTO canary_plans VALUES (?, ?, ?, ?, ?, ?)",
            [plan.plan_id, plan.created_at, plan.planted_at, plan.code.q,
             plan.code.positions, len(plan.code.lines)],
        )  # fmt: skip
        con.executemany(
            "INSERT INTO canary_decoys VALUES (?, ?, ?, ?, ?)",
            [[d.customer_id, plan.plan_id, i, emails[i], phones[i]]
             for i, d in enumerate(plan.decoys)],
        )  # fmt: skip
        con.executemany(
            "INSERT INTO canary_holders VALUES (?, ?)",
            [[cid, e] for cid, staff in plan.holders_of().items() for e in staff],
        )
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def export_plan(plan: CanaryPlan, out_dir: Path) -> list[Path]:
    """Files for the planting systems and for ingest (decoys as contract rows)."""
    dataset = out_dir / "dataset"
    dataset.mkdir(parents=True, exist_ok=True)
    holders = plan.holders_of()
    rows = [
        {
            "customer_id": d.customer_id,
            "first_name": d.first_name,
            "surname": d.surname,
            "email": d.email,
            "phone": d.phone,
            "position": i // plan.code.q,
            "symbol": i % plan.code.q,
            "show_to": ";".join(holders[d.customer_id]),
        }
        for i, d in enumerate(plan.decoys)
    ]
    paths = [out_dir / "plan.csv", out_dir / "plan.json"]
    _write_csv(paths[0], rows)
    paths[1].write_text(json.dumps(_plan_json(plan, rows), indent=2) + "\n")
    customers = [
        {"customer_id": d.customer_id, "surname": d.surname, "postcode": "", "email": d.email,
         "phone": d.phone, "is_vip": "false"}
        for d in plan.decoys
    ]  # fmt: skip
    canaries = [
        {"customer_id": d.customer_id, "note": f"{plan.plan_id}: shown to {len(holders[d.customer_id])} staff"}
        for d in plan.decoys
    ]  # fmt: skip
    paths += [dataset / "customers.csv", dataset / "canaries.csv"]
    _write_csv(paths[2], customers)
    _write_csv(paths[3], canaries)
    return paths


def _plan_json(plan: CanaryPlan, rows: list[dict]) -> dict:
    return {
        "plan_id": plan.plan_id,
        "created_at": plan.created_at.isoformat(),
        "planted_at": plan.planted_at.isoformat(),
        "code": {
            "construction": "lines a + b*x over GF(q); one canary per position x",
            "field_size": plan.code.q,
            "positions": plan.code.positions,
            "staff": len(plan.code.lines),
            "canaries_per_employee": plan.code.positions,
        },
        "decoys": rows,
        "staff": {e: [plan.decoys[c].customer_id for c in plan.code.codeword(e)]
                  for e in sorted(plan.code.lines)},
    }  # fmt: skip


def _write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
