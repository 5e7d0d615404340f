"""The company itself: its roster and teams, its customers, sellers and orders.

Everything is held as numpy arrays of indices (into the name pools, the team list ...);
strings are only built when the Arrow tables are made at the end.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from insiderwatch.contract import TABLES
from insiderwatch_sim import vocab
from insiderwatch_sim.config import SimulationConfig
from insiderwatch_sim.kit import DAY, CdfSampler, fixed_ids, take, timestamps
from insiderwatch_sim.people import NamePools, emails, phones
from insiderwatch_sim.profiles import Profile

ROLES: tuple[str, ...] = (
    "cs_agent", "seller_support", "fraud_investigator", "data_analyst", "supervisor",
    "engineer", "ops_manager", "service_account",
)  # fmt: skip
ROLE = {name: i for i, name in enumerate(ROLES)}

SHIFTS: dict[str, tuple[float, float]] = {  # local start hour, length in hours
    "early": (7.0, 8.0),
    "day": (9.0, 8.5),
    "late": (13.5, 8.5),
    "night": (21.5, 8.5),
}
SHIFT_NAMES = tuple(SHIFTS)
PATTERNS = ("weekday", "rota", "wed_sun")  # rota: four on, four off, weekends included

NO_DAY = 10**6  # "no such day" for departures, transfers ...

# Per team kind: (shift choices, their probabilities), (pattern choices, probabilities).
_TEAM_SHIFTS: dict[str, tuple[dict[str, float], dict[str, float]]] = {
    "cs": ({"early": 0.22, "day": 0.45, "late": 0.33}, {"weekday": 0.5, "rota": 0.35,
                                                        "wed_sun": 0.15}),
    "cs_night": ({"night": 1.0}, {"rota": 1.0}),
    "vip": ({"early": 0.3, "day": 0.7}, {"weekday": 0.7, "rota": 0.3}),
    "seller": ({"early": 0.2, "day": 0.8}, {"weekday": 0.85, "rota": 0.15}),
    "fraud": ({"day": 1.0}, {"weekday": 0.9, "rota": 0.1}),
    "desk": ({"early": 0.4, "day": 0.6}, {"weekday": 0.6, "rota": 0.4}),
    "book": ({"day": 1.0}, {"weekday": 1.0}),
}  # fmt: skip
_OFFICE = ({"day": 1.0}, {"weekday": 1.0})


@dataclass
class Team:
    name: str
    kind: str  # cs, cs_night, vip, seller, fraud, desk, book, analytics, engineering,
    # operations, platform
    site: str
    portfolio: int = -1  # seller-support teams serve the sellers of one portfolio
    supervisor: int = -1
    members: list[int] = field(default_factory=list)


@dataclass
class Roster:
    """One entry per roster row; arrays are indexed by employee number."""

    teams: list[Team]
    role: np.ndarray
    team: np.ndarray  # final team (what the roster shows)
    manager: np.ndarray  # -1: none
    first: np.ndarray
    surname: np.ndarray
    hired_day: np.ndarray  # relative to the first simulated day; negative = before
    departs_day: np.ndarray  # NO_DAY when no departure is known
    home_pc: np.ndarray  # -1: unknown
    shift: np.ndarray
    pattern: np.ndarray
    jitter_min: np.ndarray  # personal habit: starts a little early or late
    act: np.ndarray  # heavy-tailed activity multiplier
    transfer_day: np.ndarray  # NO_DAY: no transfer in the window
    prev_team: np.ndarray
    prev_manager: np.ndarray
    travel_day: np.ndarray  # NO_DAY: no travel
    travel_len: np.ndarray
    loaner: np.ndarray  # travelling with a loaner laptop
    device_change_day: np.ndarray  # NO_DAY: same laptop all along
    remote_share: np.ndarray  # share of days worked from home over VPN
    svc_app: np.ndarray  # service accounts: index into vocab.APPS, else -1
    ids: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.role)

    def of_role(self, *roles: str) -> np.ndarray:
        return np.flatnonzero(np.isin(self.role, [ROLE[r] for r in roles]))

    @property
    def staff(self) -> np.ndarray:
        return np.flatnonzero(self.role != ROLE["service_account"])

    def role_name(self, emp: int) -> str:
        return ROLES[self.role[emp]]

    def team_kind(self, emp: np.ndarray) -> np.ndarray:
        kinds = np.array([t.kind for t in self.teams])
        return kinds[self.team[emp]]

    def team_at(self, emp: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Team an employee was in on a given day (transfers change it mid-window)."""
        return np.where(day < self.transfer_day[emp], self.prev_team[emp], self.team[emp])


