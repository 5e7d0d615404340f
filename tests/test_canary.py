"""Canary plans: the assignment code, its decoding (two colluders included), the plan in
the store and its exports, and attribution using it."""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from insiderwatch.canary.code import MIN_POSITIONS, build_code, decode, field_size, is_prime
from insiderwatch.canary.decoys import check_domain, parse_phone_range
from insiderwatch.canary.plan import export_plan, make_plan
from insiderwatch.errors import InsiderwatchError
from insiderwatch.ingest import ingest_dataset
from insiderwatch.investigate.attribution import attribute
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from leak_world import FOUND, STAFF, write_world
from sample_data import KEY_HEX, UTC, flat

KEY = HashKey(bytes.fromhex(KEY_HEX))
PLANTED = dt.datetime(2026, 9, 1, tzinfo=UTC)
DECOY_PHONES = "+447700901000:+447700901999"  # leak_world's customers hold 07700 900xxx

# 49 staff fill every line over GF(7): the worst case for collisions.
FULL = build_code([f"s{i:02d}" for i in range(49)], 7 * 7, np.random.default_rng(3))
HOLDERS = FULL.holders()


# --- the code ------------------------------------------------------------------------------


@pytest.mark.parametrize(("staff", "q"), [(1, 5), (25, 5), (26, 7), (49, 7), (50, 11), (2000, 47)])
def test_field_size_is_the_smallest_prime_with_room_for_everyone(staff, q):
    assert field_size(staff) == q and is_prime(q) and q * q >= staff


def test_everyone_has_a_distinct_codeword_of_one_canary_per_position():
    words = {e: FULL.codeword(e) for e in FULL.lines}
    assert len({tuple(w) for w in words.values()}) == 49
    for w in words.values():
        assert [c // FULL.q for c in w] == list(range(FULL.positions))
    assert all(len(staff) == FULL.q for staff in HOLDERS.values())


def test_two_employees_share_at_most_one_canary():
    words = {e: set(FULL.codeword(e)) for e in FULL.lines}
    assert max(len(words[a] & words[b]) for a, b in itertools.combinations(words, 2)) == 1


def test_no_two_employees_can_frame_a_third():
    words = {e: set(FULL.codeword(e)) for e in FULL.lines}
    for a, b in itertools.combinations(words, 2):
        union = words[a] | words[b]
        assert not any(words[c] <= union for c in words if c not in (a, b))


def test_too_few_canaries_for_the_staff_is_refused_with_the_minimum():
    with pytest.raises(InsiderwatchError, match=f"at least {MIN_POSITIONS * 47:,} canaries"):
        build_code([f"s{i}" for i in range(2000)], 200, np.random.default_rng(0))
    with pytest.raises(InsiderwatchError, match="no staff"):
        build_code([], 100, np.random.default_rng(0))


@settings(deadline=None, max_examples=200)
@given(st.data())
def test_two_found_canaries_name_a_single_leaker(data):
    leaker = data.draw(st.sampled_from(sorted(FULL.lines)))
    found = data.draw(st.sets(st.sampled_from(FULL.codeword(leaker)), min_size=2))
    assert decode(HOLDERS, found)[0] == (leaker, len(found))


@settings(deadline=None, max_examples=300)
@given(st.data())
def test_two_colluders_are_traced(data):
    a, b = data.draw(st.lists(st.sampled_from(sorted(FULL.lines)), min_size=2, max_size=2,
                              unique=True))  # fmt: skip
    pool = sorted(set(FULL.codeword(a)) | set(FULL.codeword(b)))
    found = data.draw(st.sets(st.sampled_from(pool), min_size=5))
    named = [e for e, _ in decode(HOLDERS, found)]
    assert named[0] in (a, b)
    other = b if named[0] == a else a
    left = found - set(FULL.codeword(named[0]))
    if len(left) >= 2:  # what the first does not hold is all the other's
        assert named[1] == other


def test_a_single_canary_names_nobody_beyond_its_holders():
    canary = 10
    first, count = decode(HOLDERS, {canary})[0]
    assert count == 1 and first in HOLDERS[canary]


# --- decoys and the plan ------------------------------------------------------------------


def test_phone_ranges_and_domains_are_checked():
    assert parse_phone_range("+447700900000:+447700900999") == (447700900000, 447700900999)
    for bad in ("+447700900999:+447700900000", "12", "+447700900000"):
        with pytest.raises(InsiderwatchError, match="phone-range"):
            parse_phone_range(bad)
    assert check_domain(" Canary.Example ") == "canary.example"
    with pytest.raises(InsiderwatchError, match="email-domain"):
        check_domain("not a domain")


@pytest.fixture
def planned(tmp_path):
    """The leak_world company with a canary plan planted before anyone leaked."""
    data = write_world(tmp_path / "data")
    with Store(tmp_path / "store" / "iw.duckdb", threads=1) as store:
        ingest_dataset(store, data, KEY)
        plan = make_plan(
            store,
            KEY,
            60,
            domain="canary.example",
            phone_range=parse_phone_range(DECOY_PHONES),
            planted_at=PLANTED,
            created_at=PLANTED,
            rng=np.random.default_rng(7),
        )
        yield store, plan, tmp_path


def test_plan_is_stored_as_hashes_and_exported_for_planting(planned):
    store, plan, tmp_path = planned
    # 9 staff -> GF(5), 60 canaries -> 12 positions, capped at q = 5.
    assert (plan.code.q, plan.code.positions, plan.code.canaries) == (5, 5, 25)
    assert sorted(plan.code.lines) == sorted(STAFF)
    decoys = store.con.execute("SELECT count(*), count(DISTINCT email_hash) FROM canary_decoys")
    assert decoys.fetchall() == [(25, 25)]
    holders = store.scalar("SELECT count(*) FROM canary_holders")
    assert holders == len(STAFF) * plan.code.positions
    store.con.execute("CHECKPOINT")
    raw = store.path.read_bytes()
    assert not any(d.email.encode() in raw or d.phone.encode() in raw for d in plan.decoys)
    files = export_plan(plan, tmp_path / "plan")
    with files[0].open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 25 and all(r["email"].endswith("@canary.example") for r in rows)
    assert len({r["email"] for r in rows}) == len({r["phone"] for r in rows}) == 25
    shown = {r["customer_id"]: r["show_to"].split(";") if r["show_to"] else [] for r in rows}
    assert shown == plan.holders_of()
    staff = json.loads(files[1].read_text())["staff"]
    assert all(len(ids) == plan.code.positions for ids in staff.values())
    report = ingest_dataset(store, files[2].parent, KEY)
    assert report.totals.loaded == 50 and not report.totals.rejected  # customers + canaries


def _canary_leak(path, plan, employees: list[str], per_employee: int):
    holders = plan.holders_of()
    chosen: list[str] = []
    for e in employees:
        mine = [d for d in plan.decoys if e in holders[d.customer_id] and d.email not in chosen]
        chosen += [d.email for d in mine[:per_employee]]
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["email"])
        writer.writerows([[e.upper()] for e in chosen])
    return path


