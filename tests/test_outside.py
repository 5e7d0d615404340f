"""Outside sources in attribution: sellers, imported lists, configured partners and
processors compete with the staff, and nobody is called a leaker when one fits better."""

from __future__ import annotations

import json
import shutil

import msgspec
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from insiderwatch.contract import SuspectReport
from insiderwatch.errors import ConfigError, InsiderwatchError
from insiderwatch.ingest import ingest_dataset
from insiderwatch.investigate.attribution import attribute
from insiderwatch.investigate.guilt import (
    MARGIN,
    MIN_SHARE,
    Exposures,
    LeakedCustomers,
    OutsideSets,
    rank,
)
from insiderwatch.investigate.outside_lists import import_list, imported_lists
from insiderwatch.investigate.outside_map import load_mapping
from insiderwatch.store import Store
from leak_world import FOUND, SELLERS, cid, email, phone, write_world
from sample_data import KEY_HEX, flat
from test_attribution import KEY, leak_of, write_leak


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The leak world of leak_world.py ingested once; tests copy the store to write to it."""
    folder = tmp_path_factory.mktemp("outside")
    db = folder / "iw.duckdb"
    with Store(db, threads=1) as store:
        report = ingest_dataset(store, write_world(folder / "data"), KEY)
        assert not report.errors and not report.totals.rejected
    return db


@pytest.fixture
def store(built, tmp_path):
    db = tmp_path / "iw.duckdb"
    shutil.copy(built, db)
    shutil.copytree(built.with_name(built.name + ".segments"), db.with_name(db.name + ".segments"))
    with Store(db, threads=1) as opened:
        yield opened


def ranked(store: Store, path, **kwargs) -> SuspectReport:
    return attribute(store, KEY, path, found_at=kwargs.pop("found_at", FOUND), **kwargs)


def list_file(path, customers: list[int], strangers: int = 0):
    rows = [[f" {email(i).upper()} ", phone(i)] for i in customers]
    rows += [[f"someone{k}@elsewhere.example", ""] for k in range(strangers)]
    return write_leak(path, rows)


def assert_nobody_accused(report: SuspectReport, source: str) -> None:
    assert not any(s.leaker for s in report.suspects)
    assert report.verdict is not None and report.verdict.kind == "outside"
    assert report.verdict.sources == [source]
    assert report.outside_sources[0].source == source and report.outside_sources[0].named
    for s in report.suspects:
        assert "Named leaker" not in s.explanation
        assert s.explanation.count("Not named a leaker") == 1


# --- the story: a seller's whole base pinned on an analyst who saw a third of it ----------


def test_a_sellers_own_base_names_the_seller_not_the_analyst_who_saw_a_third(store, tmp_path):
    base = list(SELLERS["S-123"])
    path = leak_of(tmp_path / "leak.csv", base)
    report = ranked(store, path)
    assert_nobody_accused(report, "S-123")
    seller = report.outside_sources[0]
    assert (seller.kind, seller.matched, seller.size, seller.coverage) == ("seller", 30, 30, 1.0)
    assert report.verdict.summary.startswith(
        "All 30 matched customers are customers of seller S-123 (100%)"
    )
    assert "No employee is named a leaker" in report.verdict.summary
    analyst = next(s for s in report.suspects if s.employee_id == "n1")
    assert analyst.coverage == pytest.approx(1 / 3, abs=1e-3)
    assert "30 of the 30 matched customers (100%) are customers of seller S-123" in (
        analyst.explanation
    )
    assert not report.unexplained_customers


def test_without_the_orders_the_same_list_would_have_named_the_analyst(store, tmp_path):
    """The failure this guards against: the staff-only model accuses n1."""
    store.con.execute("DELETE FROM orders")
    report = ranked(store, leak_of(tmp_path / "leak.csv", list(SELLERS["S-123"])))
    assert [s.employee_id for s in report.suspects if s.leaker][:1] in (["n1"], ["n2"])
    assert report.verdict.kind == "employee"


def test_orders_after_the_leak_was_found_do_not_make_a_seller_a_source(store, tmp_path):
    store.con.execute("UPDATE orders SET ordered_at = TIMESTAMPTZ '2026-12-01 00:00:00+00'")
    report = ranked(store, leak_of(tmp_path / "leak.csv", list(SELLERS["S-123"])))
    assert report.outside_sources == []


# --- imported lists: earlier breaches, public by choice -----------------------------------


@pytest.mark.parametrize(("kind", "phrase"), [
    ("breach", "on the earlier breach list old-breach"),
    ("public", "on the list old-breach of customers who made their details public"),
])  # fmt: skip
def test_an_imported_list_explains_a_leak_drawn_from_it(store, tmp_path, kind, phrase):
    on_list = list(range(75, 95))  # n3's last five, n4's ten, heavy's noise rows
    done = import_list(store, KEY, list_file(tmp_path / "old.csv", on_list, strangers=30),
                       name="old-breach", kind=kind)  # fmt: skip
    assert (done.rows_read, done.rows_kept, done.customers) == (50, 50, 20)
    report = ranked(store, leak_of(tmp_path / "leak.csv", on_list[3:15]))
    assert_nobody_accused(report, "old-breach")
    assert report.outside_sources[0].kind == kind
    assert phrase in report.verdict.summary


def test_a_list_imported_twice_replaces_itself_and_keeps_no_raw_value(store, tmp_path):
    path = list_file(tmp_path / "old.csv", list(range(80, 90)), strangers=5)
    import_list(store, KEY, path, name="old", kind="breach")
    import_list(store, KEY, path, name="old", kind="breach")
    (only,) = imported_lists(store)
    assert (only.name, only.rows_kept, only.customers) == ("old", 15, 10)
    assert store.scalar("SELECT count(*) FROM outside_list_rows") == 15
    dumped = store.con.execute("SELECT * FROM outside_list_rows").fetchall()
    text = json.dumps(dumped) + json.dumps(store.con.execute("SELECT * FROM outside_lists")
                                           .fetchall(), default=str)  # fmt: skip
    assert "elsewhere" not in text and "example.org" not in text and "7700" not in text


def test_a_list_that_first_circulated_after_the_leak_was_found_is_not_its_source(store, tmp_path):
    on_list = list(range(80, 90))
    import_list(store, KEY, list_file(tmp_path / "old.csv", on_list), name="later",
                kind="breach", known_since=FOUND.replace(day=25))  # fmt: skip
    report = ranked(store, leak_of(tmp_path / "leak.csv", on_list))
    assert "later" not in {o.source for o in report.outside_sources}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"name": "x", "kind": "gossip"}, "unknown kind 'gossip'"), ({"name": " ", "kind": "breach"},
     "needs a name")],
)  # fmt: skip
def test_import_refuses_a_bad_kind_or_name(store, tmp_path, kwargs, message):
    with pytest.raises(InsiderwatchError, match=message):
        import_list(store, KEY, list_file(tmp_path / "l.csv", [1]), **kwargs)


# --- configured partners and processors ----------------------------------------------------


def test_a_partner_list_and_a_processor_query_from_the_mapping_file(store, tmp_path):
    (tmp_path / "mailhouse.csv").write_text(
        "customer_id,note\n" + "".join(f"{cid(i)},x\n" for i in range(76, 96))
    )
    mapping = tmp_path / "outside.yaml"
    mapping.write_text(
        "sources:\n"
        "  - {name: MailHouse, kind: partner, customers: mailhouse.csv}\n"
        "  - name: ParcelCo\n    kind: processor\n"
        "    query: SELECT customer_id FROM customers WHERE postcode = 'AB3 1CD'\n"
    )
    mapped = load_mapping(mapping)
    report = ranked(store, leak_of(tmp_path / "leak.csv", list(range(78, 94))),
                    outside_sources=mapped)  # fmt: skip
    assert_nobody_accused(report, "MailHouse")
    assert "shared with partner MailHouse" in report.verdict.summary
    # Every customer in postcode AB3 (3, 13, ... 93) was shared with ParcelCo.
    postcode = ranked(store, leak_of(tmp_path / "pc.csv", [3, 13, 23, 33, 43, 53, 63, 73, 83, 93]),
                      outside_sources=mapped)  # fmt: skip
    assert_nobody_accused(postcode, "ParcelCo")
    assert postcode.outside_sources[0].kind == "processor"


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("sources: 3\n", "outside.yaml: expected a 'sources:' list"),
        ("sources:\n  - {kind: partner, query: SELECT 1}\n", "outside.yaml:1:name"),
        ("sources:\n  - {name: A, kind: friend, query: x}\n", "outside.yaml:1:kind"),
        ("sources:\n  - {name: A, kind: partner}\n", "outside.yaml:1:query"),
        ("sources:\n  - {name: A, kind: partner, customers: none.csv}\n", "outside.yaml:1:customers"),
        ("sources:\n  - {name: A, kind: partner, query: x}\n  - {name: A, kind: processor, "
         "query: y}\n", "outside.yaml:name"),
        ("sources: [\n", "outside.yaml: cannot read"),
    ],
)  # fmt: skip
def test_mapping_file_problems_name_file_entry_and_field(tmp_path, text, where):
    path = tmp_path / "outside.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_mapping(path)
    assert where in str(info.value)


def test_a_query_that_fails_is_our_error_not_a_traceback(store, tmp_path):
    mapping = tmp_path / "outside.yaml"
    mapping.write_text(
        "sources:\n  - {name: Bad, kind: partner, query: SELECT nope FROM nowhere}\n"
    )
    with pytest.raises(InsiderwatchError, match="outside source's query failed"):
        ranked(store, leak_of(tmp_path / "leak.csv", [1, 2]), outside_sources=load_mapping(mapping))


# --- the margin rule ------------------------------------------------------------------------


def _one_employee_one_source(emp_hits: int, src_hits: int, reach: float, size: float, n: int):
    """An employee who saw the first ``emp_hits`` of ``n`` leaked customers, a source
    holding the last ``src_hits``, in a company of 100,000 customers and 1,000 staff."""
    leaked = LeakedCustomers([f"c{i}" for i in range(n)], np.ones(n), np.zeros(n, dtype=bool))
    ex = Exposures(["E1"], np.zeros(emp_hits, dtype=np.int64), np.arange(emp_hits),
                   np.array([reach]), population=100_000, staff=1000)  # fmt: skip
    outside = OutsideSets(["S1"], ["seller"], np.zeros(src_hits, dtype=np.int64),
                          np.arange(n - src_hits, n), np.array([size]), considered=50)  # fmt: skip
    return rank(leaked, ex, outside)


def test_an_employee_is_named_only_beyond_the_margin_over_the_best_outside_source():
    # The same twenty customers, seen by the employee and held by the source: whoever
    # holds fewer customers in all fits better, and only a clear lead names the employee.
    clear = _one_employee_one_source(20, 20, reach=200, size=20_000, n=20)
    assert clear.employees[0].named and clear.employees[0].margin >= MARGIN
    assert not clear.outside[0].named
    # Ahead of the source, but by less than the margin: no confident source at all.
    close = _one_employee_one_source(20, 20, reach=200, size=250, n=20)
    assert 0 < close.employees[0].margin < MARGIN
    assert not close.employees[0].named and not close.outside[0].named
    behind = _one_employee_one_source(20, 20, reach=2_000, size=200, n=20)
    assert not behind.employees[0].named and behind.outside[0].named


def test_margins_just_below_and_above_the_rule():
    # Reach r and size b with the same 20 hits: the margin is about 20*ln(b/r) less the
    # difference of the priors, so sweeping b crosses MARGIN exactly once.
    margins = []
    for size in np.linspace(200, 400, 41):
        ranking = _one_employee_one_source(20, 20, reach=200, size=float(size), n=20)
        top = ranking.employees[0]
        assert top.named == (top.margin >= MARGIN)
        margins.append(top.margin)
    assert min(margins) < MARGIN < max(margins)


def test_an_employee_who_explains_too_small_a_share_is_not_named():
    # Three of 40 customers (7.5%, under MIN_SHARE), seen by someone who sees almost nobody.
    few = _one_employee_one_source(3, 0, reach=3, size=1, n=40)
    assert MIN_SHARE > 3 / 40
    assert few.employees[0].margin >= MARGIN and not few.employees[0].named
    enough = _one_employee_one_source(8, 0, reach=8, size=1, n=40)
    assert enough.employees[0].named


@given(st.integers(0, 2**32 - 1))
def test_whoever_is_named_beat_every_outside_source_and_chance_by_the_margin(seed):
    """On random lists, staff and sources: a named leaker always has MARGIN over the best
    outside source and the null when named, and saw at least MIN_SHARE of the list;
    and an employee whose every customer a named source holds, from a base no larger
    than what they saw, is never named (that source explains at least as much)."""
    rng = np.random.default_rng(seed)
    n, staff, sources = int(rng.integers(5, 80)), int(rng.integers(1, 6)), int(rng.integers(0, 4))
    seen = rng.random((staff, n)) < rng.uniform(0.02, 0.6, (staff, 1))
    held = rng.random((sources, n)) < rng.uniform(0.02, 0.9, (sources, 1))
    if sources and staff > 1:  # an employee who saw only what a source holds
        seen[-1] = held[0] & (rng.random(n) < 0.7)
    e, c = np.nonzero(seen)
    s, h = np.nonzero(held)
    population = 20_000
    reach = seen.sum(axis=1) + rng.integers(0, 2_000, staff)
    size = held.sum(axis=1) + rng.integers(0, 2_000, sources)
    leaked = LeakedCustomers([f"c{i}" for i in range(n)], np.ones(n), np.zeros(n, dtype=bool))
    ex = Exposures([f"E{i}" for i in range(staff)], e, c, reach.astype(float), population, 500)
    outside = OutsideSets([f"S{i}" for i in range(sources)], ["seller"] * sources, s, h,
                          size.astype(float), considered=40)  # fmt: skip
    ranking = rank(leaked, ex, outside)
    for r in ranking.employees:
        if r.named:
            # (a pair's second member explains what the first did not; both saw enough)
            assert r.margin >= MARGIN and seen[r.index].sum() >= MIN_SHARE * n
    source_named = any(r.index == 0 and r.named for r in ranking.outside)
    if staff > 1 and source_named and seen[-1].any() and size[0] <= reach[-1]:
        assert not any(r.named and r.index == staff - 1 for r in ranking.employees)


# --- command line ---------------------------------------------------------------------------


def test_cli_imports_lists_and_attribute_prints_the_verdict(built, tmp_path, cli):
    db = tmp_path / "iw.duckdb"
    shutil.copy(built, db)
    shutil.copytree(built.with_name(built.name + ".segments"), db.with_name(db.name + ".segments"))
    key_file = tmp_path / "key.hex"
    key_file.write_text(KEY_HEX)
    env = {"INSIDERWATCH_SECRET_FILE": str(key_file)}
    old = list_file(tmp_path / "old.csv", list(range(80, 90)))
    done = cli("outside", "import", old, "--name", "old", "--kind", "public", "--db", db, env=env)
    assert done.exit_code == 0, done.output
    assert "matches10customers" in flat(done.stderr)
    listed = cli("outside", "list", "--db", db, "--json", env=env)
    assert [(i["name"], i["kind"], i["customers"]) for i in json.loads(listed.stdout)] == [
        ("old", "public", 10)
    ]
    leak = leak_of(tmp_path / "leak.csv", list(SELLERS["S-123"]))
    shown = cli("attribute", leak, "--db", db, "--found-at", FOUND.isoformat(), env=env)
    assert shown.exit_code == 0, shown.output
    assert "Verdict(outside" in flat(shown.stdout)
    assert "customersofsellerS-123" in flat(shown.stdout)
    as_json = cli("attribute", leak, "--db", db, "--json", env=env)
    report = msgspec.json.decode(as_json.stdout, type=SuspectReport)
    assert report.verdict.kind == "outside"
    bad = cli("attribute", leak, "--db", db, "--outside-sources", tmp_path / "none.yaml", env=env)
    assert bad.exit_code == 1 and "none.yaml" in flat(bad.stderr)
