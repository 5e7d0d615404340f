"""Company profiles: each names its world differently, and profile x seed is a company."""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from insiderwatch.contract import TABLES
from insiderwatch_sim import PROFILES, RULE_AWARE_SCENARIOS, Company, SimulationConfig, simulate
from insiderwatch_sim.profiles import APP_POOLS, DESTINATION_POOLS, ROLE_POOLS, TEAM_POOLS

SMALL = {"employees": 90, "days": 3, "customers": 5000, "seed": 21}
# Large and long enough for every rule-aware scenario (>= 600 employees) to span weeks.
AWARE = SimulationConfig(employees=600, days=21, seed=31, customers=20_000,
                         profile="us-marketplace")  # fmt: skip


@pytest.fixture(scope="module")
def small() -> dict[str, Company]:
    return {name: simulate(SimulationConfig(profile=name, **SMALL)) for name in PROFILES.names()}


@pytest.fixture(scope="module")
def aware() -> Company:
    return simulate(AWARE)


def values(company: Company, table: str, column: str) -> set[str]:
    return {v for v in company.tables[table][column].to_pylist() if v is not None}


def test_at_least_eight_profiles_and_no_two_share_a_name() -> None:
    names = PROFILES.names()
    assert len(names) >= 8
    for a, b in itertools.combinations(names, 2):
        shared = PROFILES.get(a).vocabulary() & PROFILES.get(b).vocabulary()
        assert not shared, f"{a} and {b} share {sorted(shared)}"


def test_pools_have_an_alternative_for_every_profile() -> None:
    n = len(PROFILES.names())
    for pools in (ROLE_POOLS, APP_POOLS, DESTINATION_POOLS, TEAM_POOLS):
        for kind, names in pools.items():
            assert len(set(names)) >= n, kind


def test_each_company_speaks_its_profiles_vocabulary(small: dict[str, Company]) -> None:
    for name, company in small.items():
        profile = PROFILES.get(name)
        assert values(company, "employees", "role") <= set(profile.roles.values()), name
        assert values(company, "access", "app") <= set(profile.apps.values()), name
        outside = {d for d in values(company, "access", "destination") if ":" in d}
        assert outside <= set(profile.destinations.values()), name
        stems = [profile.teams[k] for k in ("cs", "fraud", "analytics")]
        teams = values(company, "employees", "team")
        assert all(any(t.startswith(s) for t in teams) for s in stems), (name, teams)
        for table, spec in TABLES.items():
            assert company.tables[table].schema.equals(spec.arrow_schema()), (name, table)


def test_role_mix_follows_the_profile(small: dict[str, Company]) -> None:
    big = {n: simulate(SimulationConfig(profile=n, employees=1000, days=1, seed=2))
           for n in ("classic", "data-heavy-saas")}  # fmt: skip
    share = {}
    for name, company in big.items():
        roles = Counter(company.tables["employees"]["role"].to_pylist())
        share[name] = roles[PROFILES.get(name).roles["data_analyst"]] / sum(roles.values())
    assert share["data-heavy-saas"] > 2 * share["classic"]


def test_shifts_follow_the_profiles_clock(small: dict[str, Company]) -> None:
    # The commonest login hour in UTC (the day shift's start) moves with the staff's clock.
    def login_hour(name: str) -> int:
        a = small[name].tables["access"]
        logins = a.filter(pc.equal(a["action"], "login"))
        return int(np.bincount(pc.hour(logins["time"]).to_numpy(), minlength=24).argmax())

    def apart(a: str, b: str) -> int:
        d = abs(login_hour(a) - login_hour(b))
        return min(d, 24 - d)

    assert apart("classic", "us-marketplace") >= 4  # New York is 5 hours behind London
    assert apart("classic", "fintech-apac") >= 6  # Singapore 7 ahead, an hour earlier


def test_case_linking_habits_differ(small: dict[str, Company]) -> None:
    def linked(name: str) -> float:
        company = simulate(SimulationConfig(profile=name, employees=300, days=4, seed=5))
        a = company.tables["access"]
        views = a.filter(pc.equal(a["action"], "view"))
        return 1 - views["case_id"].null_count / views.num_rows

    assert linked("classic") > linked("latam-retail") + 0.15


