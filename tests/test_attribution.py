"""Leak attribution: reading messy lists, matching through hashes, ranking who leaked."""

from __future__ import annotations

import csv
import gzip
import json
import random
from pathlib import Path

import msgspec
import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from insiderwatch.contract import SuspectReport
from insiderwatch.errors import InsiderwatchError
from insiderwatch.ingest import ingest_dataset
from insiderwatch.investigate.attribution import attribute
from insiderwatch.investigate.guilt import Exposures, LeakedCustomers, log_ratios, rank
from insiderwatch.investigate.leak import clean_email, clean_phone, read_leak
from insiderwatch.investigate.matching import match_leak
from insiderwatch.privacy import HashKey, normalize_email, normalize_phone
from insiderwatch.store import Store
from insiderwatch_sim import SimulationConfig, simulate, write_dataset
from leak_world import FOUND, cid, email, phone, surname, write_world
from sample_data import KEY_HEX, OTHER_KEY_HEX, flat

KEY = HashKey(bytes.fromhex(KEY_HEX))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The hand-built company of leak_world.py, ingested once (read-only for the tests)."""
    folder = tmp_path_factory.mktemp("world")
    data = write_world(folder / "data")
    db = folder / "store" / "iw.duckdb"
    with Store(db, threads=1) as store:
        report = ingest_dataset(store, data, KEY)
        assert not report.errors and not report.totals.rejected
    # Opened as the command line opens it, so CLI tests can share the file.
    with Store(db, read_only=True) as store:
        yield store


def write_leak(path: Path, rows: list[list[str]], header=("email", "phone")) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def leak_of(path: Path, customers: list[int]) -> Path:
    """A leak holding these customers' emails, written as a spammer's list might be."""
    return write_leak(path, [[email(i).upper(), phone(i).replace(" ", "-")] for i in customers])


def ranked(store: Store, path: Path, **kwargs) -> SuspectReport:
    return attribute(store, KEY, path, found_at=kwargs.pop("found_at", FOUND), **kwargs)


# --- normalising messy rows --------------------------------------------------------------

LOCAL = st.from_regex(r"[a-z][a-z0-9]{0,8}(\.[a-z0-9]{1,6})?", fullmatch=True)
DOMAIN = st.sampled_from(["example.org", "mail.example", "example.co.uk"])


@st.composite
def messy_email(draw) -> tuple[str, str]:
    clean = f"{draw(LOCAL)}@{draw(DOMAIN)}"
    flips = draw(st.lists(st.booleans(), min_size=len(clean), max_size=len(clean)))
    text = "".join(c.upper() if f else c for c, f in zip(clean, flips, strict=True))
    wrap = draw(st.sampled_from(["{}", "mailto:{}", "<{}>", '"Jo Smith" <{}>', "Jo <mailto:{}>"]))
    pad = draw(st.sampled_from(["", " ", "\t", "  "]))
    return clean, pad + wrap.format(text) + pad


@st.composite
def messy_phone(draw) -> tuple[str, str]:
    subscriber = f"7700{draw(st.integers(0, 999_999)):06d}"
    groups = [subscriber[:4], subscriber[4:7], subscriber[7:]]
    sep = draw(st.sampled_from(["", " ", "-", ".", "  "]))
    prefix = draw(st.sampled_from(["+44 ", "+44", "0044 ", "0", "+44 (0)", "(0)", "44 "]))
    text = prefix + sep.join(groups)
    if draw(st.booleans()):
        text = "'" + text  # a spreadsheet's text marker
    return "+44" + subscriber, text


@settings(deadline=None)
@given(messy_email())
def test_messy_emails_normalise_like_ingest(pair):
    clean, messy = pair
    assert clean_email(messy) == normalize_email(clean) == clean


@settings(deadline=None)
@given(messy_phone())
def test_messy_phones_normalise_like_ingest(pair):
    e164, messy = pair
    assert clean_phone(messy, "GB") == normalize_phone(e164, "GB") == e164


def test_spreadsheet_numbers_lose_their_decimal_tail():
    assert clean_phone("7700900123.0", "GB") == "+447700900123"
    assert clean_phone("447700900123.00", "GB") == "+447700900123"
    assert clean_phone("tel:+44 7700 900123", "GB") == "+447700900123"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.text(max_size=300), header=st.sampled_from(["email,phone", "Mobile;Name", "x"]))
def test_any_leak_text_is_read_or_refused_with_our_error(tmp_path, body, header):
    path = tmp_path / "leak.csv"
    path.write_text(header + "\n" + body, encoding="utf-8", errors="surrogatepass")
    try:
        reading = read_leak(path, KEY)
    except InsiderwatchError as exc:
        assert str(path) in str(exc)
        return
    # Every row is accounted for exactly once.
    assert reading.rows_read == reading.junk_rows + reading.duplicates + reading.rows.num_rows


# --- reading and matching through hashes --------------------------------------------------


def test_rows_match_through_hashes_and_are_counted(world, tmp_path):
    rows = [
        [f"  {email(1).upper()} ", ""],  # one customer by email
        ["", f"0{phone(2)[4:]}"],  # one customer by national phone format
        [email(3), phone(4)],  # email of one, phone of another: several
        [f"mailto:{email(5)}", ""],
        [email(5).title(), ""],  # the same customer again: a duplicate
        ["nobody@example.org", ""],  # a well-formed stranger
        ["not an email", "12"],  # junk
        ["", ""],  # blank line, skipped
    ]
    path = write_leak(tmp_path / "leak.csv", rows)
    reading = read_leak(path, KEY)
    assert reading.rows_read == 7 and reading.duplicates == 1 and reading.junk_rows == 1
    assert reading.junk == {"email:not_an_email": 1}
    assert [str(loc) for loc, _ in reading.problems] == [f"{path}:8:email"]
    match = match_leak(world, reading)
    assert (match.matched_one, match.matched_several, match.matched_none) == (3, 1, 1)
    got = dict(zip(match.customers["customer_id"].to_pylist(),
                   match.customers["weight"].to_pylist(), strict=True))  # fmt: skip
    assert got == {cid(1): 1.0, cid(2): 1.0, cid(3): 0.5, cid(4): 0.5, cid(5): 1.0}
    assert match.categories == ["email", "phone"]


def test_name_and_postcode_match_only_a_unique_customer(world, tmp_path):
    path = write_leak(
        tmp_path / "names.csv",
        [[f"Mr Jo {surname(5).upper()}", "ab5 1cd"], ["Someone Else", "AB5 1CD"], [surname(6), ""]],
        header=("Full Name", "Post Code"),
    )
    reading = read_leak(path, KEY)
    assert reading.junk == {"name:needs_name_and_postcode": 1}
    match = match_leak(world, reading)
    assert match.customers["customer_id"].to_pylist() == [cid(5)]
    assert match.categories == ["address", "name"]


def test_jsonl_leaks_with_odd_keys_and_broken_lines(world, tmp_path):
    path = tmp_path / "leak.jsonl"
    path.write_text(
        json.dumps({"E-Mail": email(7), "Telephone": None}) + "\n"
        + "{broken\n[1, 2]\n\n"
        + json.dumps({"MOBILE": phone(8)}) + "\n"
    )  # fmt: skip
    reading = read_leak(path, KEY)
    assert reading.junk == {"line:malformed_json": 1, "line:not_an_object": 1}
    assert [str(loc) for loc, _ in reading.problems] == [f"{path}:2:line", f"{path}:3:line"]
    assert match_leak(world, reading).customers["customer_id"].to_pylist() == [cid(7), cid(8)]


@pytest.mark.parametrize(
    ("name", "delimiter", "encoding"),
    [("a.csv", ",", "utf-8"), ("b.csv", ";", "utf-8-sig"), ("c.tsv", "\t", "latin-1"),
     ("d.txt", "|", "utf-8"), ("e.csv.gz", ";", "utf-8")],
)  # fmt: skip
def test_delimiters_encodings_and_gzip_are_read(world, tmp_path, name, delimiter, encoding):
    text = delimiter.join(["Müller", "E-Mail Address", "Mobile"]) + "\n"
    text += "".join(delimiter.join(["x", email(i), phone(i)]) + "\n" for i in (1, 2, 3))
    data = text.encode(encoding)
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    reading = read_leak(path, KEY)
    assert (reading.rows_read, reading.rows.num_rows) == (3, 3)
    assert match_leak(world, reading).customers["customer_id"].to_pylist() == [
        cid(1),
        cid(2),
        cid(3),
    ]


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("leak.csv", "person001@example.org,+447700900001\n", "leak.csv:1"),
        ("leak.xlsx", "email\n", "unknown leak file type .xlsx"),
        ("missing.csv", None, "leak file not found"),
    ],
)
def test_unreadable_leaks_name_the_file_and_never_echo_values(tmp_path, name, text, expected):
    path = tmp_path / name
    if text is not None:
        path.write_text(text)
    with pytest.raises(InsiderwatchError) as info:
        read_leak(path, KEY)
    assert expected in str(info.value)
    assert "person001" not in str(info.value)


# --- ranking on hand-built scenarios ------------------------------------------------------


def test_a_single_leaker_beats_the_colleague_who_sees_everything(world, tmp_path):
    # Twelve of the twenty the leaker saw: in a company of 100 customers, eight would not
    # be the 1,000 to 1 the margin rule asks for.
    leaked = [0, 2, 3, 5, 7, 8, 10, 11, 13, 14, 17, 19]
    noise = [90, 93]  # seen by `heavy` only
    report = ranked(world, leak_of(tmp_path / "leak.csv", leaked + noise))
    first = report.suspects[0]
    assert (first.employee_id, first.leaker, first.rank) == ("leaker", True, 1)
    assert first.matched_customers == [cid(i) for i in leaked]
    assert first.coverage == pytest.approx(12 / 14, abs=1e-4)
    assert first.first_exposure is not None and first.first_exposure < FOUND
    assert [s.employee_id for s in report.suspects if s.leaker] == ["leaker"]
    assert sorted(report.unexplained_customers) == [cid(i) for i in noise]
    # A naive count of leaked customers seen would have picked `heavy` (14 against 12).
    heavy = next(s for s in report.suspects if s.employee_id == "heavy")
    assert len(heavy.matched_customers) > len(first.matched_customers)
    assert heavy.score < 50


def test_two_leakers_are_both_named(world, tmp_path):
    report = ranked(world, leak_of(tmp_path / "leak.csv", [*range(0, 8), *range(50, 58), 95]))
    leakers = [s for s in report.suspects if s.leaker]
    assert {s.employee_id for s in leakers} == {"leaker", "partner"}
    assert [s.rank for s in leakers] == [1, 2]
    assert all(len(s.explains) == 8 for s in leakers)
    assert "Named leaker: explains 8 customers" in leakers[1].explanation


def test_access_after_the_leak_was_found_does_not_count(world, tmp_path):
    path = leak_of(tmp_path / "leak.csv", list(range(0, 10)))
    names = {s.employee_id for s in ranked(world, path, top=20).suspects}
    assert "late" not in names
    later = ranked(world, path, found_at=None, top=20)
    assert "late" in {s.employee_id for s in later.suspects}


def test_a_leaked_email_implicates_only_those_who_saw_emails(world, tmp_path):
    path = leak_of(tmp_path / "leak.csv", list(range(0, 10)))
    assert "blind" not in {s.employee_id for s in ranked(world, path, top=20).suspects}
    names = write_leak(
        tmp_path / "names.csv",
        [[surname(i), f"AB{i % 10} 1CD"] for i in range(0, 10)],
        header=("surname", "postcode"),
    )
    assert "blind" in {s.employee_id for s in ranked(world, names, top=20).suspects}


def test_a_list_of_scattered_customers_names_no_leaker(world, tmp_path):
    report = ranked(world, leak_of(tmp_path / "leak.csv", [25, 35, 75, 85, 95]))
    assert report.customers_matched == 5
    assert not any(s.leaker for s in report.suspects)
    assert all(s.score < 50 for s in report.suspects)


def test_scores_reward_specific_matches_over_wide_reach():
    hits = np.array([5.0, 5.0, 8.0, 0.0])
    scores = log_ratios(hits, np.zeros(4), 10.0, np.array([50.0, 5000.0, 50.0, 50.0]), 10_000)
    assert scores[0] > scores[1]  # the same hits from a wider reach prove less
    assert scores[2] > scores[0]  # more hits prove more
    assert -0.5 < scores[3] <= 0.0  # no hit: no better than "from elsewhere"
    canary = log_ratios(np.zeros(1), np.array([1.0]), 1.0, np.array([50.0]), 10_000)
    ordinary = log_ratios(np.ones(1), np.zeros(1), 1.0, np.array([50.0]), 10_000)
    assert canary[0] > ordinary[0] + 5


def test_two_colluders_beat_the_innocent_who_shares_a_canary_with_each():
    # Canary k1 was shown to A and C, canary k2 to B and C; A and B also leaked one
    # ordinary customer each. C alone explains both canaries; only A and B together
    # explain everything.
    leaked = LeakedCustomers(
        ids=["k1", "k2", "r1", "r2"],
        weights=np.ones(4),
        is_canary=np.array([True, True, False, False]),
    )
    seen = {"A": [0, 2], "B": [1, 3], "C": [0, 1]}
    names = sorted(seen)
    emp = np.array([names.index(e) for e in names for _ in seen[e]])
    cust = np.array([c for e in names for c in seen[e]])
    ex = Exposures(names, emp, cust, np.full(3, 300.0), population=100_000, staff=1000)
    order = rank(leaked, ex).employees
    assert {names[r.index] for r in order if r.named} == {"A", "B"}
    assert names[order[2].index] == "C" and not order[2].named


# --- command line -------------------------------------------------------------------------


def test_cli_writes_the_contract_report_and_no_raw_details(world, tmp_path, cli):
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY_HEX)
    leak = leak_of(tmp_path / "leak.csv", [1, 2, 4, 6, 9, 12])
    with leak.open("a") as fh:
        fh.write("junk,junk\n")
    out = tmp_path / "suspects.json"
    env = {"INSIDERWATCH_SECRET_FILE": str(key_file)}
    result = cli(
        "attribute", leak, "--db", world.path, "--found-at", FOUND.isoformat(), "--out", out,
        env=env,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "6customersmatched" in flat(result.stdout)
    assert f"{leak}:8:email" in flat(result.stderr)
    report = msgspec.json.decode(out.read_bytes(), type=SuspectReport)
    assert report.suspects[0].employee_id == "leaker" and report.rows.junk == 1
    text = out.read_text()
    assert "example.org" not in text and "7700" not in text
    as_json = cli("attribute", leak, "--db", world.path, "--json", env=env)
    assert msgspec.json.decode(as_json.stdout, type=SuspectReport).customers_matched == 6


def test_cli_refuses_to_invent_a_key_or_use_another(world, tmp_path, cli):
    leak = leak_of(tmp_path / "leak.csv", [1])
    result = cli("attribute", leak, "--db", world.path)
    assert result.exit_code == 1
    assert "nohashingkey" in flat(result.stderr)
    other = cli("attribute", leak, "--db", world.path, env={"INSIDERWATCH_HASH_KEY": OTHER_KEY_HEX})
    assert other.exit_code == 1 and "washashedwithkey" in flat(other.stderr)


# --- end to end on a simulated company ----------------------------------------------------


def test_an_insiders_leak_from_a_simulated_company(tmp_path, hash_key):
    company = simulate(SimulationConfig(employees=120, days=10, seed=11, insider_rate=0.05))
    data = tmp_path / "dataset"
    write_dataset(company, data, "parquet")
    insider = max(company.truth["insiders"], key=lambda i: len(i["customer_ids"]))
    raw = {r["customer_id"]: r for r in pq.read_table(data / "customers.parquet").to_pylist()}
    rng = random.Random(5)
    reachable = [c for c in sorted(raw) if raw[c]["email"] or raw[c]["phone"]]
    theirs = [c for c in insider["customer_ids"] if c in set(reachable)]
    stolen = rng.sample(theirs, min(30, len(theirs)))
    noise = rng.sample(sorted(set(reachable) - set(insider["customer_ids"])), 8)
    rows = [[(raw[c]["email"] or "").upper(), f" {raw[c]['phone'] or ''} "] for c in stolen + noise]
    leak = write_leak(tmp_path / "found.csv", rows + [["-", "n/a"]])
    with Store(tmp_path / "iw.duckdb", threads=1) as store:
        ingest_dataset(store, data, hash_key)
        report = attribute(store, hash_key, leak)
    assert report.rows.junk == 1
    # Every row matches; a shared household phone may match a second customer too.
    assert report.rows.matched_one + report.rows.matched_several == len(stolen) + len(noise)
    assert report.suspects[0].employee_id == insider["employee_id"]
    assert report.suspects[0].leaker
