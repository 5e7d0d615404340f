"""Turn the generated index columns into the contract's Arrow tables.

Also adds the deliberately broken access rows (only when asked for) and works out which
IP address and device each event came from.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insiderwatch.contract import TABLES
from insiderwatch_sim import vocab
from insiderwatch_sim.company import NO_DAY, ROLE
from insiderwatch_sim.config import TextOnlyRows
from insiderwatch_sim.events import CaseBook, Events, concat_events, take_events
from insiderwatch_sim.kit import (
    DAY,
    NULL_INT,
    fixed_ids,
    iso_z,
    list_array,
    ragged_index,
    take,
    timestamps,
)
from insiderwatch_sim.world import World

# Reasons a validating ingest must reject or skip a row. Those in TEXT_ONLY_REASONS cannot
# be represented in the typed Arrow table, so they only appear in CSV and JSON Lines files.
ARROW_REASONS: tuple[str, ...] = (
    "unknown_employee",
    "unknown_action",
    "negative_record_count",
    "bad_destination",
    "duplicate_event_id",
)
TEXT_ONLY_REASONS: tuple[str, ...] = ("unparsable_time", "missing_event_id")
BAD_REASONS = ARROW_REASONS + TEXT_ONLY_REASONS
# Identities that never appear on the roster (leavers purged from HR, typos, old services).
GHOST_IDS: tuple[str, ...] = ("emp-00000", "svc-legacy-etl", "contractor-4471", "temp-0193",
                              "emp-x1234")  # fmt: skip
BAD_TIMES: tuple[str, ...] = ("not-a-time", "2026-02-30T25:61:00Z", "yesterday 14:00",
                              "13/13/2026 10:00", "2026-09-01T10:00:00+25:00", "NaN")  # fmt: skip


def bad_row_counts(rate: float, n_valid: int) -> dict[str, int]:
    """How many broken rows of each kind; none at all when the rate is zero."""
    if rate <= 0 or n_valid == 0:
        return {}
    total = max(len(BAD_REASONS), round(rate * n_valid))
    base, extra = divmod(total, len(BAD_REASONS))
    return {reason: base + (i < extra) for i, reason in enumerate(BAD_REASONS)}


def _corrupted_copies(
    ev: Events, rng: np.random.Generator, counts: dict[str, int], n_emp: int
) -> Events:
    """Copies of benign events, each broken in one way a validator must catch."""
    benign = np.flatnonzero(ev.cols["insider"] < 0)
    parts = []
    for code, reason in enumerate(BAD_REASONS):
        k = counts.get(reason, 0)
        if reason not in ARROW_REASONS or reason == "duplicate_event_id" or k == 0:
            continue
        bad = take_events(ev, rng.choice(benign, k))
        cols = bad.cols
        cols["time"] = cols["time"] + rng.integers(0, 2000, k) * 1000
        cols["bad"][:] = code
        if reason == "unknown_employee":
            cols["emp"] = n_emp + rng.integers(0, len(GHOST_IDS), k)
        elif reason == "unknown_action":
            bad_actions = [vocab.ACT[a] for a in vocab.BAD_ACTIONS]
            cols["action"] = rng.choice(bad_actions, k)
        elif reason == "negative_record_count":
            cols["record_count"] = -rng.integers(1, 500, k)
        elif reason == "bad_destination":
            cols["action"][:] = vocab.ACT["export"]
            cols["dest"] = rng.choice([vocab.DEST[d] for d in vocab.BAD_DESTINATIONS], k)
        parts.append(bad)
    return concat_events(parts)


def _identities(w: World, ev: Events, rng: np.random.Generator) -> tuple[pa.Array, pa.Array]:
    """(src_ip, device_id) per event: desk, VPN from home, travel, new laptop, servers."""
    r, s = w.roster, w.schedule
    n_emp = r.n
    ips: list[str] = []
    devices: list[str] = []
    site_no = {name: i for i, name in enumerate(sorted({t.site for t in r.teams}))}
    for e in range(n_emp):  # three identities per roster row
        if r.svc_app[e] >= 0:
            app = w.cfg.company.apps[vocab.APPS[r.svc_app[e]]]
            ips += [f"10.200.{e % 250}.{11 + h}" for h in range(3)]
            devices += [f"srv-{app}-{h + 1:02d}" for h in range(3)]
            continue
        site = site_no[r.teams[r.team[e]].site]
        travel_net = "203.0.113" if rng.random() < 0.5 else "198.51.100"
        ips += [
            f"10.{20 + site}.{e // 250}.{e % 250 + 2}",
            f"10.250.{rng.integers(0, 256)}.{rng.integers(2, 255)}",
            f"{travel_net}.{rng.integers(1, 255)}",
        ]
        devices += [
            f"LT-{rng.integers(10000, 100000)}",
            f"LT-{rng.integers(10000, 100000)}",
            f"LN-{rng.integers(1000, 10000)}",
        ]
    ips += [f"192.0.2.{10 + g}" for g in range(len(GHOST_IDS))]
    devices += ["UNKNOWN"] * len(GHOST_IDS)

    emp, t = ev.cols["emp"], ev.cols["time"]
    known = emp < n_emp
    e = np.where(known, emp, 0)
    day = s.day_of(t)
    travel_from = s.t0 + np.minimum(r.travel_day, NO_DAY) * DAY
    travelling = (t >= travel_from[e]) & (t < travel_from[e] + r.travel_len[e] * DAY)
    ip_slot = np.where(travelling, 2, np.where(s.remote[e, day], 1, 0))
    new_laptop = t >= s.t0 + np.minimum(r.device_change_day, NO_DAY)[e] * DAY
    dev_slot = np.where(travelling & r.loaner[e], 2, np.where(new_laptop, 1, 0))
    svc = r.role[e] == ROLE["service_account"]
    host = rng.integers(0, 3, len(emp))
    ip_slot = np.where(svc, host, ip_slot)
    dev_slot = np.where(svc, host, dev_slot)
    ghost = 3 * n_emp + (emp - n_emp)
    ip_idx = np.where(known, 3 * e + ip_slot, ghost)
    dev_idx = np.where(known, 3 * e + dev_slot, ghost)
    return take(ips, ip_idx), take(devices, dev_idx)


def _fields(codes: np.ndarray) -> pa.Array:
    sets = [vocab.FIELD_SETS[name] for name in vocab.FIELD_SET_NAMES]
    flat = pa.array([f for fs in sets for f in fs], pa.string())
    length = np.array([len(fs) for fs in sets], dtype=np.int64)
    start = np.cumsum(length) - length
    return list_array(length[codes], flat.take(pa.array(ragged_index(start[codes], length[codes]))))


def case_ids(cases: CaseBook) -> pa.Array:
    """Case id per case number (numbered in order of first opening)."""
    width = max(8, len(str(cases.count)))
    return fixed_ids("CAS-", cases.id_rank() + 1, width)


def cases_table(w: World, ids: pa.Array, cust_ids: pa.Array) -> pa.Table:
    rows = w.cases.rows()
    opened = rows["opened"] - rows["opened"] % 1000
    closed = rows["closed"] - rows["closed"] % 1000
    order = np.lexsort((rows["num"], opened))
    still_open = closed[order] >= w.schedule.end_us  # as of the export: no close time yet
    columns = {
        "case_id": ids.take(pa.array(rows["num"][order])),
        "customer_id": cust_ids.take(pa.array(rows["cust"][order])),
        "employee_id": pa.array(w.roster.ids).take(pa.array(rows["emp"][order])),
        "opened_at": timestamps(opened[order]),
        "closed_at": timestamps(np.where(still_open, 0, closed[order]), null=still_open),
        "channel": take(list(vocab.CASE_CHANNELS), rows["channel"][order]),
    }
    return pa.table(columns, schema=TABLES["cases"].arrow_schema())


@dataclass
class Assembled:
    access: pa.Table
    events: Events  # sorted, aligned with ``access`` before duplicates were inserted
    event_ids: pa.Array
    bad_rows: dict[str, int]
    text_only: TextOnlyRows | None
    n_valid: int


def assemble_access(
    w: World, case_id_of: pa.Array, cust_ids: pa.Array, rng: np.random.Generator
) -> Assembled:
    ev = w.log.concat()
    # Night shifts and late follow-ups can spill past the last simulated midnight; the
    # export covers the window only.
    t = ev.cols["time"]
    ev = take_events(ev, np.flatnonzero((t >= w.schedule.t0) & (t < w.schedule.end_us)))
    n_valid = len(ev)
    counts = bad_row_counts(w.cfg.bad_row_rate, n_valid)
    if counts:
        ev = concat_events([ev, _corrupted_copies(ev, rng, counts, w.roster.n)])
    ev.cols["time"] -= ev.cols["time"] % 1000  # source systems log milliseconds
    ev = take_events(ev, np.argsort(ev.cols["time"], kind="stable"))
    n = len(ev)
    event_ids = fixed_ids("ev-", np.arange(1, n + 1), max(9, len(str(n))))
    c = ev.cols
    src_ip, device = _identities(w, ev, rng)
    rc = c["record_count"]
    company = w.cfg.company  # the generators' kinds, in this company's words
    columns = {
        "event_id": event_ids,
        "time": timestamps(c["time"]),
        "employee_id": take(w.roster.ids + list(GHOST_IDS), c["emp"]),
        "action": take(list(vocab.ACTION_NAMES), c["action"]),
        "customer_ids": list_array(ev.cust_len, cust_ids.take(pa.array(ev.cust_flat))),
        "fields": _fields(c["fields"]),
        "record_count": pa.array(rc, pa.int64(), mask=rc == NULL_INT),
        "app": take([company.apps[a] for a in vocab.APPS], c["app"]),
        "case_id": take(case_id_of, c["case"]),
        "src_ip": src_ip,
        "device_id": device,
        "destination": take(
            [company.destinations.get(d, d) for d in vocab.DESTINATION_NAMES], c["dest"]
        ),
    }
    access = pa.table(columns, schema=TABLES["access"].arrow_schema())

    text_only = None
    if counts:
        valid_rows = np.flatnonzero(c["bad"] < 0)
        # Exact duplicates (same event id) sit right after their original.
        dup = rng.choice(valid_rows, counts["duplicate_event_id"])
        access = access.take(pa.array(np.sort(np.concatenate([np.arange(n), dup]), kind="stable")))
        text_only = _text_only_rows(access, rng, counts)
    return Assembled(access, ev, event_ids, counts, text_only, n_valid)


def text_schema(schema: pa.Schema) -> pa.Schema:
    """The access schema as text formats carry it: times as strings, everything nullable."""
    return pa.schema(
        [pa.field(f.name, pa.string() if pa.types.is_timestamp(f.type) else f.type)
         for f in schema]
    )  # fmt: skip


def _text_only_rows(
    access: pa.Table, rng: np.random.Generator, counts: dict[str, int]
) -> TextOnlyRows:
    n_time, n_id = counts["unparsable_time"], counts["missing_event_id"]
    rows = np.sort(rng.choice(access.num_rows, n_time + n_id))
    kind = rng.permutation(np.r_[np.zeros(n_time, dtype=int), np.ones(n_id, dtype=int)])
    sub = access.take(pa.array(rows))
    times = iso_z(sub["time"])
    garbage = pa.array(rng.choice(BAD_TIMES, len(rows)))
    unparsable = pa.array(kind == 0)
    fresh = fixed_ids("evx-", np.arange(1, len(rows) + 1), 6)
    event_id = pc.if_else(unparsable, fresh, pa.nulls(len(rows), pa.string()))
    schema = text_schema(access.schema)
    columns = [
        event_id if f.name == "event_id"
        else pc.if_else(unparsable, garbage, times) if f.name == "time"
        else sub[f.name].combine_chunks()
        for f in schema
    ]  # fmt: skip
    return TextOnlyRows(pa.Table.from_arrays(columns, schema=schema), rows + 1)
