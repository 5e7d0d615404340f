"""case_mismatch weighs a day by how far past the peers' line it went: each multiple of
the line crossed (1x, 2x, 4x, 8x) is a further finding, so a heavy skim under someone
else's case outranks a light one just past the line."""

from __future__ import annotations

from pathlib import Path

from detect_scenarios import ACT_DAY, INSIDER, at, continued, detect, scenario
from insiderwatch.detect import DetectionConfig
from insiderwatch.detect.base import DETECTORS


def _skim(extra: int, alone: bool = False):
    """The case_mismatch scenario (three views under a colleague's case about someone
    else) with ``extra`` more views under the same case later that day; ``alone``, the
    insider the only one of their role (judged against all staff working alike)."""
    c = scenario("case_mismatch")
    if alone:
        (me,) = [e for e in c.employees if e["employee_id"] == INSIDER]
        me["role"] = "coach"
    for k in range(extra):
        c.event(INSIDER, at(ACT_DAY, 13, k), "view", [f"c{230 + k:03d}"], ["name", "address"],
                case_id="k-cover", act=True)  # fmt: skip
    return c


def _found(store) -> list[tuple]:
    return store.con.execute(
        "SELECT employee_id, points, severity, event_ids, time, reason FROM findings"
        " WHERE detector = 'case_mismatch' ORDER BY len(event_ids)"
    ).fetchall()


def test_a_heavy_skim_weighs_more_than_a_light_one_by_the_multiples_it_crosses(built_once):
    cfg = DetectionConfig().detector_config(DETECTORS.get("case_mismatch")())
    # The skim shows an address, which no colleague shows under a case about someone else:
    # each finding of that set's line weighs sensitive_weight times the points.
    points = cfg.points * cfg.sensitive_weight
    light = continued(_skim(0), built_once)
    [(emp, light_points, severity, evidence, *_)] = _found(light)
    light.close()
    line = len(evidence)  # the look-up that crossed the line is the last one cited
    assert emp == INSIDER and light_points == points and severity == "low"
    assert 1 < line <= 3

    c = _skim(8 * line)
    heavy = continued(c, built_once)
    rows = _found(heavy)
    heavy.close()
    # One finding per multiple crossed, each citing the look-ups up to its crossing, none
    # later than the time it fires.
    assert [len(r[3]) for r in rows] == [line, 2 * line, 4 * line, 8 * line]
    assert [r[3] for r in rows] == [sorted(c.act)[: len(r[3])] for r in rows]
    assert [r[2] for r in rows] == ["low", "medium", "high", "high"]
    times = {e["event_id"]: e["time"] for e in c.access}
    assert all(max(times[e] for e in r[3]) == r[4] for r in rows)
    assert sum(r[1] for r in rows) == 4 * points


def test_a_line_borrowed_from_all_staff_has_no_multiples(tmp_path: Path):
    # The only one of their role is judged against all staff working alike: past that
    # line is a finding, but a guess for a group too small to know weighs no more for
    # being passed eight times over (a lone supervisor taking up casework does).
    store = detect(_skim(40, alone=True), tmp_path)
    rows = _found(store)
    store.close()
    assert len(rows) == 1 and len(rows[0][3]) < 40
    assert "staff working alike" in rows[0][5]
