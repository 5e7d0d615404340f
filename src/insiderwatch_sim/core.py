"""simulate(): build a whole company, its month of data access, and the ground truth."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

from insiderwatch_sim.activity import generate_benign
from insiderwatch_sim.assemble import (
    TEXT_ONLY_REASONS,
    Assembled,
    assemble_access,
    case_ids,
    cases_table,
)
from insiderwatch_sim.company import (
    NO_DAY,
    ROLE,
    build_customers,
    build_orders,
    build_roster,
    canaries_table,
    customer_ids,
    customers_table,
    employees_table,
    orders_table,
    seller_ids,
)
from insiderwatch_sim.config import Company, SimulationConfig
from insiderwatch_sim.insiders import (
    Insider,
    choose_insiders,
    ensure_on_duty,
    generate_malicious,
)
from insiderwatch_sim.kit import DAY, ragged_index, rng_for
from insiderwatch_sim.people import build_pools
from insiderwatch_sim.schedule import build_schedule
from insiderwatch_sim.world import World

Progress = Callable[[str, float], None]


def simulate(config: SimulationConfig, progress: Progress | None = None) -> Company:
    """Simulate ``config.employees`` staff over ``config.days`` days.

    Deterministic: the same config gives identical tables. ``progress(stage, fraction)``
    is called a handful of times.
    """
    report: Progress = progress or (lambda stage, fraction: None)
    cfg = config
    seed = cfg.stream_seed
    report("roster", 0.0)
    pools = build_pools(rng_for(seed, "pools"), n_postcodes=max(300, cfg.n_customers // 9))
    roster = build_roster(cfg, rng_for(seed, "roster"), pools)
    customers = build_customers(cfg, rng_for(seed, "customers"), pools)
    # Insiders first: they change departure dates and plant relatives among customers.
    insiders = choose_insiders(cfg, rng_for(seed, "insiders"), roster, customers)
    schedule = build_schedule(cfg, rng_for(seed, "schedule"), roster)
    ensure_on_duty(schedule, roster, insiders)
    n_portfolios = max(t.portfolio for t in roster.teams)
    orders = build_orders(cfg, rng_for(seed, "orders"), customers, n_portfolios, schedule.t0)
    world = World(cfg, pools, roster, customers, orders, schedule)

    report("benign activity", 0.1)
    generate_benign(world, lambda f: report("benign activity", 0.1 + 0.55 * f))
    report("insiders", 0.65)
    generate_malicious(world, insiders)

    report("tables", 0.7)
    cust_ids = customer_ids(customers)
    case_id_of = case_ids(world.cases)
    built = assemble_access(world, case_id_of, cust_ids, rng_for(seed, "assemble"))
    tables: dict[str, pa.Table] = {
        "employees": employees_table(roster, cfg, pools),
        "customers": customers_table(
            customers,
            rng_for(seed, "contact-details"),
            pools,
            flagged=_vip_flags(cfg, customers, rng_for(seed, "vip-flags")),
        ),
        "cases": cases_table(world, case_id_of, cust_ids),
        "orders": orders_table(orders, cust_ids),
        "canaries": canaries_table(customers, cust_ids),
        "access": built.access,
    }
    report("ground truth", 0.95)
    truth = _truth(world, insiders, built, tables, cust_ids)
    report("done", 1.0)
    return Company(tables=tables, truth=truth, text_only_rows=built.text_only)


def _vip_flags(cfg: SimulationConfig, customers, rng: np.random.Generator) -> np.ndarray:
    """Which famous customers the context flags VIP: all, or the profile's share of them."""
    share = cfg.company.vip_flagged
    if share >= 1.0:
        return customers.vip
    return customers.vip & (rng.random(customers.n) < share)


def _iso(us: int) -> str:
    moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(us))
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _day(cfg: SimulationConfig, offset: int) -> str:
    return (cfg.start + dt.timedelta(days=int(offset))).isoformat()


