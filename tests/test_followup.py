"""Follow-ups on the allowance's hand-built company: an account opened again the same day,
with no more fields, after an explained look-up of it alone is explained; opening more
fields, a customer nothing explained, another day or a namesake a search listed is not, and
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
        "more_fields": c.event(
            HARVESTER, at(ACT, 12, 5), "view", [first], [*FIELDS, "address"], app="console"
        ),  # fmt: skip
        "unexplained": c.event(
            HARVESTER, at(ACT, 12, 10), "view", [last], FIELDS, app="console"
        ),  # fmt: skip
        "next_day": c.event(HARVESTER, at(ACT + 1, 12), "view", [first], FIELDS, app="console"),
        # a change of the customer's email after the allowed look-up: more than looking
        # again (how an account is taken over)
        "update": c.event(
            HARVESTER, at(ACT, 12, 15), "update", [first], ["email"], app="console"
        ),  # fmt: skip
    }
    # A manager's search under his case lists its customer and a namesake; opening the
    # namesake is singling a person out of a search (how an ex-partner is found), no
    # follow-up, though the case explained the search.
    c.cases.append({"case_id": "k-m0", "customer_id": "c390", "employee_id": "m0",
                    "opened_at": at(ACT, 13), "closed_at": at(ACT, 13, 30)})  # fmt: skip
    reopen["search"] = c.event("m0", at(ACT, 13, 5), "search", ["c390", "c391"], FIELDS,
                               case_id="k-m0")  # fmt: skip
    reopen["namesake"] = c.event("m0", at(ACT, 13, 6), "view", ["c391"], FIELDS)
    # The harvester opens the allowed customer again under the manager's case, whose
    # customer it is not: the case detectors judge that (case_mismatch), however often.
    reopen["under_case"] = c.event(HARVESTER, at(ACT, 13, 10), "view", [first], FIELDS,
                                   app="console", case_id="k-m0")  # fmt: skip
    return c, reopen


FOLLOWUPS_OFF = DetectionConfig(explanation=msgspec.structs.replace(Explanation(), followup=False))


def sending_company():
    """The follow-up company, where the harvester also sends the allowed customer he
    opened again (a follow-up) to a USB stick, after every reopening of that morning."""
    c, reopen = followup_company()
    reopen["send"] = c.event(HARVESTER, at(ACT, 12, 30), "export", ["c320"], FIELDS,
                             app="console", destination="usb", record_count=1)  # fmt: skip
    return c, reopen


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    c, reopen = sending_company()
    store = detect(c, tmp_path_factory.mktemp("followup"))
    yield c, reopen, explanations(store), store
    store.close()


@pytest.fixture(scope="module")
def followups_off(tmp_path_factory):
    """The same company detected with follow-ups switched off."""
    store = detect(sending_company()[0], tmp_path_factory.mktemp("followup-off"), FOLLOWUPS_OFF)
    yield store
    store.close()


def test_an_explained_account_opened_again_the_same_day_is_a_followup(world):
    c, reopen, why, _ = world
    harvest = [r["event_id"] for r in c.access if r["event_id"] in c.act][:20]
    assert why[harvest[0]] == "allowance" and why[harvest[-1]] is None
    assert why[reopen["same"]] == "followup"


def test_one_of_an_allowed_searchs_namesakes_opened_is_no_followup(world):
    _, reopen, why, _ = world
    assert why[reopen["search"]] == "own_case"
    assert why[reopen["namesake"]] != "followup"


@pytest.mark.parametrize("case", ["more_fields", "unexplained", "next_day", "update",
                                  "under_case"])  # fmt: skip
def test_more_fields_an_unexplained_customer_another_day_a_change_or_a_case_are_not(world, case):
    _, reopen, why, _ = world
    assert why[reopen[case]] != "followup"


def test_the_harvest_past_the_allowance_stays_unexplained(world):
    c, _, why, _ = world
    harvest = [r["event_id"] for r in c.access if r["event_id"] in c.act][:20]
    assert "followup" not in {why[e] for e in harvest}


def test_the_allowance_still_counts_every_opening(world, followups_off):
    _, _, _, store = world
    off = followups_off
    query = "SELECT employee_id, day, lookups, allowed FROM allowance_days ORDER BY ALL"
    assert store.con.execute(query).fetchall() == off.con.execute(query).fetchall()
    assert "followup" not in set(explanations(off).values())


def test_a_followup_still_counts_as_carried_into_a_send(world, followups_off):
    """Exfiltration counts the customers of a send looked up with no case in the hours
    before it; a follow-up is such a look-up (nothing but the allowance vouched for the
    customer), so sending the customer out weighs the same with follow-ups on or off."""
    _, reopen, why, store = world
    assert why[reopen["same"]] == "followup"
    assert explanations(followups_off)[reopen["same"]] is None
    query = (
        "SELECT reason, points, event_ids FROM findings "
        "WHERE detector = 'exfiltration' ORDER BY ALL"
    )
    with_followups = store.con.execute(query).fetchall()
    assert with_followups and with_followups == followups_off.con.execute(query).fetchall()
    # the send itself is among what exfiltration weighed
    assert any(reopen["send"] in ids for _, _, ids in with_followups)
