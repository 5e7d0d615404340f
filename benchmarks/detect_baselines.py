"""The two baselines the detection benchmark scores beside insiderwatch, on the same store.

* **Isolation Forest** on employee-day features: the reference baseline of insider-threat
  papers. Its alerts are employee-days ranked by anomaly score, standing from the day's
  last event.
* **Fixed rules**, what a team writes on day one without any learning: more than N
  customers in a day without a case, any outbound action over M records, any VIP look-up
  without a case. An employee-day is an alert from the moment its first rule fired; days
  are ranked by how many rules fired, then by customers without a case.

Neither knows any company's vocabulary: both read only the contract's columns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from detect_scoring import Ranked

OUTBOUND = "('export', 'download', 'print', 'copy', 'message')"
FEATURES = f"""
SELECT employee_id, time::DATE AS day, max(time) AS last_time,
       count(*) AS events,
       count(*) FILTER (WHERE action = 'view') AS views,
       count(*) FILTER (WHERE action = 'search') AS searches,
       count(*) FILTER (WHERE action IN {OUTBOUND}) AS outbound,
       coalesce(sum(record_count) FILTER (WHERE action IN {OUTBOUND}), 0) AS outbound_records,
       count(DISTINCT c) AS customers,
       count(*) FILTER (WHERE hour(time) < 7 OR hour(time) >= 20) AS off_hours,
       count(*) FILTER (WHERE case_id IS NULL) AS without_case,
       count(DISTINCT app) AS apps,
       count(DISTINCT device_id) AS devices
FROM (SELECT *, unnest(CASE WHEN len(customer_ids) = 0 THEN [NULL] ELSE customer_ids END) AS c FROM access)
GROUP BY ALL
ORDER BY employee_id, day  -- a fixed row order keeps the forest's fit repeatable
"""


def isolation_forest(con) -> Ranked:
    from sklearn.ensemble import IsolationForest

    table = con.sql(FEATURES).to_arrow_table()
    names = [c for c in table.column_names if c not in ("employee_id", "day", "last_time")]
    x = np.log1p(np.column_stack([table.column(c).to_numpy().astype(float) for c in names]))
    anomaly = -IsolationForest(n_estimators=200, random_state=0).fit(x).score_samples(x)
    order = np.argsort(-anomaly, kind="stable")
    emps = table.column("employee_id").to_pylist()
    last = table.column("last_time").to_pylist()
    return [(emps[i], [last[i]]) for i in order]


@dataclass(frozen=True)
class FixedRules:
    customers_without_case: int = 50  # distinct customers a day
    outbound_records: int = 100  # records in one export, download, print, copy or message

    def describe(self) -> str:
        return (
            f"> {self.customers_without_case} customers/day without a case, any outbound "
            f"action > {self.outbound_records} records, any VIP look-up without a case"
        )

    def sql(self) -> str:
        n, m = self.customers_without_case, self.outbound_records
        return f"""
WITH ev AS (SELECT employee_id, time, time::DATE AS day, action, record_count, case_id,
                   customer_ids FROM access),
nocase AS (  -- first moment of the day each customer was touched without a case
  SELECT employee_id, day, c, min(time) AS t
  FROM ev, unnest(customer_ids) AS u(c) WHERE case_id IS NULL GROUP BY ALL),
fired AS (
  SELECT employee_id, day, list_sort(list(t))[{n + 1}] AS t, count(*) AS nocase
  FROM nocase GROUP BY ALL HAVING count(*) > {n}
  UNION ALL
  SELECT employee_id, day, min(time), 0 FROM ev
  WHERE action IN {OUTBOUND} AND record_count > {m} GROUP BY ALL
  UNION ALL
  SELECT n.employee_id, n.day, min(n.t), 0 FROM nocase n
  JOIN customers k ON k.customer_id = n.c WHERE k.is_vip GROUP BY ALL)
SELECT employee_id, min(t) AS t
FROM fired GROUP BY employee_id, day
ORDER BY count(*) DESC, max(nocase) DESC, min(t), employee_id
"""

    def rank(self, con) -> Ranked:
        return [(emp, [t]) for emp, t in con.execute(self.sql()).fetchall()]
