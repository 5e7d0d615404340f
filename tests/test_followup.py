"""Follow-ups on the allowance's hand-built company: an account opened again the same day,
with no more fields, after an explained look-up of it is explained; opening more fields,
a customer nothing explained, another day or before the explained look-up is not, and
the allowance counts every opening as before."""

from __future__ import annotations

import msgspec
import pytest

from detect_scenarios import at, detect, explanations
from insiderwatch.detect import DetectionConfig
from insiderwatch.detect.config import Explanation
from test_allowance import ACT, HARVESTER, company

FIELDS = ["name", "email"]


def followup_company():
    """The harvester of test_allowance (twenty look-ups on day ACT, the first few within
    his allowance) opens some of them again."""
    c = company()
    first, last = "c320", "c339"  # the harvest's first look-up (allowed) and last (not)
    reopen = {
        "same": c.event(HARVESTER, at(ACT, 12), "view", [first], FIELDS, app="console"),
        "more_fields": c.event(HARVESTER, at(ACT, 12, 5), "view", [first],
                               [*FIELDS, "address"], app="console"),  # fmt: skip
        "unexplained": c.event(HARVESTER, at(ACT, 12, 10), "view", [last], FIELDS,
                               app="console"),  # fmt: skip
        "next_day": c.event(HARVESTER, at(ACT + 1, 12), "view", [first], FIELDS, app="console"),
        "before": c.event(HARVESTER, at(ACT, 9), "view", ["c321"], FIELDS, app="console"),
    }
    return c, reopen


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    c, reopen = followup_company()
    store = detect(c, tmp_path_factory.mktemp("followup"))
    yield c, reopen, explanations(store), store
    store.close()


def test_an_explained_account_opened_again_the_same_day_is_a_followup(world):
    c, reopen, why, _ = world
    harvest = [r["event_id"] for r in c.access if r["event_id"] in c.act][:20]
    assert why[harvest[0]] == "allowance" and why[harvest[-1]] is None
    assert why[reopen["same"]] == "followup"


@pytest.mark.parametrize("case", ["more_fields", "unexplained", "next_day", "before"])
def test_more_fields_an_unexplained_customer_another_day_or_earlier_are_not(world, case):
    _, reopen, why, _ = world
    assert why[reopen[case]] != "followup"


def test_the_harvest_past_the_allowance_stays_unexplained(world):
    c, _, why, _ = world
    harvest = [r["event_id"] for r in c.access if r["event_id"] in c.act][:20]
    assert "followup" not in {why[e] for e in harvest}


def test_the_allowance_still_counts_every_opening(world, tmp_path):
    _, _, _, store = world
    cfg = DetectionConfig(explanation=msgspec.structs.replace(Explanation(), followup=False))
    off = detect(followup_company()[0], tmp_path, cfg)
    try:
        query = "SELECT employee_id, day, lookups, allowed FROM allowance_days ORDER BY ALL"
        assert store.con.execute(query).fetchall() == off.con.execute(query).fetchall()
        assert "followup" not in set(explanations(off).values())
    finally:
        off.close()
