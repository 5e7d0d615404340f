"""The allowance's chance line in a group of three: a member past what the others reached,
within what chance draws around their usual, is explained; an insider's line is learned
from his colleagues alone, so his own heavy history never raises it."""

from __future__ import annotations

import math

import pytest

from detect_scenarios import Company, at, detect, explanations, lookups
from insiderwatch.detect import DetectionConfig
from insiderwatch.detect.allowance import learn_allowances
from insiderwatch.detect.calibrate import calibration, policy_yaml
from insiderwatch.detect.learned import step_of
from test_allowance import chance_line

ACT = 11
# The company ends on the day judged: detection never reads a later day, so days after it
# would only cost time.
DAYS = ACT
STEADY, SPARSE, INSIDER = "en0", "en1", "en2"
GROUP = "engineer:platform"


def company(insider_daily: int) -> Company:
    """Three engineers: one looks a customer up two days in three, one every other day,
    and the insider ``insider_daily`` a day from day 2; on day ACT he harvests ten more."""
    c = Company()
    for i, e in enumerate((STEADY, SPARSE, INSIDER)):
        c.employees.append({"employee_id": e, "surname": f"Dev{i}", "role": "engineer",
                            "team": "platform-1", "hired_on": "2020-01-01",
                            "home_postcode": f"H{e} 1AA"})  # fmt: skip
    for i in range(400):
        c.customers.append({"customer_id": f"c{i:03d}", "surname": f"Cust{i}",
                            "postcode": f"PC{i % 40} 2BB"})  # fmt: skip
    n = 0

    def look(e: str, day: int, k: int, act: bool = False) -> None:
        nonlocal n
        n += 1
        c.event(e, at(day, 14, k), "view", [f"c{n % 390:03d}"], ["name", "email"],
                app="console", act=act)  # fmt: skip

    for day in range(1, DAYS + 1):
        for k, e in enumerate((STEADY, SPARSE, INSIDER)):
            c.event(e, at(day, 9, k), "view", [], ["name"], app="console", record_count=0)
        if day % 3:
            look(STEADY, day, 0)
        if day % 2 == 0:
            look(SPARSE, day, 1)
        if day >= 2:
            for k in range(insider_daily):
                look(INSIDER, day, 10 + k)
    for k in range(10):
        look(INSIDER, ACT, 30 + k, act=True)
    return c


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    stores = {d: detect(company(d), tmp_path_factory.mktemp(f"line{d}")) for d in (1, 5)}
    yield stores
    for store in stores.values():
        store.close()


def lines_on(store, day: int) -> dict[str, int]:
    """Each engineer's chance line on ``day`` as the engine learns it."""
    cfg = DetectionConfig()
    learn_allowances(store.con, cfg, step_of(cfg, at(day, 0).date()), into="t_allowance")
    rows = store.con.execute(
        "SELECT who, line FROM t_allowance_line WHERE level = 'peer' AND grp = ?", [GROUP]
    ).fetchall()
    return dict(rows)


def totals_before(store, day: int) -> dict[str, int]:
    rows = store.con.execute(
        "SELECT employee_id, sum(lookups) FROM allowance_days WHERE day < ? GROUP BY ALL",
        [at(day, 0).date()],
    ).fetchall()
    return dict(rows)


def test_the_steady_member_past_the_others_is_explained_within_chance(worlds):
    # In a group of three, what three reached is the least total: the engineer looking a
    # customer up two days in three passes it by chance and was left unexplained; his
    # colleagues' chance line covers him.
    store = worlds[1]
    c = company(1)
    why = explanations(store)
    after = [why[r["event_id"]] for r in lookups(c, STEADY) if r["time"] >= at(8, 0)]
    assert "allowance" in after
    totals = totals_before(store, 9)
    assert totals[STEADY] > min(totals.values())  # past the group's own allowance


@pytest.mark.parametrize("daily", [1, 5])
def test_an_insiders_line_is_his_colleagues_alone(worlds, daily):
    store = worlds[daily]
    lines = lines_on(store, ACT)
    totals = totals_before(store, ACT)
    others = sorted(totals.get(e, 0) for e in (STEADY, SPARSE))
    assert lines[INSIDER] == chance_line(others)