def test_attribute_uses_the_plan_to_name_a_leaker(planned):
    store, plan, tmp_path = planned
    leak = _canary_leak(tmp_path / "leak.csv", plan, ["n2"], 2)
    report = attribute(store, KEY, leak, found_at=FOUND)
    assert len(report.canaries_found) == 2
    first = report.suspects[0]
    assert (first.employee_id, first.leaker, len(first.canaries)) == ("n2", True, 2)
    assert "Held 2 of the 2 canaries" in first.explanation
    assert "canaries alone" not in first.explanation  # two could be one of two colluders


def test_attribute_traces_two_colluders_through_their_canaries(planned):
    store, plan, tmp_path = planned
    leak = _canary_leak(tmp_path / "leak.csv", plan, ["n1", "n4"], 3)
    report = attribute(store, KEY, leak, found_at=FOUND)
    leakers = [s for s in report.suspects if s.leaker]
    assert {s.employee_id for s in leakers} == {"n1", "n4"}
    assert "the canaries alone name them" in leakers[0].explanation


def test_canaries_planted_after_the_leak_was_found_do_not_count(planned):
    store, plan, tmp_path = planned
    leak = _canary_leak(tmp_path / "leak.csv", plan, ["n3"], 2)
    report = attribute(store, KEY, leak, found_at=PLANTED - dt.timedelta(days=1))
    assert report.customers_matched == 2 and not report.suspects


def test_cli_plans_and_exports(tmp_path, cli):
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY_HEX)
    db = tmp_path / "iw.duckdb"
    with Store(db, threads=1) as store:
        ingest_dataset(store, write_world(tmp_path / "data"), KEY)
    env = {"INSIDERWATCH_SECRET_FILE": str(key_file)}
    out = tmp_path / "plan"
    args = ("canary", "plan", "--db", db, "--out", out, "--seed", "1", "--plant-at", "2026-09-01")
    clash = cli(*args, "--count", "1000", env=env)  # the default range holds customers' phones
    assert clash.exit_code == 1 and "belongtorealcustomers" in flat(clash.stderr)
    args += ("--phone-range", DECOY_PHONES)
    result = cli(*args, "--count", "30", env=env)
    assert result.exit_code == 0, result.output
    assert "plan-01:25decoysfor9staff" in flat(result.stdout)
    assert (out / "plan.csv").exists() and (out / "dataset" / "canaries.csv").exists()
    too_few = cli(*args, "--count", "10", env=env)
    assert too_few.exit_code == 1 and "atleast25canaries" in flat(too_few.stderr)