def _truth(
    w: World,
    insiders: list[Insider],
    built: Assembled,
    tables: dict[str, pa.Table],
    cust_ids: pa.Array,
) -> dict[str, Any]:
    cfg, r, s = w.cfg, w.roster, w.schedule
    ev = built.events
    ids = r.ids
    insider_col = ev.cols["insider"]
    starts = ev.cust_start
    out_insiders = []
    by_number = {ins.number: ins for ins in insiders}
    for ins in insiders:  # one pass per insider
        rows = np.flatnonzero(insider_col == ins.number)
        if not len(rows):
            continue
        flat = ev.cust_flat[ragged_index(starts[rows], ev.cust_len[rows])]
        out_insiders.append(
            {
                "employee_id": ids[ins.emp],
                "scenario": ins.scenario,
                # accomplices: the pair's lead, the same for both
                "group": ids[by_number[ins.group].emp] if ins.group >= 0 else None,
                "role": cfg.company.roles[r.role_name(ins.emp)],
                "team": r.teams[r.team[ins.emp]].name,
                "first_malicious_at": _iso(ev.cols["time"][rows].min()),
                "last_malicious_at": _iso(ev.cols["time"][rows].max()),
                "event_ids": built.event_ids.take(pa.array(rows)).to_pylist(),
                "customer_ids": cust_ids.take(pa.array(np.unique(flat))).to_pylist(),
            }
        )
    insider_emps = {ins.emp for ins in insiders}
    departures = [
        {"employee_id": ids[e], "departs_on": _day(cfg, r.departs_day[e]),
         "insider": e in insider_emps}
        for e in np.flatnonzero(r.departs_day < NO_DAY)
    ]  # fmt: skip
    transfers = [
        {
            "employee_id": ids[e],
            "on": _day(cfg, r.transfer_day[e]),
            "from_team": r.teams[r.prev_team[e]].name,
            "to_team": r.teams[r.team[e]].name,
            "from_manager": ids[r.prev_manager[e]] if r.prev_manager[e] >= 0 else None,
            "to_manager": ids[r.manager[e]] if r.manager[e] >= 0 else None,
        }
        for e in np.flatnonzero(r.transfer_day < NO_DAY)
    ]
    travel = [
        {"employee_id": ids[e], "from": _day(cfg, r.travel_day[e]),
         "until": _day(cfg, r.travel_day[e] + r.travel_len[e]), "loaner_device": bool(r.loaner[e])}
        for e in np.flatnonzero(r.travel_day < NO_DAY)
    ]  # fmt: skip
    sellers = seller_ids(len(w.orders.seller_portfolio)).to_pylist()
    counts = {name: t.num_rows for name, t in tables.items()}
    counts["access_valid"] = built.n_valid
    return {
        "config": cfg.to_json(),
        "window": {"start": _iso(s.t0), "end": _iso(s.t0 + s.days * DAY)},
        "insiders": out_insiders,
        "departures": departures,
        "transfers": transfers,
        "new_hires": [
            {"employee_id": ids[e], "hired_on": _day(cfg, r.hired_day[e])}
            for e in np.flatnonzero(r.hired_day > 0)
        ],
        "travel": travel,
        "device_changes": [
            {"employee_id": ids[e], "on": _day(cfg, r.device_change_day[e])}
            for e in np.flatnonzero(r.device_change_day < NO_DAY)
        ],
        "surge_days": [_day(cfg, d) for d in s.surge_days],
        "seller_portfolios": {
            sel: int(p) for sel, p in zip(sellers, w.orders.seller_portfolio, strict=True)
        },
        "portfolio_teams": {str(t.portfolio): t.name for t in r.teams if t.portfolio > 0},
        "service_accounts": [ids[e] for e in r.of_role("service_account")],
        "canaries": tables["canaries"]["customer_id"].to_pylist(),
        "vip_customers": int(w.customers.vip.sum()),
        "bad_rows": dict(built.bad_rows),
        "bad_rows_text_only": list(TEXT_ONLY_REASONS) if built.bad_rows else [],
        "counts": counts,
        "profile": cfg.profile,
        "roles": {cfg.company.roles[role]: int((r.role == ROLE[role]).sum()) for role in ROLE},
    }
