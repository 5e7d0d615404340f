"""Public figures learned from look-ups (detect/public.py): a customer many staff of
several groups open with no case becomes famous for the days after, a customer worked
under cases by many hands never does, and the vip detector judges look-ups of either."""

from __future__ import annotations

import msgspec
import pytest

from detect_scenarios import ACT_DAY, AGENTS, INSIDER, at, base_company, detected
from insiderwatch.detect import DetectionConfig
from insiderwatch.detect.config import PublicFigures
from insiderwatch.detect.learned import learned, step_of
from test_detect import detect, findings

STAR = "c300"  # an ordinary customer by the context: nobody flagged her
# Strangers who look her up before the act, each on two days: five agents and their
# supervisor, whose peer group is another (two groups). More attention than any quick
# look-up customer draws.
CROWD = [*AGENTS[4:9], "sup"]
CROWD_DAYS = (4, 5, 6, 7)


def _crowd(c, crowd, fields=("name", "orders")):
    for k, e in enumerate(crowd):
        for day in (CROWD_DAYS[k % 3], CROWD_DAYS[k % 3 + 1]):
            c.event(e, at(day, 13, k), "search", [STAR], ["name"])
            c.event(e, at(day, 13, k, 30), "view", [STAR], list(fields))


def _news_company():
    c = base_company()
    _crowd(c, CROWD)
    for e in AGENTS[1:]:  # the others' ordinary day 9
        c.event(e, at(ACT_DAY, 10), "view", ["c100"], ["name"])
    return c


def _vip(store) -> list[dict]:
    return [f for f in findings(store) if f["detector"] == "vip"]


def _looked_up_by_the_insider():
    """The news company, and the insider's look-up of the star on the act's day."""
    c = _news_company()
    act = c.event(INSIDER, at(ACT_DAY, 11), "view", [STAR], ["name", "orders"], act=True)
    return c, act


def test_a_customer_the_crowd_looked_up_becomes_a_public_figure(built_once):
    c, act = _looked_up_by_the_insider()
    store = detected(c, built_once)
    vip = _vip(store)
    assert [(f["employee_id"], f["customer_ids"], f["event_ids"]) for f in vip] == [
        (INSIDER, [STAR], [act])
    ]
    assert (
        f"customer {STAR}, a public figure ({len(CROWD)} staff of 2 groups looked them up with no case on {2 * len(CROWD)} days"
        in vip[0]["reason"]
    )
    assert vip[0]["reason"].startswith("opened ")
    # What calibrate shows for the day: one learned figure, the context's three flagged.
    found = learned(
        store, DetectionConfig(), step_of(DetectionConfig(), at(ACT_DAY, 0).date()), None
    )
    assert found.public_figures is not None
    assert (found.public_figures.learned, found.public_figures.flagged) == (1, 3)
    assert found.public_figures.max_staff == len(CROWD)
    store.close()


def test_the_crowd_itself_is_not_judged_before_she_was_famous(built_once):
    """Nothing before a stranger's look-up made her famous: the first strangers are not
    findings (the future never teaches a day). Read from the replay the insider's look-up
    is judged in (shared with the test above): it comes after every look-up of the
    crowd's, so it cannot have taught their days anything either."""
    c, act = _looked_up_by_the_insider()
    crowd = [r["time"] for r in c.access if r["customer_ids"] == [STAR] and r["event_id"] != act]
    assert crowd and max(crowd) < at(ACT_DAY, 0)
    store = detected(c, built_once)
    assert [
        f for f in _vip(store) if f["customer_ids"] == [STAR] and act not in f["event_ids"]
    ] == []
    store.close()


def test_switched_off_only_the_flagged_vips_count(tmp_path):
    c = _news_company()
    c.event(INSIDER, at(ACT_DAY, 11), "view", [STAR], ["name", "orders"], act=True)
    off = DetectionConfig(public_figures=PublicFigures(enabled=False))
    store, _ = detect(c, tmp_path, off)
    assert [f for f in _vip(store) if f["customer_ids"] == [STAR]] == []
    store.close()


@pytest.mark.parametrize("groups", [1, 2])
def test_one_group_is_not_a_crowd(tmp_path, groups):
    """Strangers of one peer group (a team's habit) never make a customer famous."""
    c = base_company()
    _crowd(c, AGENTS[4:10] if groups == 1 else CROWD)
    c.event(INSIDER, at(ACT_DAY, 11), "view", [STAR], ["name", "orders"], act=True)
    store, _ = detect(c, tmp_path)
    assert bool([f for f in _vip(store) if f["customer_ids"] == [STAR]]) == (groups == 2)
    store.close()


