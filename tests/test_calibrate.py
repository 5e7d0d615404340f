"""What calibrate shows of detection's learning (detect/learned.py, detect/calibrate.py), on
a small simulated company: every section is there where the company has the habit, and
its figures agree with the engine's own tables, counted here independently."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

import msgspec
import pytest
import yaml

from insiderwatch.cli.learned_view import hour_spans
from insiderwatch.detect import DetectionConfig, run_detection
from insiderwatch.detect.allowance import KIND
from insiderwatch.detect.calibrate import Calibration, calibration, policy_yaml
from insiderwatch.detect.detectors.fixation import Fixation
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from insiderwatch_sim import SimulationConfig, simulate, write_dataset
from sample_data import KEY_HEX

CFG = DetectionConfig()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("calibrate")
    company = simulate(SimulationConfig(employees=240, days=12, seed=4, insider_rate=0.03))
    write_dataset(company, root / "dataset")
    key = HashKey(bytes.fromhex(KEY_HEX))
    with Store(root / "iw.duckdb", threads=1) as store:
        ingest_dataset(store, root / "dataset", key)
        run_detection(store, CFG, key)
        yield store, calibration(store, CFG)


def rows(store: Store, sql: str, params: list | None = None) -> list[tuple]:
    return store.con.execute(sql, params or []).fetchall()


def window(cal: Calibration) -> tuple[dt.date, dt.date]:
    assert cal.day is not None
    return cal.day - dt.timedelta(days=CFG.baseline_days), cal.day


def test_every_section_is_there_where_the_company_has_the_habit(world):
    _, cal = world
    got = cal.learned
    assert got.case_scope and got.allowance_kinds and got.books and got.off_hours
    assert got.revisits and got.revisit_company and got.handover
    assert {s.group for s in got.case_scope} <= set(cal.investigating)
    # Without a DetectionConfig nothing is claimed (what was configured is unknown).
    assert calibration(world[0]).learned == type(got)()


def test_the_json_is_the_record_types(world):
    _, cal = world
    again = msgspec.json.decode(msgspec.json.encode(cal), type=Calibration)
    assert again == cal
    # Nothing shown names an employee or a customer: groups and counts only.
    text = msgspec.json.encode(cal.learned).decode()
    ids = rows(
        world[0], "SELECT employee_id FROM employees UNION ALL SELECT customer_id FROM customers"
    )
    assert not [i for (i,) in ids if f'"{i}"' in text]


def test_allowance_kinds_cover_every_look_up_the_allowance_explained_on_the_day(world):
    store, cal = world
    kinds = defaultdict(set)
    for k in cal.learned.allowance_kinds:
        assert k.staff >= CFG.allowance.kind_min_staff
        kinds[(k.level, k.group)].add(k.kind)
    allowed = rows(
        store,
        f"""SELECT d.peer_group, {KIND} AS kind FROM access_explained x
            JOIN access a USING (event_id) JOIN employee_days d ON d.employee_id = x.employee_id
             AND d.day = x.day
            WHERE x.day = ? AND x.explanation = 'allowance'""",
        [cal.day],
    )
    assert allowed, "the day should have look-ups the peer group's allowance explained"
    assert all(kind in kinds[("peer", group)] for group, kind in allowed)


def test_books_count_what_the_book_explained_and_never_more_customers_than_recorded(world):
    store, cal = world
    b0, day = window(cal)
    explained = rows(store, "SELECT count(*) FROM access_explained WHERE explanation = 'book' "
                     "AND day >= ? AND day <= ?", [b0, day])[0][0]  # fmt: skip
    assert explained > 0 and sum(b.explained for b in cal.learned.books) == explained
    pairs = rows(store, "SELECT count(DISTINCT (employee_id, customer_id)) FROM book_days "
                 "WHERE day >= ? AND day < ?", [b0, day])[0][0]  # fmt: skip
    assert 0 < sum(b.customers for b in cal.learned.books) <= pairs
    for b in cal.learned.books:
        assert b.median_customers <= b.max_customers and b.staff <= b.employee_days


def test_off_hours_are_the_hours_few_of_the_groups_working_days_touch(world):
    store, cal = world
    b0, day = window(cal)
    days_in_hour: dict[str, Counter] = defaultdict(Counter)
    working: dict[str, set] = defaultdict(set)
    for group, employee, d, hours in rows(
        store,
        "SELECT peer_group, employee_id, day, hours FROM routine_days WHERE day >= ? AND day < ?",
        [b0, day],
    ):
        working[group].add((employee, d))
        for h in set(hours):
            days_in_hour[group][h, employee, d] = 1
    for o in cal.learned.off_hours:
        assert sorted(o.hours + o.off_hours) == list(range(24))
        assert o.working_days == len(working[o.group])
        per_hour = Counter(h for h, *_ in days_in_hour[o.group])
        assert o.hours == [h for h in range(24) if per_hour[h] >= o.share * o.working_days]
    night = [o for o in cal.learned.off_hours if 2 in o.hours]
    assert night, "a night shift's hours are its routine, not off hours"


def test_revisit_rates_are_the_fixation_windows_case_less_look_ups(world):
    store, cal = world
    fix = CFG.detector_config(Fixation)
    start = cal.day - dt.timedelta(days=fix.window_days)
    # the service accounts the day's routine knows are nobody's peers: left out
    window = """FROM revisit_days WHERE day >= ?1 AND day < ?2 AND (?3 OR employee_id NOT IN
                (SELECT substr(grp, 6) FROM routine_flows WHERE day = ?2 AND machine))"""
    counts = {
        people: rows(
            store,
            f"""SELECT (SELECT count(*) {window}), (SELECT count(*) FROM (SELECT 1 {window}
                GROUP BY employee_id, customer_id HAVING count(*) >= {fix.min_days}))""",
            [start, cal.day, not people],
        )[0]
        for people in (True, False)
    }
    looks, returns = counts[True]
    company = cal.learned.revisit_company
    assert company is not None and (company.lookups, company.returns) == (looks, returns)
    assert counts[False][0] > looks  # the company's machines made case-less look-ups too
    assert sum(r.lookups for r in cal.learned.revisits) <= looks
    assert all(r.rate == pytest.approx(r.returns / r.lookups) for r in cal.learned.revisits)


def test_handover_places_are_the_groups_routine_destinations(world):
    store, cal = world
    b0, day = window(cal)
    routine = defaultdict(set)
    for group, dest in rows(store, "SELECT grp, destination FROM routine_flows WHERE day = ?",
                            [day]):  # fmt: skip
        routine[group].add(dest)
    for h in cal.learned.handover:
        assert h.destinations and set(h.destinations) <= routine[h.group]
        assert not set(h.destinations) & {"", *CFG.destinations.internal}
    handed = rows(store, "SELECT count(*) FROM access_explained WHERE explanation = 'handover' "
                  "AND day >= ? AND day <= ?", [b0, day])[0][0]  # fmt: skip
    assert sum(h.handed_over for h in cal.learned.handover) == handed
    leavers = rows(store, "SELECT count(*) FROM employees WHERE departs_on >= ? AND departs_on <= ?",
                   [day, day + dt.timedelta(days=CFG.book.handover_days)])[0][0]  # fmt: skip
    assert 0 < sum(h.leavers for h in cal.learned.handover) <= leavers


def test_the_policy_file_lists_allowances_and_case_scope_as_comments_only(world):
    store, cal = world
    text = policy_yaml(cal, store)
    facts = text[text.index("# Case-less look-ups allowed") :]
    assert all(line.startswith("#") or not line.strip() for line in facts.splitlines())
    for a in cal.allowances:
        assert f"#   {a.level} {a.group}: {a.allowance} " in facts
    for s in cal.learned.case_scope:
        assert f"#   {s.group}: at most {s.breadth} unsearched" in facts
    # The reviewed flows read back unchanged: the facts change nothing the engine loads.
    assert len(yaml.safe_load(text)["flows"]) == len(cal.flows)


@pytest.mark.parametrize(
    ("hours", "shown"),
    [([], "-"), ([7], "07"), ([7, 8, 9, 13], "07-09, 13"), ([23, 0, 1], "00-01, 23")],
)
def test_hour_spans(hours, shown):
    assert hour_spans(hours) == shown
