"""Breach scope of a hand-built insider, and of a simulated one against the truth."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from breach_store import detected_world_copy
from breach_world import EXPECTED, WINDOW_END
from insiderwatch.errors import InsiderwatchError
from insiderwatch.report.scope import ScopeQuery, compute_scope, place
from insiderwatch.report.scope_files import read_scope, summarise, write_scope
from insiderwatch.store import Store


@pytest.fixture(scope="module")
def world(tmp_path_factory, built_once) -> Iterator[Store]:
    """The breach world detected once per run; one copy for the module, which only reads
    its scope (``compute_scope`` leaves nothing in the store)."""
    db = detected_world_copy(built_once, tmp_path_factory.mktemp("breach") / "iw.duckdb")
    with Store(db, threads=1) as store:
        yield store


def _by_customer(scope) -> dict[str, dict]:
    return {r["customer_id"]: r for r in scope.rows.to_pylist()}


def test_scope_is_exactly_the_unexplained_customers_and_fields(world) -> None:
    scope = compute_scope(world, ScopeQuery(employees=["spy"], end=WINDOW_END))
    got = _by_customer(scope)
    assert sorted(got) == sorted(EXPECTED)
    for cid, want in EXPECTED.items():
        row = got[cid]
        assert row["fields"] == want["fields"], cid
        assert row["fields_taken_out"] == want["taken_out"], cid
        assert row["exposure"] == ("taken_out" if want["taken_out"] else "viewed"), cid
        assert row["event_ids"] == want["events"], cid
    assert got["c3"]["channels"] == ["personal_email", "screen"]
    assert scope.explained_excluded == 1  # s01, covered by the case about c1
    assert scope.explained_only_customers == 1  # c1, seen in s01 only
    assert scope.events == 4  # s02 .. s05


def test_include_explained_and_open_window_add_what_they_should(world) -> None:
    scope = compute_scope(world, ScopeQuery(employees=["spy"], include_explained=True))
    got = _by_customer(scope)
    assert sorted(got) == sorted([*EXPECTED, "c1", "c6"])
    assert scope.explained_only_customers == 0
    assert got["c1"]["fields"] == ["email", "name"] and got["c1"]["exposure"] == "viewed"
    assert got["c6"]["fields"] == ["payment"]


def test_a_leak_proves_taken_out_even_where_access_was_explained(world) -> None:
    import pyarrow as pa

    leaked = pa.table({"customer_id": ["c1", "c4", "c6"],
                       "categories": [["email"], ["phone"], ["email"]]})  # fmt: skip
    scope = compute_scope(world, ScopeQuery(employees=["spy"], end=WINDOW_END), leaked=leaked)
    got = _by_customer(scope)
    assert got["c1"]["fields_taken_out"] == ["email"] and got["c1"]["leaked"]
    assert got["c4"]["fields_taken_out"] == ["phone"] and got["c4"]["exposure"] == "taken_out"
    assert "c6" not in got  # seen only after the window: the leak alone does not scope it
    assert scope.leak is not None
    assert (scope.leak.customers_in_scope, scope.leak.customers_not_seen) == (2, 1)


def test_summary_counts_and_files_round_trip(world, tmp_path: Path) -> None:
    import pyarrow as pa

    juris = pa.table({"customer_id": ["c2", "c3", "c4", "c5"],
                      "jurisdiction": ["DE", "US-CO", "FR", "ES"]})  # fmt: skip
    scope = place(compute_scope(world, ScopeQuery(employees=["spy"], end=WINDOW_END)), juris)
    summary = summarise(scope)
    assert (summary.customers, summary.customers_taken_out, summary.customers_viewed_only) == (
        4, 2, 2,
    )  # fmt: skip
    # name: c2, c4 viewed; c3 taken out. email: c2 viewed, c3 out. address: c5 out.
    assert (summary.by_field["name"].viewed, summary.by_field["name"].taken_out) == (2, 1)
    assert (summary.by_field["email"].viewed, summary.by_field["email"].taken_out) == (1, 1)
    assert (summary.by_field["phone"].viewed, summary.by_field["phone"].taken_out) == (3, 0)
    assert summary.by_field["address"].taken_out == 1 and "payment" not in summary.by_field
    assert summary.by_jurisdiction["US-CO"].taken_out == 1
    assert summary.by_jurisdiction["DE"].viewed == 1
    assert summary.by_channel == {"screen": 3, "personal_email": 1, "printer": 1}
    assert summary.timeline.first_access.day == 4 and summary.timeline.last_access.day == 6
    written = write_scope(scope, summary, tmp_path / "out")
    assert [p.name for p in written] == ["scope.parquet", "scope.csv", "summary.json"]
    rows, again = read_scope(tmp_path / "out")
    assert [r.customer_id for r in rows] == sorted(EXPECTED)
    assert again == summary
    assert pq.read_table(tmp_path / "out" / "scope.parquet").num_rows == 4
    csv_text = (tmp_path / "out" / "scope.csv").read_text()
    assert "email;name;phone" in csv_text


def test_unknown_employee_is_a_clear_error(world) -> None:
    with pytest.raises(InsiderwatchError, match="not on the roster: nobody"):
        compute_scope(world, ScopeQuery(employees=["nobody"]))
