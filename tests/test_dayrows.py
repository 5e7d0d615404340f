"""A live step writes its employees' day of revisit_days and book_days by difference
(detect/dayrows.py): unchanged rows stay as stored, gone ones are deleted, changed
ones replaced, and the end equals one replay."""

from __future__ import annotations

from detect_scenarios import ACT_DAY, AGENTS, at, base_company
from insiderwatch.detect import DetectionConfig
from insiderwatch.detect.config import Explanation
from test_scope import arrivals  # noqa: F401  (the fixture)

D = ACT_DAY
A = AGENTS[2]
_ROWS = """SELECT customer_id, rowid, time FROM revisit_days
           WHERE employee_id = ? AND day = ? ORDER BY customer_id"""


def test_a_step_writes_only_the_revisits_that_changed(arrivals):  # noqa: F811
    c = base_company()
    for e in AGENTS:
        c.event(e, at(D, 9), "view", ["c100"], ["name"])
    c.event(A, at(D, 10), "view", ["c230"], ["name"])
    c.event(A, at(D, 10, 30), "view", ["c231"], ["name"])
    # A case of c231 opens after the first step: it explains the 10:30 look-up (slack).
    c.cases.append({"case_id": "k-late", "customer_id": "c231", "employee_id": A,
                    "opened_at": at(D, 10, 40), "closed_at": at(D, 12)})  # fmt: skip
    c.event(AGENTS[7], at(D, 11), "view", ["c121"], ["name"])
    late = c.event(A, at(D, 9, 50), "view", ["c230"], ["name"])
    c.event(AGENTS[5], at(D, 12), "view", ["c122"], ["name"])
    live = arrivals(c, DetectionConfig(explanation=Explanation(slack_before_minutes=15)))
    day = at(D, 0).date()
    live.arrive(lambda r: r["time"] <= at(D, 10, 30) and r["event_id"] != late)
    before = live.store.con.execute(_ROWS, [A, day]).fetchall()
    assert [r[0] for r in before] == ["c100", "c230", "c231"]
    step = live.arrive(lambda r: r["time"] <= at(D, 11) and r["event_id"] != late)
    assert step.rewound is None and step.employees == 2  # the case's employee, AGENTS[7]
    # c231's look-up is now the case's: its row is gone; c230's stays as it was stored.
    assert live.store.con.execute(_ROWS, [A, day]).fetchall() == before[:2]
    step = live.arrive(lambda r: r["event_id"] == late)  # an earlier look-up of c230
    assert step.rewound is None and step.employees == 1
    kept, row = live.store.con.execute(_ROWS, [A, day]).fetchall()
    assert kept == before[0] and row[0] == "c230" and row[2] == at(D, 9, 50)
    live.arrive(lambda r: True)
    live.assert_replay()