def build_roster(cfg: SimulationConfig, rng: np.random.Generator, pools: NamePools) -> Roster:
    e_total, days = cfg.employees, cfg.days
    company = cfg.company
    mix = company.mix
    n_svc = max(1, round(e_total * mix.service_accounts))
    staff = e_total - n_svc
    n_mgr = max(1, round(staff / 200))
    front = staff - n_mgr
    n_eng = max(1, round(front * mix.engineer))
    n_ana = max(1, round(front * mix.data_analyst))
    n_fraud = max(1, round(front * mix.fraud_investigator))
    n_seller = max(2, round(front * mix.seller_support))
    n_vip = max(2, round(front * mix.vip))
    n_desk = round(front * mix.front_desk)
    n_desk_teams = max(1, round(n_desk / 10)) if n_desk else 0
    n_book = round(front * mix.book_desk)
    n_book_teams = max(1, round(n_book / 8)) if n_book else 0
    rest = front - n_eng - n_ana - n_fraud - n_seller - n_vip - n_desk - n_book
    n_seller_teams = max(1, round(n_seller / 8))
    n_fraud_teams = max(1, round(n_fraud / 10))
    n_cs_teams = max(1, round(rest / 13))
    # one supervisor per team
    n_cs = rest - n_seller_teams - n_fraud_teams - 1 - n_cs_teams - n_desk_teams - n_book_teams

    teams = _teams(
        company, rng, n_cs_teams, n_seller_teams, n_fraud_teams, n_desk_teams, n_book_teams
    )
    by_kind: dict[str, list[int]] = {}
    for i, t in enumerate(teams):
        by_kind.setdefault(t.kind, []).append(i)

    roles: list[int] = []
    team_of: list[int] = []

    def add(role: str, team_ids: list[int], count: int) -> None:
        # Spread members evenly over the teams of that kind.
        for j, chunk in enumerate(np.array_split(np.arange(count), len(team_ids))):
            roles.extend([ROLE[role]] * len(chunk))
            team_of.extend([team_ids[j]] * len(chunk))

    add("cs_agent", by_kind.get("cs", []) + by_kind.get("cs_night", []), n_cs)
    add("cs_agent", by_kind["vip"], n_vip)
    add("seller_support", by_kind["seller"], n_seller)
    add("fraud_investigator", by_kind["fraud"], n_fraud)
    if n_desk:
        add("cs_agent", by_kind["desk"], n_desk)
    if n_book:
        add("cs_agent", by_kind["book"], n_book)
    supervised = [
        i
        for i, t in enumerate(teams)
        if t.kind in ("cs", "cs_night", "vip", "seller", "fraud", "desk", "book")
    ]
    add("supervisor", supervised, len(supervised))
    add("data_analyst", by_kind["analytics"], n_ana)
    add("engineer", by_kind["engineering"], n_eng)
    add("ops_manager", by_kind["operations"], n_mgr)
    add("service_account", by_kind["platform"], n_svc)
    role = np.array(roles)
    team = np.array(team_of)
    n = len(role)
    is_svc = role == ROLE["service_account"]
    is_sup = role == ROLE["supervisor"]

    # Tenure: years before the window, heavy-tailed; supervisors and managers have more.
    tenure = np.minimum(rng.lognormal(np.log(2.5), 0.9, n), rng.uniform(20, 35, n)) + 0.1
    tenure += np.where(is_sup | (role == ROLE["ops_manager"]), 3.0, 0.0)
    hired = -np.ceil(tenure * 365).astype(np.int64)
    frontline = np.isin(role, [ROLE["cs_agent"], ROLE["seller_support"]])
    if days >= 4:  # new hires start inside the window and have no history before it
        new = frontline & (rng.random(n) < 0.03)
        hired[new] = rng.integers(1, days - 2, new.sum())
    new_hire = hired > 0

    # Employee numbers follow hiring order, as HR systems issue them; services come last.
    order = np.lexsort((rng.random(n), hired, is_svc))
    role, team, hired, new_hire = role[order], team[order], hired[order], new_hire[order]
    is_svc, is_sup, frontline = is_svc[order], is_sup[order], frontline[order]
    for t in teams:
        t.members = []
    for e in range(n):
        teams[team[e]].members.append(e)
    for t in teams:
        sup = [e for e in t.members if role[e] == ROLE["supervisor"]]
        t.supervisor = sup[0] if sup else -1

    ops = np.flatnonzero(role == ROLE["ops_manager"])
    # Front-line staff report to their team's supervisor; supervisors, analysts and
    # engineers to an operations manager; managers and service accounts to nobody here.
    team_sup = np.array([t.supervisor for t in teams])
    manager = team_sup[team].copy()
    to_ops = is_sup | np.isin(role, [ROLE["data_analyst"], ROLE["engineer"]])
    manager[to_ops] = ops[rng.integers(0, len(ops), to_ops.sum())]
    manager[(role == ROLE["ops_manager"]) | is_svc] = -1

    # Shifts follow the team; supervisors work their team's pattern on a day shift.
    shift = np.zeros(n, dtype=np.int64)
    pattern = np.zeros(n, dtype=np.int64)
    kinds = np.array([t.kind for t in teams])[team]
    for kind in sorted(set(kinds.tolist())):  # sorted: set order varies between runs
        rows = np.flatnonzero(kinds == kind)
        shifts, patterns = _TEAM_SHIFTS.get(kind, _OFFICE)
        shift[rows] = [
            SHIFT_NAMES.index(s)
            for s in rng.choice(list(shifts), len(rows), p=list(shifts.values()))
        ]
        pattern[rows] = [
            PATTERNS.index(s)
            for s in rng.choice(list(patterns), len(rows), p=list(patterns.values()))
        ]
    day_sup = is_sup & (kinds != "cs_night")
    shift[day_sup] = SHIFT_NAMES.index("day")

    # Benign departures: normal behaviour right up to the last day.
    departs = np.full(n, NO_DAY, dtype=np.int64)
    leaving = ~is_svc & ~is_sup & ~new_hire & (rng.random(n) < 0.015)
    departs[leaving] = rng.integers(max(1, days // 3), days + 14, leaving.sum())

    # Team transfers (same kind of work, another team and supervisor).
    transfer = np.full(n, NO_DAY, dtype=np.int64)
    prev_team = team.copy()
    prev_manager = manager.copy()
    if days >= 5:
        movers = frontline & ~new_hire & ~leaving & (rng.random(n) < 0.015)
        for e in np.flatnonzero(movers):  # a few dozen at most
            same = [i for i in by_kind[teams[team[e]].kind] if i != team[e]]
            if not same:
                continue
            prev_team[e] = same[int(rng.integers(len(same)))]
            prev_manager[e] = teams[prev_team[e]].supervisor
            transfer[e] = rng.integers(2, days - 2)

    travel = np.full(n, NO_DAY, dtype=np.int64)
    travellers = ~is_svc & (rng.random(n) < 0.03)
    travel[travellers] = rng.integers(0, max(1, days - 2), travellers.sum())
    device_change = np.full(n, NO_DAY, dtype=np.int64)
    if days > 1:
        changers = ~is_svc & (rng.random(n) < 0.02)
        device_change[changers] = rng.integers(1, days, changers.sum())
    remote = np.where(rng.random(n) < 0.4, 0.4, 0.03)
    remote[kinds == "cs_night"] = 0.0
    remote[is_svc] = 0.0

    home = pools.postcode_sampler.draw(rng, n)
    home[rng.random(n) < 0.04] = -1
    home[is_svc] = -1
    svc_app = np.full(n, -1, dtype=np.int64)
    svc_app[is_svc] = [vocab.APP[a] for a in np.resize(vocab.SERVICE_APPS, is_svc.sum())]

    roster = Roster(
        teams=teams,
        role=role,
        team=team,
        manager=manager,
        first=rng.integers(0, len(pools.first_names), n),
        surname=pools.surname_sampler.draw(rng, n),
        hired_day=hired,
        departs_day=departs,
        home_pc=home,
        shift=shift,
        pattern=pattern,
        jitter_min=rng.normal(0, 12, n),
        act=rng.lognormal(0.0, 0.55, n),
        transfer_day=transfer,
        prev_team=prev_team,
        prev_manager=prev_manager,
        travel_day=travel,
        travel_len=rng.integers(2, 6, n),
        loaner=rng.random(n) < 0.5,
        device_change_day=device_change,
        remote_share=remote,
        svc_app=svc_app,
    )
    roster.ids = _employee_ids(roster, company)
    return roster


def _teams(
    company: Profile,
    rng: np.random.Generator,
    n_cs: int,
    n_seller: int,
    n_fraud: int,
    n_desk: int = 0,
    n_book: int = 0,
) -> list[Team]:
    """The company's teams, named in its own words: customer service per site (night teams
    at the last site), VIP care, one seller-support team per portfolio, fraud, front desks
    (walk-in counters, where the company has them), relationship desks (where it has them)
    and one team each of analysts, engineers, managers and service accounts."""
    sep, stem = company.separator, company.teams
    sites = list(company.sites)
    head, second = sites[0], sites[min(1, len(sites) - 1)]
    site_p = np.array(company.site_weights[: len(sites)], dtype=float)
    n_night = max(1 if n_cs >= 4 and company.mix.night_teams > 0 else 0,
                  round(n_cs * company.mix.night_teams))  # fmt: skip

    def slug(text: str) -> str:
        return text.lower().replace(" ", sep)

    teams: list[Team] = []
    per_site: dict[str, int] = {}
    for k in range(n_cs):
        night = k >= n_cs - n_night
        site = (
            (company.night_site or sites[-1])
            if night
            else str(rng.choice(sites, p=site_p / site_p.sum()))
        )
        per_site[site] = per_site.get(site, 0) + 1
        parts = (
            [stem["cs"], slug(site)] + ([stem["night"]] if night else []) + [str(per_site[site])]
        )
        teams.append(Team(sep.join(parts), "cs_night" if night else "cs", site))
    teams.append(Team(stem["vip"], "vip", head))
    for p in range(1, n_seller + 1):
        teams.append(Team(f"{stem['seller']}{sep}{p}", "seller", second, portfolio=p))
    for k in range(1, n_fraud + 1):
        teams.append(Team(f"{stem['fraud']}{sep}{k}", "fraud", head))
    for k in range(1, n_desk + 1):
        site = sites[(k - 1) % len(sites)]
        teams.append(Team(sep.join([stem["desk"], slug(site), str(k)]), "desk", site))
    for k in range(1, n_book + 1):
        teams.append(Team(f"{stem['book']}{sep}{k}", "book", head))
    for kind in ("analytics", "engineering", "operations"):
        teams.append(Team(stem[kind], kind, head))
    teams.append(Team(stem["platform"], "platform", "cloud"))
    return teams


def _employee_ids(roster: Roster, company: Profile) -> list[str]:
    ids: list[str] = []
    seen: dict[str, int] = {}
    for e in range(roster.n):  # a few thousand rows
        if roster.svc_app[e] >= 0:
            base = company.service_id.format(company.apps[vocab.APPS[roster.svc_app[e]]])
            seen[base] = seen.get(base, 0) + 1
            ids.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
        else:
            ids.append(company.staff_id.format(e + 1))
    return ids


def employees_table(roster: Roster, cfg: SimulationConfig, pools: NamePools) -> pa.Table:
    start = cfg.start
    n = roster.n
    svc = roster.svc_app >= 0
    first = [pools.first_names[i] for i in roster.first]
    sur = [pools.surnames[i] for i in roster.surname]
    company = cfg.company
    display = [
        f"{company.apps[vocab.APPS[roster.svc_app[e]]]} service"
        if svc[e]
        else f"{first[e]} {sur[e]}"
        for e in range(n)
    ]

    def day(offset: int) -> dt.date:
        return start + dt.timedelta(days=int(offset))

    columns = {
        "employee_id": pa.array(roster.ids),
        "display_name": pa.array(display),
        "surname": pa.array(["" if svc[e] else sur[e] for e in range(n)]),
        "role": take([company.roles[r] for r in ROLES], roster.role),
        "team": take([t.name for t in roster.teams], roster.team),
        "site": take([t.site for t in roster.teams], roster.team),
        "manager_id": take(roster.ids, roster.manager),
        "hired_on": pa.array([day(h) for h in roster.hired_day], pa.date32()),
        "departs_on": pa.array(
            [None if d >= NO_DAY else day(d) for d in roster.departs_day], pa.date32()
        ),
        "home_postcode": take(pools.postcodes, roster.home_pc),
    }
    return pa.table(columns, schema=TABLES["employees"].arrow_schema())


# --- customers ----------------------------------------------------------------------

CANARY_NOTES: tuple[str, ...] = (
    "Decoy planted in the CRM by security; no real person, any access is an alert.",
    "Honeytoken seeded into the weekly marketing extract.",
    "Decoy buyer added to seller-portal order lists.",
    "Canary account referenced only in the archived support queue.",
)


@dataclass
class Customers:
    first: np.ndarray
    surname: np.ndarray
    postcode: np.ndarray
    vip: np.ndarray  # bool
    canary: np.ndarray  # bool
    popularity: np.ndarray  # how often this customer contacts support (relative)

    @property
    def n(self) -> int:
        return len(self.surname)

    @property
    def canaries(self) -> np.ndarray:
        return np.flatnonzero(self.canary)

    @property
    def vips(self) -> np.ndarray:
        return np.flatnonzero(self.vip)

    @property
    def benign(self) -> np.ndarray:
        """Everyone staff may legitimately touch: all but the canaries."""
        return np.flatnonzero(~self.canary)


def build_customers(cfg: SimulationConfig, rng: np.random.Generator, pools: NamePools) -> Customers:
    n = cfg.n_customers
    canary = np.zeros(n, dtype=bool)
    canary[rng.choice(n, min(20, n // 100), replace=False)] = True
    vip = np.zeros(n, dtype=bool)
    candidates = np.flatnonzero(~canary)
    vip[rng.choice(candidates, max(5, round(n * 0.002)), replace=False)] = True
    popularity = rng.lognormal(0.0, 1.0, n)
    popularity[canary] = 0.0  # decoys never call support
    return Customers(
        first=rng.integers(0, len(pools.first_names), n),
        surname=pools.surname_sampler.draw(rng, n),
        postcode=pools.postcode_sampler.draw(rng, n),
        vip=vip,
        canary=canary,
        popularity=popularity,
    )


def customer_ids(customers: Customers) -> pa.Array:
    width = max(7, len(str(customers.n)) + 1)
    return fixed_ids("cus-", np.arange(1, customers.n + 1), width)


def customers_table(
    customers: Customers,
    rng: np.random.Generator,
    pools: NamePools,
    flagged: np.ndarray | None = None,
) -> pa.Table:
    """``flagged``: the customers the context marks VIP (default: every famous one)."""
    columns = {
        "customer_id": customer_ids(customers),
        "surname": pa.array(pools.surnames).take(pa.array(customers.surname)),
        "postcode": pa.array(pools.postcodes).take(pa.array(customers.postcode)),
        "email": emails(rng, customers.first, customers.surname, pools),
        "phone": phones(rng, customers.n),
        "is_vip": pa.array(customers.vip if flagged is None else flagged),
    }
    return pa.table(columns, schema=TABLES["customers"].arrow_schema())


def canaries_table(customers: Customers, ids: pa.Array) -> pa.Table:
    idx = customers.canaries
    notes = [CANARY_NOTES[i % len(CANARY_NOTES)] for i in range(len(idx))]
    columns = {"customer_id": ids.take(pa.array(idx)), "note": pa.array(notes, pa.string())}
    return pa.table(columns, schema=TABLES["canaries"].arrow_schema())


# --- sellers and orders -------------------------------------------------------------


@dataclass
class Orders:
    customer: np.ndarray
    seller: np.ndarray
    time: np.ndarray  # microseconds, sorted
    seller_portfolio: np.ndarray  # per seller: the portfolio number (1-based)
    # per portfolio: (order times, buyers), only orders staff may serve (no canary buyers)
    by_portfolio: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def pick_buyers(
        self, rng: np.random.Generator, portfolio: np.ndarray, before: np.ndarray
    ) -> np.ndarray:
        """A buyer from the portfolio's sellers for each request, who ordered before then.

        Weighted by orders, so frequent buyers come up more often; -1 when none qualifies.
        """
        out = np.full(len(portfolio), -1, dtype=np.int64)
        for p, (times, buyers) in self.by_portfolio.items():  # one pass per portfolio
            rows = np.flatnonzero(portfolio == p)
            if not len(rows) or not len(times):
                continue
            count = np.searchsorted(times, before[rows], side="left")
            pos = (rng.random(len(rows)) * count).astype(np.int64)
            out[rows] = np.where(count > 0, buyers[np.minimum(pos, len(buyers) - 1)], -1)
        return out


def build_orders(
    cfg: SimulationConfig,
    rng: np.random.Generator,
    customers: Customers,
    n_portfolios: int,
    t0: int,
) -> Orders:
    n_sellers = max(30, customers.n // 400)
    portfolio = np.concatenate(
        [np.arange(1, n_portfolios + 1), rng.integers(1, n_portfolios + 1, n_sellers)]
    )[:n_sellers]
    seller_pick = CdfSampler(rng.lognormal(0.0, 1.3, n_sellers))
    per_customer = rng.poisson(1.6, customers.n)
    buyer = np.repeat(np.arange(customers.n), per_customer)
    m = len(buyer)
    seller = seller_pick.draw(rng, m)
    # Most orders predate the window (history for seller support); some fall inside it.
    inside = rng.random(m) < 0.15
    when = np.where(
        inside,
        t0 + (rng.random(m) * cfg.days * DAY).astype(np.int64),
        t0 - (rng.random(m) * 180 * DAY).astype(np.int64),
    )
    when -= when % 1000  # millisecond resolution, as source systems log
    order = np.argsort(when, kind="stable")
    out = Orders(
        customer=buyer[order], seller=seller[order], time=when[order], seller_portfolio=portfolio
    )
    serviceable = ~customers.canary[out.customer]
    for p in range(1, n_portfolios + 1):
        rows = np.flatnonzero((portfolio[out.seller] == p) & serviceable)
        out.by_portfolio[p] = (out.time[rows], out.customer[rows])
    return out


def seller_ids(n: int) -> pa.Array:
    return fixed_ids("sel-", np.arange(1, n + 1), 5)


def orders_table(orders: Orders, cust_ids: pa.Array) -> pa.Table:
    sellers = seller_ids(len(orders.seller_portfolio))
    columns = {
        "order_id": fixed_ids("ord-", np.arange(1, len(orders.time) + 1), 9),
        "customer_id": cust_ids.take(pa.array(orders.customer)),
        "seller_id": sellers.take(pa.array(orders.seller)),
        "ordered_at": timestamps(orders.time),
    }
    return pa.table(columns, schema=TABLES["orders"].arrow_schema())
