"""Contract-conforming synthetic events at any size, fast (numpy), for load benchmarks.

Detection benchmarks use the company simulator; ingest benchmarks need only volume with
realistic shapes (ids, lists, nulls), so this generator is deliberately simple.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from insiderwatch.contract import TABLES

ACTIONS = np.array(["view", "search", "update", "login", "export"])
ACTION_P = [0.62, 0.25, 0.08, 0.04, 0.01]


def employees(n: int = 2000) -> pa.Table:
    ids = [f"E{i:05d}" for i in range(n)]
    return pa.table(
        {
            "employee_id": ids,
            "role": ["cs_agent"] * n,
            "hired_on": pa.array(np.full(n, np.datetime64("2024-01-01", "D"))),
        }
    )


def events(n: int, seed: int = 1, employees_n: int = 2000, start_id: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    start = np.datetime64("2026-09-01T00:00:00", "us").astype(np.int64)
    times = np.sort(start + rng.integers(0, 30 * 86_400 * 10**6, n))
    action_idx = rng.choice(len(ACTIONS), size=n, p=ACTION_P)
    # searches show several customers, logins none, everything else one
    per_event = np.where(action_idx == 1, rng.integers(2, 8, n), np.where(action_idx == 3, 0, 1))
    offsets = np.concatenate([[0], np.cumsum(per_event)]).astype(np.int32)
    customers = np.char.add("C", rng.integers(0, 500_000, offsets[-1]).astype(str))
    fields = pa.array([["name", "email", "phone"], ["name", "orders"], []])
    field_idx = np.where(action_idx == 3, 2, rng.integers(0, 2, n))
    has_case = rng.random(n) < 0.7
    case_ids = np.where(has_case, np.char.add("K", rng.integers(0, 10**6, n).astype(str)), None)
    table = pa.table(
        {
            "event_id": np.char.add("ev-", np.arange(start_id, start_id + n).astype(str)),
            "time": pa.array(times, pa.timestamp("us", tz="UTC")),
            "employee_id": np.char.add(
                "E", np.char.zfill(rng.integers(0, employees_n, n).astype(str), 5)
            ),
            "action": ACTIONS[action_idx],
            "customer_ids": pa.ListArray.from_arrays(pa.array(offsets), pa.array(customers)),
            "fields": fields.take(pa.array(field_idx)),
            "record_count": per_event.astype(np.int64),
            "app": np.array(["crm", "helpdesk", "orders"])[rng.integers(0, 3, n)],
            "case_id": pa.array(case_ids, pa.string()),
            "src_ip": np.char.add("10.0.", rng.integers(0, 255, n).astype(str)),
            "device_id": np.char.add("D", rng.integers(0, 3000, n).astype(str)),
            "destination": pa.array(np.where(action_idx == 4, "local", None), pa.string()),
        }
    )
    return table.cast(TABLES["access"].arrow_schema())


def write_parquet_dataset(folder: Path, n: int, chunk: int = 500_000) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(employees(), folder / "employees.parquet")
    path = folder / "access.parquet"
    partial = folder / "partial.parquet.tmp"  # renamed when complete: no half files
    with pq.ParquetWriter(partial, TABLES["access"].arrow_schema()) as writer:
        for i, begin in enumerate(range(0, n, chunk)):
            writer.write_table(events(min(chunk, n - begin), seed=i + 1, start_id=begin))
    partial.rename(path)
    return path