def test_an_insider_cannot_raise_his_own_allowance(worlds):
    # Five look-ups a day instead of one: his own history grows fivefold, his line does
    # not move, and none of his harvest is explained.
    light, heavy = (lines_on(worlds[d], ACT) for d in (1, 5))
    assert light[INSIDER] == heavy[INSIDER]
    assert totals_before(worlds[5], ACT)[INSIDER] > heavy[INSIDER]
    why = explanations(worlds[5])
    harvest = lookups(company(5), INSIDER, acts=True)
    assert harvest and {why[r["event_id"]] for r in harvest} == {None}


def test_a_newcomers_line_is_the_whole_groups(worlds):
    store = worlds[1]
    lines = lines_on(store, ACT)
    totals = sorted(totals_before(store, ACT).values())
    assert lines[""] == chance_line(totals)


def _line_world(
    sizes: dict[str, int], mover_totals: dict[str, int], idle: dict[str, int] | None = None
) -> dict:
    """The chance lines learned from a bare store: groups of ``sizes`` staff, each looking
    up one customer a day for ten days, and a mover who looked up ``mover_totals[g]`` in
    each group g (days 1-5 in the first, 6-10 in the second); ``idle[g]`` more staff of g
    work every day and never look anyone up (half with a row of work, half with none)."""
    import datetime as dt

    import duckdb

    from insiderwatch.detect.allowance import _CHI2_MEDIAN, _LEARN_LINE_SQL
    from insiderwatch.detect.base import execute

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE employee_days (day DATE, peer_group VARCHAR, role VARCHAR, employee_id VARCHAR)"
    )
    con.execute(
        "CREATE TABLE allowance_days (day DATE, peer_group VARCHAR, employee_id VARCHAR, lookups BIGINT)"
    )
    con.execute("CREATE TABLE findings (employee_id VARCHAR, day DATE, critical BOOLEAN)")
    con.execute("CREATE TABLE t (level VARCHAR, grp VARCHAR, staff BIGINT, allowance BIGINT)")
    start = dt.date(2026, 1, 1)
    for g, n in sizes.items():
        con.execute("INSERT INTO t VALUES ('peer', ?, ?, 2)", [g, n + (g in mover_totals)])
        for i in range(n):
            for d in range(10):
                day = start + dt.timedelta(days=d)
                con.execute("INSERT INTO employee_days VALUES (?, ?, 'r', ?)", [day, g, f"{g}{i}"])
                con.execute("INSERT INTO allowance_days VALUES (?, ?, ?, 1)", [day, g, f"{g}{i}"])
    for g, n in (idle or {}).items():
        for i in range(n):
            for d in range(10):
                day = start + dt.timedelta(days=d)
                con.execute("INSERT INTO employee_days VALUES (?, ?, 'r', ?)", [day, g, f"idle{i}"])
                if i % 2:
                    con.execute(
                        "INSERT INTO allowance_days VALUES (?, ?, ?, 0)", [day, g, f"idle{i}"]
                    )
    for k, (g, total) in enumerate(mover_totals.items()):
        for d in range(5 * k, 5 * k + 5):
            day = start + dt.timedelta(days=d)
            con.execute("INSERT INTO employee_days VALUES (?, ?, 'r', 'mover')", [day, g])
            con.execute(
                "INSERT INTO allowance_days VALUES (?, ?, 'mover', ?)", [day, g, total // 5]
            )
    execute(
        con,
        _LEARN_LINE_SQL.format(into="t", chi2=_CHI2_MEDIAN),
        {"b0": start, "day": start + dt.timedelta(days=10), "quantile": 0.9,
         "chance_z": 2.33, "min_employees": 3, "min_days": 1},
    )  # fmt: skip
    return {
        (g, who): line
        for g, who, line in con.execute("SELECT grp, who, line FROM t_line").fetchall()
    }


def test_only_groups_the_cap_can_bind_learn_a_line():
    """A group of 40 needs no line (its 90th percentile is no near-median), and learning
    one would pair every member with every other every day."""
    lines = _line_world({"small": 3, "large": 40}, {})
    assert {g for g, _ in lines} == {"small"}


def test_a_movers_look_ups_in_an_earlier_group_never_set_a_line_in_the_new_one():
    """Totals per group, as the allowance's: what the mover looked up in his old team
    never moves his new colleagues' lines."""
    heavy = _line_world({"a": 3, "b": 2}, {"a": 500, "b": 5})
    light = _line_world({"a": 3, "b": 2}, {"a": 0, "b": 5})
    assert heavy[("b", "b0")] == light[("b", "b0")]
    assert heavy[("b", "b1")] == light[("b", "b1")]


def test_calibrate_shows_the_chance_line_per_employee(worlds):
    # An administrator reviews what was learned: the range of the members' lines, with the
    # group's own allowance, in the calibration and its policy comments.
    store = worlds[1]
    cfg = DetectionConfig()
    cal = calibration(store, cfg)
    (eng,) = [a for a in cal.allowances if a.level == "peer" and a.group == GROUP]
    learn_allowances(store.con, cfg, step_of(cfg, cal.day), into="t_cal")
    rows = store.con.execute(
        "SELECT line FROM t_cal_line WHERE level = 'peer' AND grp = ? AND who <> ''", [GROUP]
    ).fetchall()
    lines = [r[0] for r in rows]
    assert (eng.line_min, eng.line_max) == (min(lines), max(lines))
    assert "chance line per employee (from colleagues' totals, leave-one-out): " in (
        policy_yaml(cal, store)
    )


def test_colleagues_who_never_look_anyone_up_do_not_set_the_usual():
    """Three engineers look a customer up every day; four colleagues never do (a developer
    who never opens the console). The usual a doer's line is drawn around is what the
    colleagues who look customers up make, not a median of zeros: each doer may reach what
    the others reached and a little more, where the zeros' median gave a line of two."""
    lines = _line_world({"g": 3}, {}, idle={"g": 4})
    others = [10, 10, 0, 0, 0, 0]  # a doer's colleagues: two doers, four idle
    assert lines[("g", "g0")] == chance_line(others, doers=[10, 10]) == 13
    assert chance_line(others) == 2  # the old line: the lower median of all six
    # An idle colleague's line (no history of his own to judge) and a newcomer's too.
    assert lines[("g", "idle0")] == chance_line([10, 10, 10, 0, 0, 0], doers=[10, 10, 10])
    assert lines[("g", "")] == chance_line([10] * 3 + [0] * 4, doers=[10] * 3)


def test_the_busiest_of_alike_colleagues_is_within_chance_of_the_others():
    """Three engineers alike, ten look-ups each: one of them is always the highest, and
    one more look-up than the others reached is chance, not a reason to stop explaining
    (the line was capped at what the others reached); a heavy mover's line is still what
    his colleagues' usual makes it, whatever he looked up himself."""
    lines = _line_world({"g": 3}, {})
    assert lines[("g", "g0")] == chance_line([10, 10]) > 10
    heavy = _line_world({"a": 3}, {"a": 500}, idle={"a": 4})
    light = _line_world({"a": 3}, {"a": 5}, idle={"a": 4})
    assert heavy[("a", "mover")] == light[("a", "mover")] == chance_line([10] * 3)


def test_a_line_is_never_far_past_the_busiest_colleague():
    """From one or two doers the spread is a rough guess: a member's line stops one
    deviation past the busiest colleague (60 + 7.7), where the chance line alone would
    reach 78, so an insider's harvest is not explained by a guess."""
    lines = _line_world({"a": 1}, {"a": 60}, idle={"a": 4})
    assert lines[("a", "a0")] == chance_line([60]) == 67
    assert math.floor(60 + 2.33 * math.sqrt(60)) == 78  # what the uncapped line was


def test_a_member_whose_colleagues_look_no_one_up_has_a_line_of_nought():
    """A lone doer among colleagues who never look anyone up has nothing to be within
    chance of: his line is nought, not NULL (a NULL fell through to the line of all staff,
    which counts his own look-ups)."""
    lines = _line_world({"g": 1}, {}, idle={"g": 4})
    assert lines[("g", "g0")] == 0
    assert lines[("g", "")] == chance_line([10]) > 0  # the newcomer's line holds his total
