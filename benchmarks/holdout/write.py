"""Writing a hold-out company as a contract dataset (what `insiderwatch ingest` and
`analyze` read) and its ground truth (which the product never sees).

Files: ``employees.csv`` (an HR export), ``customers.parquet``, ``cases.csv`` (times in
each assignee's local offset, as ticketing tools export them) and ``access/part-*.parquet``
(typed, time-ordered). The truth goes to a separate file, outside the dataset.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from holdout.company import Company
from holdout.events import ACTIONS, FIELDS, NONE, US_PER_S
from holdout.names import SURNAMES
from holdout.world import DAY_US

PART_ROWS = 500_000


def write_dataset(company: Company, root: Path) -> dict:
    """Write the dataset under ``root``; return the ground truth (employee, scenario, first
    malicious time, the malicious event ids)."""
    root.mkdir(parents=True, exist_ok=True)
    w = company.world
    _employees(w, root / "employees.csv")
    customer_ids = pa.array(w.cust.ids, pa.string())
    pq.write_table(pa.table({
        "customer_id": customer_ids,
        "surname": pa.array([_surname(s) for s in w.cust.surname]),
        "postcode": pa.array([w.cust.postcodes[p] for p in w.cust.postcode]),
        "email": pa.array(w.cust.email), "phone": pa.array(w.cust.phone),
        "is_vip": pa.array(w.cust.vip),
    }), root / "customers.parquet")  # fmt: skip
    case_ids = _case_ids(company)
    _cases(w, case_ids, customer_ids, root / "cases.csv")
    event_ids = _access(company, case_ids, customer_ids, root / "access")
    return _truth(company, event_ids)


def write_truth(truth: dict, path: Path) -> None:
    path.write_text(json.dumps(truth, indent=1))


def _surname(code: int) -> str:
    return SURNAMES[code]


def _day(w, day: int) -> str:
    return (w.cal.start + dt.timedelta(days=int(day))).isoformat()


def _employees(w, path: Path) -> None:
    st = w.staff
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["employee_id", "display_name", "surname", "role", "team", "site",
                      "manager_id", "hired_on", "departs_on", "home_postcode"])  # fmt: skip
        for e in range(len(st)):
            role = w.role_of(e)
            out.writerow([
                st.ids[e], st.names[e], "" if st.service[e] else _surname(st.surname[e]),
                role.name, st.team[e], w.style.sites[st.site[e]].code, st.manager[e] or "",
                _day(w, st.hired[e]), _day(w, st.departs[e]) if st.departs[e] < 10**5 else "",
                st.home_postcode[e] or "",
            ])  # fmt: skip


def _case_ids(company: Company) -> pa.Array:
    books = company.world.cases
    prefixes = books.prefixes.items
    base = 400_000 + 1000 * company.config.seed % 97_000
    return pa.array(
        [f"{prefixes[p]}{base + i}" for i, p in enumerate(books.prefix_of_case())], pa.string()
    )


def _local_times(w, us: np.ndarray, site: np.ndarray) -> pa.Array:
    """ISO 8601 with the site's offset on that day, e.g. 2026-11-03T09:12:00+01:00."""
    day = np.clip((us - w.cal.epoch0) // DAY_US, 0, w.cal.days - 1)
    offset = w.cal.offset_min[site, day].astype(np.int64)
    local = pa.array(us + offset * 60 * US_PER_S, pa.timestamp("us"))
    text = pc.strftime(local, format="%Y-%m-%dT%H:%M:%S")
    sign = np.where(offset < 0, "-", "+")
    hh, mm = np.abs(offset) // 60, np.abs(offset) % 60
    tail = [f"{s}{h:02d}:{m:02d}" for s, h, m in zip(sign, hh, mm, strict=True)]
    return pc.binary_join_element_wise(text, pa.array(tail), "")


def _cases(w, case_ids: pa.Array, customer_ids: pa.Array, path: Path) -> None:
    c = w.cases.table()
    keep = np.flatnonzero(c["listed"])
    site = w.staff.site[c["employee"][keep]]
    closed = c["closed"][keep]
    closed_text = _local_times(w, np.where(closed < 0, c["opened"][keep], closed), site)
    table = pa.table({
        "case_id": case_ids.take(pa.array(c["case"][keep])),
        "customer_id": customer_ids.take(pa.array(c["customer"][keep])),
        "employee_id": pa.array(w.staff.ids).take(pa.array(c["employee"][keep])),
        "opened_at": _local_times(w, c["opened"][keep], site),
        "closed_at": pc.if_else(pa.array(closed < 0), pa.scalar(None, pa.string()), closed_text),
        "channel": pa.array(w.channels.items).take(pa.array(c["channel"][keep])),
    })  # fmt: skip
    pacsv.write_csv(table, path)


def _coded(items: list[str], codes: np.ndarray) -> pa.Array:
    """Codes to text, NONE to null."""
    return pa.array(items, pa.string()).take(pa.array(codes, mask=codes < 0))


def _access(company: Company, case_ids, customer_ids, folder: Path) -> np.ndarray:
    w, ev = company.world, company.events
    folder.mkdir(exist_ok=True)
    n = len(ev)
    prefix = f"{w.style.name[:3]}{company.config.seed}-"
    event_ids = np.char.add(prefix, np.char.zfill(np.arange(n).astype(str), 9))
    field_lists = pa.array([[f for b, f in enumerate(FIELDS) if m >> b & 1] for m in range(128)])
    offsets = pa.array(ev.offsets().astype(np.int32))
    table = pa.table({
        "event_id": pa.array(event_ids),
        "time": pa.array(ev.t, pa.timestamp("us", tz="UTC")),
        "employee_id": pa.array(w.staff.ids).take(pa.array(ev.emp)),
        "action": pa.array(ACTIONS).take(pa.array(ev.action)),
        "customer_ids": pa.ListArray.from_arrays(offsets, customer_ids.take(pa.array(ev.cust))),
        "fields": field_lists.take(pa.array(ev.fields)),
        "record_count": pa.array(ev.records, mask=ev.records == NONE),
        "app": _coded(w.apps.items, ev.app),
        "case_id": case_ids.take(pa.array(ev.case, mask=ev.case == NONE)),
        "src_ip": _coded(w.ips.items, ev.ip),
        "device_id": _coded(w.devices.items, ev.device),
        "destination": _coded(w.dests.items, ev.dest),
    })  # fmt: skip
    for part, start in enumerate(range(0, n, PART_ROWS)):
        pq.write_table(table.slice(start, PART_ROWS), folder / f"part-{part:05d}.parquet")
    return event_ids


def _truth(company: Company, event_ids: np.ndarray) -> dict:
    w, ev, cfg = company.world, company.events, company.config
    people = []
    for ins in company.insiders:
        rows = np.flatnonzero(ev.insider == ins.index)
        if not len(rows):
            continue
        first = dt.datetime.fromtimestamp(int(ev.t[rows].min()) / US_PER_S, dt.UTC)
        people.append({
            "employee_id": w.staff.ids[ins.employee],
            "role": w.role_of(ins.employee).name,
            "scenario": ins.scenario,
            "first_malicious_at": first.isoformat(),
            "event_ids": event_ids[rows].tolist(),
            "customer_ids": [w.cust.ids[c] for c in dict.fromkeys(ins.targets)],
        })  # fmt: skip
    return {
        "generator": "holdout", "style": cfg.style, "employees": cfg.employees,
        "days": cfg.days, "seed": cfg.seed, "start": w.cal.start.isoformat(),
        "events": len(ev), "insiders": people,
    }  # fmt: skip
