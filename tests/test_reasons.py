"""The reason registry (detect/reasons.py): every reason the engine writes on a simulated
company has an entry, what reads explanations gives its sentence beside the name, and a
name this version does not know is shown bare with "(no description)", never an error."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

import insiderwatch
from insiderwatch.alerts.export import explained_share
from insiderwatch.detect import DetectionConfig, run_detection
from insiderwatch.detect.calibrate import calibration
from insiderwatch.detect.config import Explanation
from insiderwatch.detect.reasons import POLICY, REASONS, UNKNOWN, describe, meaning, reason_of
from insiderwatch.ingest import ingest_dataset
from insiderwatch.investigate.timeline import timeline
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from insiderwatch_sim import SimulationConfig, simulate, write_dataset
from sample_data import KEY_HEX

KEY = HashKey(bytes.fromhex(KEY_HEX))
CFG = DetectionConfig()
DETECT = Path(insiderwatch.__file__).parent / "detect"


def simulated(folder, **sim) -> Store:
    """A simulated company's store, ingested, not detected yet."""
    company = simulate(SimulationConfig(insider_rate=0.03, **sim))
    write_dataset(company, folder / "dataset")
    store = Store(folder / "iw.duckdb", threads=1)
    ingest_dataset(store, folder / "dataset", KEY)
    return store


@pytest.fixture(scope="module")
def company(tmp_path_factory):
    store = simulated(tmp_path_factory.mktemp("reasons"), employees=240, days=12, seed=4)
    run_detection(store, CFG, KEY)
    yield store
    store.close()


def written(store: Store) -> set[str]:
    rows = store.con.execute(
        "SELECT DISTINCT explanation FROM access_explained WHERE explanation IS NOT NULL"
    ).fetchall()
    return {r for (r,) in rows}


def test_every_reason_the_engine_writes_has_an_entry(company):
    names = written(company)
    # The company exercises cases, learned routine and the case-less reasons alike.
    assert {"own_case", "routine", "allowance", "login"} <= names
    assert len(names) >= 10, names
    assert [n for n in names if reason_of(n) is None] == []


def test_a_configured_role_policy_is_described_by_its_family(tmp_path):
    """The engine writes ``policy:ROLE``: a name the company's settings make up, found by
    its family."""
    with simulated(tmp_path, employees=60, days=3, seed=5) as store:
        role = store.scalar("SELECT role FROM employees ORDER BY role LIMIT 1")
        cfg = DetectionConfig(explanation=Explanation(policy_roles=[role]))
        run_detection(store, cfg, KEY)
        policies = {n for n in written(store) if n.startswith(POLICY)}
    assert policies == {f"{POLICY}{role}"}
    assert reason_of(f"{POLICY}{role}") is dict(REASONS)[POLICY]
    assert describe(f"{POLICY}{role}@crm") == dict(REASONS)[POLICY].meaning


@pytest.mark.parametrize("name", ["retired_reason", "routine:elsewhere", "policyless", "own"])
def test_a_name_this_version_does_not_know_is_described_as_such(name):
    assert reason_of(name) is None
    assert describe(name) == UNKNOWN
    assert meaning(None) is None  # nothing explains it: nothing to describe


def test_every_entry_reads_as_a_sentence_with_its_evidence():
    for name, reason in REASONS:
        assert reason.name == name and reason.title
        assert reason.meaning.endswith(".") and reason.evidence.endswith(".")
        assert reason.meaning[0].isupper(), name


def test_the_timeline_gives_each_access_its_reason_and_sentence(company):
    employee = company.scalar(
        "SELECT min(employee_id) FROM access_explained WHERE explanation = 'routine'"
    )
    stored = dict(
        company.con.execute(
            "SELECT event_id, explanation FROM access_explained WHERE employee_id = ?",
            [employee],
        ).fetchall()
    )
    entries = timeline(company, employee)
    assert entries and {e.event_id: e.explanation for e in entries} == stored
    assert {e.explanation_meaning for e in entries if e.explanation == "routine"} == {
        describe("routine")
    }
    assert all(e.explanation_meaning is None for e in entries if e.explanation is None)


def test_calibrate_lists_the_reasons_of_the_window_with_their_sentences(company):
    found = calibration(company, CFG)
    assert found.day is not None and found.reasons
    used = {r.name: r.accesses for r in found.reasons}
    assert "login" not in used  # sign-ins are no access to data
    assert [r.accesses for r in found.reasons] == sorted(used.values(), reverse=True)
    assert all(r.meaning == describe(r.name) for r in found.reasons)
    b0 = found.day - dt.timedelta(days=CFG.baseline_days)
    own = company.scalar(
        "SELECT count(*) FROM access_explained WHERE explanation = 'own_case' "
        "AND day >= ? AND day <= ?",
        [b0, found.day],
    )
    assert used["own_case"] == own


def test_the_detect_summary_says_what_each_reason_it_counts_means(company):
    shares = explained_share(company)
    assert shares and all(s.meanings == {k: describe(k) for k in s.by_reason} for s in shares)
    assert any("routine" in s.meanings for s in shares)


# A reason spelled as a literal goes stale in silence when the registry renames it: the
# query still runs, comparing explanations with a name nobody writes any more. So the
# detection code takes every name from detect/reasons.py. Two look-alikes are no reason:
# an event's action compared as one (``action <> 'login'``: the sign-in reason is named
# after it) and a struct or dictionary key (``{'allowance': ...}``, a field's name).
_ACTION_TEST = re.compile(r"""action\s*(?:=|<>|!=)\s*'[a-z_]+'""")


def quoted_reasons(text: str) -> list[str]:
    """The registered reason names ``text`` spells as quoted literals."""
    names = "|".join(re.escape(name) for name, _ in REASONS)
    found = re.findall(rf"""(['"])({names})\1(?!\s*:(?!:))""", _ACTION_TEST.sub("", text))
    return [name for _, name in found]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("coalesce(explanation, '') NOT IN ('routine', 'handover')", ["routine", "handover"]),
        ("starts_with(explanation, 'policy:')", ["policy:"]),
        ("o.explanation IS DISTINCT FROM 'routine'::VARCHAR", ["routine"]),
        ('[r for r in rows if r == "allowance:kind"]', ["allowance:kind"]),
        ("CASE WHEN a.action = 'login' THEN 'login' END", ["login"]),
        ("WHERE e.action <> 'login' AND explanation = 'routines'", []),
        ("arg_max({'allowance': a.allowance, 'grp': m.grp}, m.cosine)", []),
        ('{**step, "login": LOGIN}', []),
    ],
)
def test_a_quoted_reason_is_found_and_its_look_alikes_are_not(text, found):
    assert quoted_reasons(text) == found


def test_the_detection_code_spells_no_reason_outside_the_registry():
    spelled = {
        str(path.relative_to(DETECT)): names
        for path in sorted(DETECT.rglob("*.py"))
        if path.name != "reasons.py" and (names := quoted_reasons(path.read_text()))
    }
    assert spelled == {}


def test_a_reason_is_looked_up_not_found_by_sorting_the_registry(monkeypatch):
    """``reason_of`` runs once per row shown: it finds a name without iterating (which
    sorts every reason), and the family's entry for a name of a registered family."""

    def sorted_items(_):
        raise AssertionError("the registry was iterated")

    monkeypatch.setattr(type(REASONS), "__iter__", sorted_items)
    assert reason_of("own_case").name == "own_case"
    assert reason_of(f"{POLICY}clerk").name == POLICY
    assert reason_of("own") is None
