"""The one definition of a case-less look-up (detect/revisits.py) and what each detector
that counts case-less look-ups leaves out of it, on purpose: revisits counts them all, the
allowance never spends on a team portfolio's look-up and also spends on a case-less update
(but not on a transaction on a customer opened before it), shared_harvest takes neither the
portfolio's nor the relationship book's as harvest, and exfiltration carries only what
nothing explained (or a follow-up), of any breadth."""

from __future__ import annotations

import duckdb
import pytest

from insiderwatch.detect import allowance, revisits
from insiderwatch.detect.detectors import exfiltration, shared_harvest

TARGETED = 3
TRANSACTION = 4  # the CASES row below that is an update of a customer opened before it

# (action, customers shown, explanation) -> counted by revisits, allowance, shared_harvest,
# exfiltration
CASES = [
    ("view", 1, None, (True, True, True, True)),
    ("search", TARGETED, None, (True, True, True, True)),
    ("search", TARGETED + 1, None, (False, False, False, True)),  # broad: only carried
    # an update opens the record: the allowance spends on it (not the others) ...
    ("update", 1, None, (False, True, False, False)),
    # ... unless it is a transaction on a customer opened earlier that day (work)
    ("update", 1, None, (False, False, False, False)),
    ("export", 1, None, (False, False, False, False)),
    ("view", 1, "allowance", (True, True, True, False)),
    ("view", 1, "allowance:role", (True, True, True, False)),
    ("view", 1, "portfolio", (True, False, False, False)),
    ("view", 1, "book:relationship", (True, True, False, False)),
    ("view", 1, "book:desk", (True, True, False, False)),  # a client the desk shares
    ("view", 1, "followup", (True, True, True, True)),
    ("view", 1, "own_case", (False, False, False, False)),
    ("view", 1, "book", (False, False, False, False)),  # the employee's own case book
    ("search", 1, "routine", (False, False, False, False)),
    ("view", 1, "policy:auditor", (False, False, False, False)),
]


@pytest.fixture(scope="module")
def con():
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE r (id INT, event_id VARCHAR, action VARCHAR, breadth INT,"
        " customer_ids VARCHAR[], explanation VARCHAR, explained BOOLEAN, policy VARCHAR)"
    )
    for i, (action, n, why, _) in enumerate(CASES):
        con.execute(
            "INSERT INTO r VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
            [i, f"e{i}", action, n, [f"c{k}" for k in range(n)], why, why is not None],
        )
    # the allowance's updates that are transactions (detect/allowance.py)
    con.execute(f"CREATE TABLE step_transactions AS SELECT 'e{TRANSACTION}' AS event_id")
    return con


@pytest.mark.parametrize(
    ("column", "relation", "sql"),
    [
        (0, "r AS t", revisits.CASELESS_LOOKUP),  # over step_touch
        (1, "r", allowance.SPENDING_LOOKUP),  # over step_events
        (2, "r AS a JOIN r AS x USING (id)", shared_harvest._CASELESS),  # access, explained
        (3, "r AS t", exfiltration._CARRIED),  # over step_touch
    ],
    ids=["revisits", "allowance", "shared_harvest", "exfiltration"],
)
def test_each_detector_counts_its_case_less_look_ups(con, column, relation, sql):
    params = {"targeted": TARGETED} if "$targeted" in sql else {}
    rows = con.execute(f"SELECT {sql} FROM {relation} ORDER BY id", params).fetchall()
    assert [v for (v,) in rows] == [case[3][column] for case in CASES]


def test_excluding_an_unknown_explanation_fails():
    with pytest.raises(ValueError, match="portfolo"):
        revisits.caseless_lookup_sql(excluding=("portfolo",))