def test_profile_and_seed_make_a_company() -> None:
    def insiders(profile: str, seed: int) -> list[str]:
        cfg = SimulationConfig(profile=profile, employees=200, days=4, seed=seed, insider_rate=0.05)
        return sorted(i["employee_id"][-4:] for i in simulate(cfg).truth["insiders"])

    assert insiders("eu-telco", 1) == insiders("eu-telco", 1)
    assert insiders("eu-telco", 1) != insiders("eu-telco", 2)
    assert insiders("eu-telco", 1) != insiders("india-bpo", 1)


def test_unknown_profile_is_refused() -> None:
    with pytest.raises(ValueError, match="known: .*classic"):
        SimulationConfig(profile="nowhere-inc")


# --- insiders who know the rules ----------------------------------------------------------


def _events(company: Company, insider: dict) -> pa.Table:
    a = company.tables["access"]
    return a.filter(pc.is_in(a["event_id"], value_set=pa.array(insider["event_ids"])))


def by_scenario(company: Company) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for i in company.truth["insiders"]:
        out.setdefault(i["scenario"], []).append(i)
    return out


def test_every_rule_aware_scenario_is_present(aware: Company) -> None:
    assert set(RULE_AWARE_SCENARIOS) <= set(by_scenario(aware))


def test_low_and_slow_stays_low_for_weeks(aware: Company) -> None:
    for ins in by_scenario(aware)["low_and_slow"]:
        ev = _events(aware, ins)
        views = ev.filter(pc.equal(ev["action"], "view"))
        per_day = Counter(t.date() for t in views["time"].to_pylist())
        assert max(per_day.values()) <= 4
        assert max(per_day) - min(per_day) >= dt.timedelta(days=7)
        assert views["case_id"].null_count == views.num_rows
        outbound = ev.filter(pc.not_equal(ev["action"], "view"))
        assert set(outbound["destination"].to_pylist()) <= {"local"}


def test_ticket_cover_uses_real_open_unrelated_cases(aware: Company) -> None:
    cases = aware.tables["cases"].to_pylist()
    by_id: dict[str, list[dict]] = {}
    for c in cases:
        by_id.setdefault(c["case_id"], []).append(c)
    for ins in by_scenario(aware)["ticket_cover"]:
        ev = _events(aware, ins)
        rows = ev.filter(pc.equal(ev["action"], "view")).to_pylist()
        assert rows and all(r["case_id"] in by_id for r in rows)
        for r in rows:
            spans = by_id[r["case_id"]]
            assert any(c["opened_at"] <= r["time"] and (c["closed_at"] is None
                       or r["time"] < c["closed_at"]) for c in spans), r["event_id"]  # fmt: skip
        unrelated = [r for r in rows if r["customer_ids"][0] not in
                     {c["customer_id"] for c in by_id[r["case_id"]]}]  # fmt: skip
        assert len(unrelated) >= 0.9 * len(rows)


def test_spread_harvest_prints_small_pages_over_weeks(aware: Company) -> None:
    for ins in by_scenario(aware)["spread_harvest"]:
        ev = _events(aware, ins)
        pages = ev.filter(pc.equal(ev["action"], "print"))
        assert pages.num_rows >= 2
        assert max(pages["record_count"].to_pylist()) <= 25
        assert set(pages["destination"].to_pylist()) == {"printer"}
        first, last = (dt.datetime.fromisoformat(ins[k]) for k in ("first_malicious_at",
                                                                  "last_malicious_at"))  # fmt: skip
        assert last - first >= dt.timedelta(days=7)


def test_accomplices_split_one_harvest(aware: Company) -> None:
    ring = by_scenario(aware)["accomplices"]
    assert len(ring) in (2, 3) and len({i["group"] for i in ring}) == 1
    lead = next(i for i in ring if i["employee_id"] == i["group"])
    partners = [i for i in ring if i is not lead]
    ev = _events(aware, lead)
    exports = ev.filter(pc.equal(ev["action"], "export")).to_pylist()
    assert len(exports) == 1
    sent = set(exports[0]["customer_ids"])
    for partner in partners:
        assert set(partner["customer_ids"]) <= sent  # the lead sends what each looked up
        assert set(_events(aware, partner)["action"].to_pylist()) == {"view"}  # sends nothing


def test_every_profile_and_scenario_is_documented() -> None:
    from insiderwatch_sim.insiders import GENERATORS

    doc = (Path(__file__).parents[1] / "docs" / "simulator.md").read_text()
    for name in [*PROFILES.names(), *GENERATORS]:
        assert f"| `{name}` |" in doc, name