def test_a_customer_worked_under_cases_by_many_hands_is_not_famous(tmp_path):
    """A disputed order handled by several agents, each under a case, who also glance at
    the customer without one: they served her, so they are no strangers."""
    c = base_company()
    for k, e in enumerate(CROWD):
        day = CROWD_DAYS[k % 3]
        case_id = f"dispute-{k}"
        c.cases.append({"case_id": case_id, "customer_id": STAR, "employee_id": e,
                        "opened_at": at(day, 12), "closed_at": at(day, 12, 40)})  # fmt: skip
        c.event(e, at(day, 12, 5), "view", [STAR], ["name", "orders"], case_id=case_id)
        for later in (1, 2):  # follow-ups with no case
            c.event(e, at(day + later, 15, k), "view", [STAR], ["name", "orders"])
    c.event(INSIDER, at(ACT_DAY, 11), "view", [STAR], ["name", "orders"], act=True)
    store, _ = detect(c, tmp_path)
    assert [f for f in _vip(store) if f["customer_ids"] == [STAR]] == []
    store.close()


def test_a_figure_only_listed_by_a_small_search_weighs_less_than_one_opened(tmp_path):
    """A famous name among a search's three results is a third of a snoop; the same
    search followed by her record is a snoop in full."""
    c = _news_company()
    c.event(INSIDER, at(ACT_DAY, 11), "search", [STAR, "c201", "c202"], ["name"], act=True)
    listed, _ = detect(c, tmp_path / "listed")
    c2 = _news_company()
    c2.event(INSIDER, at(ACT_DAY, 11), "search", [STAR, "c201", "c202"], ["name"], act=True)
    view = c2.event(INSIDER, at(ACT_DAY, 11, 1), "view", [STAR], ["name", "orders"], act=True)
    opened, _ = detect(c2, tmp_path / "opened")
    (a,) = [f for f in _vip(listed) if f["customer_ids"] == [STAR]]
    (b,) = [f for f in _vip(opened) if f["customer_ids"] == [STAR]]
    assert a["reason"].startswith("listed ") and b["reason"].startswith("opened ")
    # "opened" is known only at the view: the finding is at the view and cites it, not
    # the search that listed her a minute before
    assert b["event_ids"] == [view]
    assert a["time"] < b["time"]
    assert a["points"] == pytest.approx(b["points"] / 3)
    listed.close()
    opened.close()


def test_the_settings_are_a_documented_section():
    cfg = msgspec.convert({"public_figures": {"min_staff": 5}}, DetectionConfig)
    assert cfg.public_figures.min_staff == 5 and cfg.public_figures.min_groups == 2


def test_a_figure_many_staff_serve_under_cases_weighs_less(tmp_path):
    """A public figure the company is in frequent contact with (a second team's twelve
    agents each served her under a case, where an ordinary customer has two or three)
    draws case-less look-ups from work too: the insider's look-up of her weighs the
    company's bar over her twelve. The second team works the same cases in both companies,
    in one about her, in the other about an ordinary customer: the peers' days are alike."""
    desk = [f"b{i:02d}" for i in range(12)]

    def company(serve: bool):
        c = _news_company()
        for i, e in enumerate(desk):
            c.employees.append({"employee_id": e, "surname": f"Desk{i}", "role": "cs_agent",
                                "team": "cs-2", "hired_on": "2020-01-01",
                                "home_postcode": f"HQ{i} 1AA"})  # fmt: skip
            who, day = (STAR if serve else "c010"), 3 + i % 4
            c.cases.append({"case_id": f"call-{i}", "customer_id": who, "employee_id": e,
                            "opened_at": at(day, 9), "closed_at": at(day, 9, 30)})  # fmt: skip
            c.event(e, at(day, 9, 5), "view", [who], ["name", "orders"], case_id=f"call-{i}")
        c.event(INSIDER, at(ACT_DAY, 11), "view", [STAR], ["name", "orders"], act=True)
        return c

    alone, _ = detect(company(False), tmp_path / "alone")
    busy, _ = detect(company(True), tmp_path / "served")
    (a,) = [f for f in _vip(alone) if f["customer_ids"] == [STAR]]
    (b,) = [f for f in _vip(busy) if f["customer_ids"] == [STAR]]
    assert "served them under cases" not in a["reason"]
    assert f"; {len(desk)} staff served them under cases, more than the company's " in b["reason"]
    weight = float(b["reason"].rsplit("weighs ", 1)[1].rstrip(")"))
    assert 0 < weight < 1
    assert b["points"] == pytest.approx(a["points"] * weight, rel=0.02)
    alone.close()
    busy.close()
