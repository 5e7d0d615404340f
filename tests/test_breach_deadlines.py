"""The deadline engine: periods from awareness, thresholds, risk, unknown places."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from insiderwatch.contract.breach import FieldCount, ScopeSummary, Timeline
from insiderwatch.errors import ConfigError, InsiderwatchError
from insiderwatch.report.deadlines import deadlines, load_rules

UTC = dt.UTC
AWARE = dt.datetime(2026, 9, 7, 15, 30, tzinfo=UTC)


def _summary(**per_place: int) -> ScopeSummary:
    by = {k.replace("_", "-"): FieldCount(taken_out=n) for k, n in per_place.items()}
    return ScopeSummary(
        employees=["spy"], customers=sum(per_place.values()), customers_taken_out=0,
        customers_viewed_only=0, events=1, by_field={}, by_jurisdiction=by, by_channel={},
        timeline=Timeline(), generated_at=AWARE,
    )  # fmt: skip


def _row(rows, jurisdiction: str, recipient: str, citation_part: str = ""):
    found = [r for r in rows if r.jurisdiction == jurisdiction and r.recipient == recipient
             and citation_part in r.citation]  # fmt: skip
    assert len(found) == 1, (jurisdiction, recipient, found)
    return found[0]


@pytest.mark.parametrize(
    ("place", "recipient", "citation", "delta"),
    [
        ("DE", "authority", "Art. 33", dt.timedelta(hours=72)),
        ("GB", "authority", "UK GDPR Art. 33", dt.timedelta(hours=72)),
        ("US_CO", "individuals", "6-1-716", dt.timedelta(days=30)),
        ("US_FL", "individuals", "501.171", dt.timedelta(days=30)),
        ("US_AL", "individuals", "8-38-5", dt.timedelta(days=45)),
        ("US_AZ", "individuals", "18-552", dt.timedelta(days=45)),
        ("US_CT", "individuals", "36a-701b", dt.timedelta(days=60)),
    ],
)
def test_due_time_is_awareness_plus_the_period(place, recipient, citation, delta) -> None:
    rows = deadlines(_summary(**{place: 3}), load_rules(), AWARE, high_risk=True)
    row = _row(rows, place.replace("_", "-"), recipient, citation)
    assert row.due == AWARE + delta
    assert row.applies == "required" and row.customers == 3


def test_gdpr_72_hours_crosses_midnight_in_utc() -> None:
    aware = dt.datetime(2026, 12, 30, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    row = _row(deadlines(_summary(FR=1), load_rules(), aware, high_risk=False), "FR", "authority")
    assert row.due == dt.datetime(2027, 1, 2, 21, 0, tzinfo=UTC)
    assert "CNIL" in row.to


def test_art_34_depends_on_high_risk() -> None:
    low = _row(deadlines(_summary(ES=2), load_rules(), AWARE, high_risk=False), "ES", "individuals")
    high = _row(deadlines(_summary(ES=2), load_rules(), AWARE, high_risk=True), "ES", "individuals")
    assert (low.applies, high.applies) == ("not_required", "required")
    assert high.due is None and "without undue delay" in high.when


def test_attorney_general_thresholds() -> None:
    rows = deadlines(_summary(US_CO=499, US_FL=500), load_rules(), AWARE, high_risk=True)
    assert _row(rows, "US-CO", "authority").applies == "not_required"
    fl = _row(rows, "US-FL", "authority")
    assert fl.applies == "required" and fl.due == AWARE + dt.timedelta(days=30)


def test_hipaa_media_per_state_and_hhs_by_total() -> None:
    rows = deadlines(_summary(US_CO=300, US_FL=300), load_rules(), AWARE, high_risk=True,
                     sectors=("hipaa",))  # fmt: skip
    hipaa = [r for r in rows if "(hipaa)" in r.jurisdiction]
    media = next(r for r in hipaa if r.recipient == "media")
    assert media.applies == "not_required"  # 300 per state, not more than 500 in any
    hhs = {r.citation: r for r in hipaa if r.recipient == "authority"}
    assert hhs["45 CFR § 164.408(b)"].applies == "required"  # 600 in all
    assert hhs["45 CFR § 164.408(c)"].applies == "not_required"
    individuals = next(r for r in hipaa if r.recipient == "individuals")
    assert individuals.due == AWARE + dt.timedelta(days=60) and individuals.customers == 600
    small = deadlines(_summary(US_TX=10), load_rules(), AWARE, high_risk=True, sectors=("hipaa",))
    annual = next(r for r in small if r.citation == "45 CFR § 164.408(c)")
    assert annual.applies == "required"
    assert annual.due == dt.datetime(2027, 3, 2, tzinfo=UTC)  # 60 days after 31 Dec 2026


def test_unknown_and_unruled_places_ask_for_a_human() -> None:
    rows = deadlines(_summary(unknown=4, JP=2), load_rules(), AWARE, high_risk=True)
    assert {(r.jurisdiction, r.applies) for r in rows} == {("unknown", "check"), ("JP", "check")}
    with pytest.raises(InsiderwatchError, match="no sector rules 'pci'"):
        deadlines(_summary(DE=1), load_rules(), AWARE, high_risk=True, sectors=("pci",))


def test_rules_file_overrides_and_errors_name_the_field(tmp_path: Path) -> None:
    mine = tmp_path / "rules.yaml"
    mine.write_text(
        "jurisdictions:\n- codes: [JP]\n  name: Japan\n  authority: PPC\n  obligations:\n"
        "  - {recipient: authority, to: '{authority}', within_days: 5, when: promptly,"
        " citation: APPI Art. 26}\n"
    )
    row = _row(
        deadlines(_summary(JP=2), load_rules(mine), AWARE, high_risk=True), "JP", "authority"
    )
    assert (row.to, row.due) == ("PPC", AWARE + dt.timedelta(days=5))
    mine.write_text(
        "jurisdictions:\n- {codes: [JP], name: J, obligations: [{recipient: nobody}]}\n"
    )
    with pytest.raises(ConfigError, match=r"rules.yaml:\$.jurisdictions\[0\].obligations\[0\]"):
        load_rules(mine)