def test_ex_partner_snoop_comes_back_to_a_few_strangers_on_separate_days(aware: Company) -> None:
    emp = {e["employee_id"]: e for e in aware.tables["employees"].to_pylist()}
    cust = {c["customer_id"]: c for c in aware.tables["customers"].to_pylist()}
    for ins in by_scenario(aware)["ex_partner_snoop"]:
        ev = _events(aware, ins)
        views = ev.filter(pc.equal(ev["action"], "view")).to_pylist()
        targets = {r["customer_ids"][0] for r in views}
        assert 1 <= len(targets) <= 3
        assert len({r["time"].date() for r in views}) >= 3  # separate days
        assert all(r["case_id"] is None for r in ev.to_pylist())  # never under a case
        me = emp[ins["employee_id"]]
        for t in targets:  # nothing in the data ties them to the insider
            assert cust[t]["surname"] != me["surname"]
            assert cust[t]["postcode"] != me["home_postcode"]


def test_a_vip_heavy_book_looks_vips_up_without_a_case(small: dict[str, Company]) -> None:
    """anz-insurer's account managers (the seller-support kind) serve famous clients: a
    good share of their look-ups with no case are of VIPs; elsewhere hardly any are."""

    def vip_share(name: str) -> float:
        company = small[name]
        role = PROFILES.get(name).roles["seller_support"]
        staff = {e["employee_id"] for e in company.tables["employees"].to_pylist()
                 if e["role"] == role}  # fmt: skip
        vips = {c["customer_id"] for c in company.tables["customers"].to_pylist() if c["is_vip"]}
        views = [r for r in company.tables["access"].to_pylist() if r["employee_id"] in staff
                 and r["case_id"] is None and r["action"] == "view"]  # fmt: skip
        return sum(1 for r in views if set(r["customer_ids"]) & vips) / max(1, len(views))

    assert PROFILES.get("anz-insurer").vip_book > 0 and PROFILES.get("classic").vip_book == 0
    assert vip_share("anz-insurer") > 0.2
    assert vip_share("classic") < 0.05


# A relationship desk and the insider who plays on it: every kind drawn once.
BOOKS = SimulationConfig(employees=300, days=14, seed=17, insider_rate=0.05,
                         profile="fintech-apac")  # fmt: skip


@pytest.fixture(scope="module")
def books() -> Company:
    return simulate(BOOKS)


def _desk_views(company: Company, profile: str) -> dict[str, list[dict]]:
    """Each relationship-desk member's case-less views, by employee (supervisors aside)."""
    p = PROFILES.get(profile)
    desk = {e["employee_id"] for e in company.tables["employees"].to_pylist()
            if (e["team"] or "").startswith(p.teams["book"]) and e["role"] == p.roles["cs_agent"]}  # fmt: skip
    out: dict[str, list[dict]] = {e: [] for e in desk}
    for r in company.tables["access"].to_pylist():
        if r["employee_id"] in desk and r["action"] == "view" and r["case_id"] is None:
            out[r["employee_id"]].append(r)
    return out


def test_a_relationship_desk_comes_back_to_its_own_book_without_cases(
    books: Company, small: dict[str, Company]
) -> None:
    """Most of the desk's case-less views are of customers the same member looked up on
    another day, and hardly any customer is looked up by two members."""
    views = _desk_views(books, "fintech-apac")
    rows = [r for v in views.values() for r in v]
    assert len(views) >= 10 and all(views.values())
    days: dict[tuple[str, str], set] = {}
    staff: dict[str, set[str]] = {}
    for r in rows:
        days.setdefault((r["employee_id"], r["customer_ids"][0]), set()).add(r["time"].date())
        staff.setdefault(r["customer_ids"][0], set()).add(r["employee_id"])
    returns = sum(1 for r in rows if len(days[r["employee_id"], r["customer_ids"][0]]) >= 2)
    assert returns >= 0.6 * len(rows)
    assert sum(1 for r in rows if len(staff[r["customer_ids"][0]]) > 1) <= 0.05 * len(rows)
    assert not _desk_views(small["classic"], "classic")  # a profile without a desk


def test_book_snoop_looks_up_customers_outside_the_own_book(books: Company) -> None:
    views = _desk_views(books, "fintech-apac")
    [ins] = by_scenario(books)["book_snoop"]
    mine = views[ins["employee_id"]]
    acts = set(ins["event_ids"])
    book = {r["customer_ids"][0] for r in mine if r["event_id"] not in acts}
    targets = set(ins["customer_ids"])
    assert targets and len(targets & book) <= 0.1 * len(targets)
    assert all(r["case_id"] is None for r in _events(books, ins).to_pylist())
