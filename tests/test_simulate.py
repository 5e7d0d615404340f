"""Tests of the company simulator: contract shape, determinism, ground truth, realism."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re
from collections import Counter
from pathlib import Path

import duckdb
import msgspec
import numpy as np
import phonenumbers
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pyarrow.parquet as pq
import pytest

from insiderwatch.contract import ACTIONS, FIELD_CATEGORIES, TABLES, AccessEvent
from insiderwatch.contract.records import DESTINATION_PATTERN
from insiderwatch_sim import (
    FORMATS,
    SCENARIOS,
    Company,
    SimulationConfig,
    simulate,
    write_dataset,
    write_truth,
)

# Big enough for every scenario (>= 600 employees), small enough to run in a second or two.
MAIN = SimulationConfig(employees=600, days=14, seed=11, customers=20_000)
BROKEN = SimulationConfig(employees=150, days=6, seed=5, customers=5000, bad_row_rate=0.01,
                          insider_rate=0.05)  # fmt: skip
EXFIL_DESTINATIONS = {"personal_email", "usb", "cloud:dropbox", "cloud:google-drive",
                      "external:filedrop.example", "external:paste.example", "printer"}  # fmt: skip


@pytest.fixture(scope="module")
def company() -> Company:
    return simulate(MAIN)


@pytest.fixture(scope="module")
def broken() -> Company:
    return simulate(BROKEN)


@pytest.fixture(scope="module")
def db(company: Company) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name, table in company.tables.items():
        con.register(name, table)
    return con


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> float:
    return con.execute(sql).fetchone()[0]


def access_by_id(company: Company) -> dict[str, tuple[str, dt.datetime, list[str]]]:
    a = company.tables["access"]
    return {
        e: (who, t, c)
        for e, who, t, c in zip(
            a["event_id"].to_pylist(),
            a["employee_id"].to_pylist(),
            a["time"].to_pylist(),
            a["customer_ids"].to_pylist(),
            strict=True,
        )
    }


def parse_z(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- shape and determinism ----------------------------------------------------------------


def test_same_seed_gives_identical_tables() -> None:
    tiny = SimulationConfig(employees=120, days=4, seed=3, customers=5000, bad_row_rate=0.01)
    a, b = simulate(tiny), simulate(tiny)
    assert a.tables.keys() == b.tables.keys()
    for name in a.tables:
        assert a.tables[name].equals(b.tables[name]), name
    assert a.truth == b.truth
    assert a.text_only_rows is not None and b.text_only_rows is not None
    assert a.text_only_rows.table.equals(b.text_only_rows.table)


def test_other_seed_gives_other_data() -> None:
    base = SimulationConfig(employees=120, days=4, seed=3, customers=5000)
    a = simulate(base)
    b = simulate(SimulationConfig(employees=120, days=4, seed=4, customers=5000))
    assert not a.tables["access"].equals(b.tables["access"])
    assert not a.tables["customers"].equals(b.tables["customers"])


def test_schemas_are_the_contract(company: Company, broken: Company) -> None:
    for result in (company, broken):
        assert set(result.tables) == set(TABLES)
        for name, spec in TABLES.items():
            assert result.tables[name].schema.equals(spec.arrow_schema()), name
            assert result.tables[name].num_rows > 0, name


def test_progress_is_reported() -> None:
    seen: list[tuple[str, float]] = []
    simulate(
        SimulationConfig(employees=60, days=2, customers=2000), lambda s, f: seen.append((s, f))
    )
    fractions = [f for _, f in seen]
    assert 3 <= len(seen) <= 40
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        SimulationConfig(employees=5)
    with pytest.raises(ValueError):
        SimulationConfig(region="XX")
    assert SimulationConfig(employees=30).n_customers == 5000
    assert SimulationConfig(employees=2000).n_customers == 200_000


def test_event_ids_unique_and_time_sorted(company: Company, broken: Company) -> None:
    access = company.tables["access"]
    assert pc.count_distinct(access["event_id"]).as_py() == access.num_rows
    times = access["time"].cast(pa.int64()).to_numpy()
    assert (np.diff(times) >= 0).all()
    # Broken rows (duplicates included) are slotted in time order too.
    times = broken.tables["access"]["time"].cast(pa.int64()).to_numpy()
    assert (np.diff(times) >= 0).all()


def test_counts_in_truth(company: Company) -> None:
    for name, table in company.tables.items():
        assert company.truth["counts"][name] == table.num_rows
    json.dumps(company.truth)  # serialisable as is


# --- a fully valid dataset ----------------------------------------------------------------


def test_everything_resolves_when_no_bad_rows(company: Company) -> None:
    t = company.tables
    employees = set(t["employees"]["employee_id"].to_pylist())
    customers = set(t["customers"]["customer_id"].to_pylist())
    cases = set(t["cases"]["case_id"].to_pylist())
    access = t["access"]
    assert set(access["employee_id"].to_pylist()) <= employees
    assert set(pc.list_flatten(access["customer_ids"]).to_pylist()) <= customers
    assert set(access["case_id"].drop_null().to_pylist()) <= cases
    assert set(access["action"].to_pylist()) <= set(ACTIONS)
    assert set(pc.list_flatten(access["fields"]).to_pylist()) <= set(FIELD_CATEGORIES)
    pattern = re.compile(DESTINATION_PATTERN)
    assert all(pattern.match(d) for d in set(access["destination"].drop_null().to_pylist()))
    assert pc.min(access["record_count"]).as_py() >= 0
    assert set(t["cases"]["employee_id"].to_pylist()) <= employees
    assert set(t["cases"]["customer_id"].to_pylist()) <= customers
    assert set(t["orders"]["customer_id"].to_pylist()) <= customers
    assert set(t["canaries"]["customer_id"].to_pylist()) <= customers
    assert set(t["employees"]["manager_id"].drop_null().to_pylist()) <= employees
    assert company.truth["bad_rows"] == {} and company.text_only_rows is None


def test_sample_rows_pass_contract_validation(company: Company) -> None:
    access = company.tables["access"]
    rows = access.take(pa.array(np.linspace(0, access.num_rows - 1, 3000).astype(int)))
    for row in rows.to_pylist():
        msgspec.convert({k: v for k, v in row.items() if v is not None}, AccessEvent)


# --- ground truth -------------------------------------------------------------------------


def test_every_scenario_is_present(company: Company) -> None:
    scenarios = Counter(i["scenario"] for i in company.truth["insiders"])
    assert set(scenarios) == set(SCENARIOS)
    staff = company.truth["counts"]["employees"] - len(company.truth["service_accounts"])
    assert sum(scenarios.values()) >= max(len(SCENARIOS), round(MAIN.insider_rate * staff))


def test_truth_events_exist_and_belong_to_their_insider(company: Company) -> None:
    events = access_by_id(company)
    start = parse_z(company.truth["window"]["start"])
    for insider in company.truth["insiders"]:
        first, last = parse_z(insider["first_malicious_at"]), parse_z(insider["last_malicious_at"])
        assert insider["event_ids"]
        # Malicious activity only starts once there is a baseline to compare against.
        assert first >= start + dt.timedelta(days=2)
        times, touched = [], set()
        for event_id in insider["event_ids"]:
            who, when, customers = events[event_id]
            assert who == insider["employee_id"]
            assert first <= when <= last
            times.append(when)
            touched.update(customers)
        assert min(times) == first and max(times) == last
        assert touched == set(insider["customer_ids"])


def test_insiders_keep_doing_their_normal_work(company: Company) -> None:
    access = company.tables["access"]
    malicious = {e for i in company.truth["insiders"] for e in i["event_ids"]}
    per_employee = Counter(access["employee_id"].to_pylist())
    for insider in company.truth["insiders"]:
        assert per_employee[insider["employee_id"]] > len(insider["event_ids"])
    assert len(malicious) < 0.01 * access.num_rows


def test_canaries_are_touched_only_by_harvesters(company: Company, db) -> None:
    touchers = {
        row[0]
        for row in db.execute(
            "SELECT DISTINCT a.employee_id FROM access a, unnest(a.customer_ids) u(c) "
            "JOIN canaries k ON k.customer_id = u.c"
        ).fetchall()
    }
    harvesters = {i["employee_id"] for i in company.truth["insiders"]
                  if i["scenario"] == "canary_harvester"}  # fmt: skip
    assert touchers and touchers == harvesters
    canaries = set(company.tables["canaries"]["customer_id"].to_pylist())
    for insider in company.truth["insiders"]:
        if insider["scenario"] == "canary_harvester":
            assert canaries & set(insider["customer_ids"])


def _malicious(company: Company, scenario: str) -> list[tuple[dict, pa.Table]]:
    access = company.tables["access"]
    out = []
    for insider in company.truth["insiders"]:
        if insider["scenario"] == scenario:
            mask = pc.is_in(access["event_id"], pa.array(insider["event_ids"]))
            out.append((insider, access.filter(mask)))
    assert out, scenario
    return out


def test_bulk_exfiltration_shape(company: Company) -> None:
    for _, events in _malicious(company, "bulk_exfiltration"):
        rows = events.to_pylist()
        searches = [r for r in rows if r["action"] == "search"]
        out = [r for r in rows if r["action"] in ("export", "download", "message")]
        assert len(searches) >= 8 and out
        assert all(r["case_id"] is None for r in searches)
        for r in out:
            assert r["destination"] in EXFIL_DESTINATIONS
            before = [s["time"] for s in searches if s["time"] <= r["time"]]
            assert before and r["time"] - max(before) <= dt.timedelta(hours=5)
            assert r["record_count"] == len(r["customer_ids"]) >= 20


def test_slow_drip_shape(company: Company) -> None:
    for _, events in _malicious(company, "slow_drip"):
        assert set(events["action"].to_pylist()) == {"view"}
        assert {tuple(f) for f in events["fields"].to_pylist()} == {("email", "phone")}
        assert events["case_id"].null_count == events.num_rows
        days = {t.date() for t in events["time"].to_pylist()}
        assert events.num_rows >= 3 and len(days) >= 1


def test_vip_snooping_shape(company: Company) -> None:
    customers = company.tables["customers"]
    vips = set(customers.filter(customers["is_vip"])["customer_id"].to_pylist())
    for _, events in _malicious(company, "vip_snooping"):
        views = events.filter(pc.equal(events["action"], "view"))
        assert views.num_rows >= 4
        assert {c for cs in views["customer_ids"].to_pylist() for c in cs} <= vips
        assert views["case_id"].null_count == views.num_rows


def test_relationship_snooping_targets_relatives_or_neighbours(company: Company) -> None:
    employees = {r["employee_id"]: r for r in company.tables["employees"].to_pylist()}
    customers = {r["customer_id"]: r for r in company.tables["customers"].to_pylist()}
    for insider, events in _malicious(company, "relationship_snooping"):
        me = employees[insider["employee_id"]]
        views = events.filter(pc.equal(events["action"], "view"))
        for cs in views["customer_ids"].to_pylist():
            c = customers[cs[0]]
            assert c["surname"] == me["surname"] or c["postcode"] == me["home_postcode"]


def test_departing_exporter_shape(company: Company) -> None:
    employees = {r["employee_id"]: r for r in company.tables["employees"].to_pylist()}
    for insider, events in _malicious(company, "departing_exporter"):
        leaves = employees[insider["employee_id"]]["departs_on"]
        assert leaves is not None
        last = parse_z(insider["last_malicious_at"])
        assert last < dt.datetime.combine(leaves, dt.time(), dt.UTC) + dt.timedelta(days=1)
        out = events.filter(pc.is_in(events["action"], pa.array(["export", "download", "print"])))
        assert out.num_rows >= 1
        assert set(out["destination"].to_pylist()) <= EXFIL_DESTINATIONS
        departures = {d["employee_id"]: d for d in company.truth["departures"]}
        assert departures[insider["employee_id"]]["insider"] is True


# --- benign realism -----------------------------------------------------------------------


def test_cs_agent_views_mostly_carry_their_own_case(db) -> None:
    with_case, matched = db.execute(
        """
        WITH v AS (
            SELECT a.employee_id, a.case_id, a.customer_ids[1] AS customer_id
            FROM access a JOIN employees e USING (employee_id)
            WHERE e.role = 'cs_agent' AND a.action = 'view'
        )
        SELECT avg((case_id IS NOT NULL)::INT),
               avg((EXISTS (SELECT 1 FROM cases k WHERE k.case_id = v.case_id
                            AND k.employee_id = v.employee_id
                            AND k.customer_id = v.customer_id))::INT)
        FROM v
        """
    ).fetchone()
    assert matched > 0.8
    assert with_case < 0.97  # callbacks, uncaptured ids and quick look-ups exist too


def test_service_accounts_have_the_highest_volume(db) -> None:
    rows = db.execute(
        "SELECT e.role, count(*) FROM access a JOIN employees e USING (employee_id) "
        "GROUP BY a.employee_id, e.role"
    ).fetchall()
    services = [n for role, n in rows if role == "service_account"]
    staff = [n for role, n in rows if role != "service_account"]
    assert services and min(services) > max(staff)
    # Service accounts work around the clock.
    hours = db.execute(
        "SELECT count(DISTINCT hour(a.time)) FROM access a JOIN employees e USING (employee_id) "
        "WHERE e.role = 'service_account'"
    ).fetchone()[0]
    assert hours == 24


def test_activity_is_heavy_tailed(db) -> None:
    counts = np.array([n for (n,) in db.execute(
        "SELECT count(*) FROM access a JOIN employees e USING (employee_id) "
        "WHERE e.role = 'cs_agent' AND e.hired_on < DATE '2026-01-01' GROUP BY a.employee_id"
    ).fetchall()])  # fmt: skip
    assert np.percentile(counts, 95) > 2 * np.median(counts)


def test_seller_support_serves_its_portfolio(company: Company, db) -> None:
    portfolios = company.truth["seller_portfolios"]
    teams = company.truth["portfolio_teams"]
    db.register("portfolio", pa.table({
        "seller_id": list(portfolios),
        "team": [teams[str(p)] for p in portfolios.values()],
    }))  # fmt: skip
    share = scalar(
        db,
        """
        WITH v AS (
            SELECT a.customer_ids[1] AS customer_id, a.time, e.team
            FROM access a JOIN employees e USING (employee_id)
            WHERE e.role = 'seller_support' AND a.action = 'view' AND a.app = 'seller-portal'
        )
        SELECT avg((EXISTS (SELECT 1 FROM orders o JOIN portfolio p USING (seller_id)
                            WHERE o.customer_id = v.customer_id AND p.team = v.team
                              AND o.ordered_at < v.time))::INT)
        FROM v
        """,
    )
    assert share > 0.95  # the rest: agents who changed team during the window


def test_vip_care_serves_vips(db) -> None:
    rows = dict(db.execute(
        """
        SELECT e.team = 'vip-care', avg(c.is_vip::INT)
        FROM access a JOIN employees e USING (employee_id), unnest(a.customer_ids) u(cid)
        JOIN customers c ON c.customer_id = u.cid
        WHERE e.role = 'cs_agent' AND a.action = 'view'
        GROUP BY 1
        """
    ).fetchall())  # fmt: skip
    assert rows[True] > 0.7 and rows[False] < 0.05


def test_supervisors_review_their_reports_cases(company: Company, db) -> None:
    former = {(t["employee_id"], t["from_manager"]) for t in company.truth["transfers"]}
    rows = db.execute(
        """
        SELECT a.employee_id, k.employee_id, r.manager_id
        FROM access a JOIN employees s ON s.employee_id = a.employee_id
        JOIN cases k ON k.case_id = a.case_id
        JOIN employees r ON r.employee_id = k.employee_id
        WHERE s.role = 'supervisor' AND a.app = 'case-review'
        """
    ).fetchall()
    assert len(rows) > 50
    own = sum(boss == manager or (report, boss) in former for boss, report, manager in rows)
    assert own / len(rows) > 0.95


def test_fraud_and_analysts_touch_a_lot(db) -> None:
    fraud_max = scalar(
        db,
        "SELECT max(len(a.customer_ids)) FROM access a JOIN employees e USING (employee_id) "
        "WHERE e.role = 'fraud_investigator' AND a.action = 'search'",
    )
    cs_median = scalar(
        db,
        "SELECT median(len(a.customer_ids)) FROM access a JOIN employees e USING (employee_id) "
        "WHERE e.role = 'cs_agent' AND a.action = 'search'",
    )
    assert fraud_max > 50 and cs_median < 10
    exports = db.execute(
        "SELECT min(record_count), list(DISTINCT destination) FROM access a "
        "JOIN employees e USING (employee_id) WHERE e.role = 'data_analyst' "
        "AND a.action = 'export'"
    ).fetchone()
    assert exports[0] >= 1000
    assert set(exports[1]) <= {"local", "cloud:company-warehouse"}
    internal = scalar(
        db,
        "SELECT count(*) FROM cases k JOIN employees e USING (employee_id) "
        "WHERE e.role = 'fraud_investigator' AND k.channel = 'internal'",
    )
    assert internal > 0


def test_activity_stays_within_employment(company: Company, db) -> None:
    assert company.truth["new_hires"] and company.truth["departures"]
    early = scalar(
        db,
        "SELECT count(*) FROM access a JOIN employees e USING (employee_id) "
        "WHERE a.time < e.hired_on::TIMESTAMPTZ",
    )
    late = scalar(
        db,
        "SELECT count(*) FROM access a JOIN employees e USING (employee_id) "
        "WHERE a.time >= e.departs_on::TIMESTAMPTZ + INTERVAL 34 HOUR",  # night shift spill
    )
    assert early == 0 and late == 0
    hired = {h["employee_id"] for h in company.truth["new_hires"]}
    active = set(db.execute("SELECT DISTINCT employee_id FROM access").fetchnumpy()["employee_id"])
    assert hired & active


def test_shifts_start_with_a_login(db) -> None:
    firsts = db.execute(
        """
        SELECT arg_min(a.action, a.time) FROM access a JOIN employees e USING (employee_id)
        WHERE e.role <> 'service_account' GROUP BY a.employee_id
        """
    ).fetchall()
    assert sum(f == "login" for (f,) in firsts) / len(firsts) > 0.95


def test_transfers_show_the_final_team(company: Company) -> None:
    assert company.truth["transfers"]
    team = dict(zip(company.tables["employees"]["employee_id"].to_pylist(),
                    company.tables["employees"]["team"].to_pylist(), strict=True))  # fmt: skip
    for t in company.truth["transfers"]:
        assert team[t["employee_id"]] == t["to_team"] != t["from_team"]


def test_travel_brings_new_addresses(company: Company, db) -> None:
    assert company.truth["travel"]
    ips = scalar(
        db,
        "SELECT count(*) FROM access WHERE src_ip LIKE '203.0.113.%' OR src_ip LIKE '198.51.100.%'",
    )
    assert ips > 0


def test_customers_look_real(company: Company) -> None:
    customers = company.tables["customers"]
    n = customers.num_rows
    assert 0.001 < pc.sum(customers["is_vip"]).as_py() / n < 0.004
    phones = customers["phone"].drop_null().to_pylist()
    assert len(phones) > 0.9 * n
    formats = {re.sub(r"\d", "9", p) for p in phones}
    assert len(formats) >= 4  # several ways of writing the same kind of number
    for phone in phones[:3000]:
        number = phonenumbers.parse(phone, "GB")
        assert phonenumbers.is_valid_number(number), phone
        assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
    emails = customers["email"].drop_null().to_pylist()
    assert all(re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", e.strip()) for e in emails)
    assert any(e != e.strip() for e in emails) and any(e != e.lower() for e in emails)
    postcode = re.compile(r"^[A-Z]{1,2}\d{1,2}[A-Z]? \d[A-Z]{2}$")
    assert all(postcode.match(p) for p in customers["postcode"].to_pylist())


def test_staff_share_surnames_and_streets_with_customers(company: Company) -> None:
    employees = company.tables["employees"]
    customers = company.tables["customers"]
    surnames = set(customers["surname"].to_pylist())
    postcodes = set(customers["postcode"].to_pylist())
    staff_surnames = [s for s in employees["surname"].to_pylist() if s]
    homes = employees["home_postcode"].drop_null().to_pylist()
    assert sum(s in surnames for s in staff_surnames) / len(staff_surnames) > 0.9
    assert sum(p in postcodes for p in homes) / len(homes) > 0.9


def test_service_account_ids(company: Company) -> None:
    employees = company.tables["employees"]
    services = employees.filter(pc.equal(employees["role"], "service_account"))
    assert services.num_rows >= 1
    assert all(i.startswith("svc-") for i in services["employee_id"].to_pylist())


# --- broken rows --------------------------------------------------------------------------


def test_bad_rows_are_what_truth_says(broken: Company) -> None:
    truth = broken.truth
    bad = truth["bad_rows"]
    assert set(bad) >= {"unknown_employee", "unknown_action", "negative_record_count",
                        "bad_destination", "duplicate_event_id", "unparsable_time",
                        "missing_event_id"}  # fmt: skip
    access = broken.tables["access"]
    employees = set(broken.tables["employees"]["employee_id"].to_pylist())
    unknown = sum(e not in employees for e in access["employee_id"].to_pylist())
    assert unknown == bad["unknown_employee"]
    assert (
        pc.sum(pc.invert(pc.is_in(access["action"], pa.array(ACTIONS)))).as_py()
        == bad["unknown_action"]
    )
    assert pc.sum(pc.less(access["record_count"], 0)).as_py() == bad["negative_record_count"]
    pattern = re.compile(DESTINATION_PATTERN)
    wrong = sum(not pattern.match(d) for d in access["destination"].drop_null().to_pylist())
    assert wrong == bad["bad_destination"]
    assert (
        access.num_rows - pc.count_distinct(access["event_id"]).as_py() == bad["duplicate_event_id"]
    )
    text_only = broken.text_only_rows
    assert text_only is not None
    assert text_only.table.num_rows == bad["unparsable_time"] + bad["missing_event_id"]
    assert text_only.table["event_id"].null_count == bad["missing_event_id"]
    counts = truth["counts"]
    arrow_bad = sum(bad[r] for r in bad if r not in truth["bad_rows_text_only"])
    assert counts["access"] == counts["access_valid"] + arrow_bad
    # Malicious events are never broken copies: truth still resolves.
    ids = set(access["event_id"].to_pylist())
    assert all(e in ids for i in truth["insiders"] for e in i["event_ids"])


# --- writing ------------------------------------------------------------------------------


def _read(path: Path, fmt: str, table: pa.Table) -> pa.Table:
    if fmt == "parquet":
        return pq.read_table(path)
    names = table.schema.names
    if fmt == "csv":
        return pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}),
        )
    text_types = {
        f.name: pa.string() if pa.types.is_timestamp(f.type) or pa.types.is_date(f.type)
        else f.type
        for f in table.schema
    }  # fmt: skip
    options = pajson.ParseOptions(explicit_schema=pa.schema(text_types))
    return pajson.read_json(path, parse_options=options)


def _parses(text: str) -> bool:
    try:
        parse_z(text)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize("fmt", FORMATS)
def test_write_dataset_round_trip(broken: Company, fmt: str, tmp_path: Path) -> None:
    paths = write_dataset(broken, tmp_path, fmt)
    assert sorted(p.name for p in paths) == sorted(f"{t}.{fmt}" for t in TABLES)
    extra = broken.text_only_rows.table.num_rows if broken.text_only_rows else 0
    for path in paths:
        name = path.name.split(".")[0]
        table = broken.tables[name]
        back = _read(path, fmt, table)
        if fmt == "parquet":
            assert back.equals(table), name
            continue
        want = table.num_rows + (extra if name == "access" else 0)
        assert back.num_rows == want, name
        assert back.column_names == table.column_names
    access = broken.tables["access"]
    back = _read(tmp_path / f"access.{fmt}", fmt, access)
    if fmt == "parquet":
        return
    # Rows keep their order; text-only rows are extra lines in between.
    ids = back["event_id"].to_pylist()
    kept = [i for i in ids if i and not i.startswith("evx-")]
    assert kept == access["event_id"].to_pylist()
    bad = broken.truth["bad_rows"]
    assert sum(not i for i in ids) == bad["missing_event_id"]
    assert sum(not _parses(t) for t in back["time"].to_pylist()) == bad["unparsable_time"]
    first = access.slice(0, 1).to_pylist()[0]
    row = back.slice(ids.index(first["event_id"]), 1).to_pylist()[0]
    stamp = (
        first["time"].strftime("%Y-%m-%dT%H:%M:%S.") + f"{first['time'].microsecond // 1000:03d}Z"
    )
    assert row["time"] == stamp
    if fmt == "csv":
        assert row["customer_ids"] == ";".join(first["customer_ids"])
        assert row["fields"] == ";".join(first["fields"])
        empty = {r["case_id"] for r in back.to_pylist() if r["action"] == "login"}
        assert empty == {""}  # nulls are empty fields
    else:
        assert row["customer_ids"] == first["customer_ids"]
        assert row["record_count"] == first["record_count"]


def test_jsonl_lines_are_plain_json(broken: Company, tmp_path: Path) -> None:
    write_dataset(broken, tmp_path, "jsonl.gz")
    with gzip.open(tmp_path / "employees.jsonl.gz", "rt") as fh:
        rows = [json.loads(line) for line in fh]
    assert len(rows) == broken.tables["employees"].num_rows
    assert set(rows[0]) == set(TABLES["employees"].names)
    assert any(r["departs_on"] is None for r in rows)
    assert all(re.match(r"^\d{4}-\d{2}-\d{2}$", r["hired_on"]) for r in rows)


def test_write_truth(company: Company, tmp_path: Path) -> None:
    path = tmp_path / "deep" / "truth.json"
    write_truth(company, path)
    assert json.loads(path.read_text()) == company.truth


def test_unknown_format_is_refused(company: Company, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_dataset(company, tmp_path, "xml")
