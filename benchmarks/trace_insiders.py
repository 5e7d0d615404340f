"""Why an insider was missed: each insider of a kept benchmark company, read back from its store.

`bench_detect.py --keep DIR` keeps each company's dataset, its ground truth (`truth.json`)
and its store under `DIR/<profile>-<seed>`. For every insider of such a folder this prints
their malicious accesses counted by the explanation detection gave each
(`access_explained`; `-` for none) and their findings per detector, points summed; with
`--events`, every malicious access (time, action, app, fields, customers shown, case id,
explanation) and every finding's reason. An insider with no finding and their accesses
explained, or left unexplained, is where to look: which explanation took them, or which
detector saw them and why it stayed quiet.

    .venv/bin/python benchmarks/trace_insiders.py DIR/holdout-bank-12500 [more folders]
        [--scenario ex_partner_snoop,book_snoop] [--events]

The store is opened read-only, so a folder can be read while another company is run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import duckdb

TRUTH = "truth.json"  # what bench_detect.py --keep writes beside the dataset
STORE = "iw.duckdb"

_EXPLAINED = """
SELECT coalesce(x.explanation, '-') AS explanation, count(*) AS accesses
FROM malicious m LEFT JOIN access_explained x USING (event_id)
GROUP BY ALL ORDER BY accesses DESC, explanation
"""

_FINDINGS = """
SELECT detector, count(*) AS findings, round(sum(points), 1) AS points
FROM findings WHERE employee_id = $emp GROUP BY ALL ORDER BY points DESC, detector
"""

_EVENTS = """
SELECT a.time, a.action, a.app, a.fields, len(a.customer_ids) AS shown,
       a.customer_ids[1:3] AS customers, a.case_id, coalesce(x.explanation, '-') AS explanation
FROM access a JOIN malicious m USING (event_id) LEFT JOIN access_explained x USING (event_id)
ORDER BY a.time, a.event_id
"""

_REASONS = """
SELECT time, detector, round(points, 1) AS points, reason FROM findings
WHERE employee_id = $emp ORDER BY time, detector
"""


def insider_report(con: duckdb.DuckDBPyConnection, insider: dict, events: bool = False) -> dict:
    """One insider of the ground truth read back from the store: their malicious accesses
    per explanation and their findings per detector (plain data); with ``events``, each
    access and each finding's reason too."""
    con.execute("CREATE OR REPLACE TEMP TABLE malicious (event_id VARCHAR)")
    con.executemany("INSERT INTO malicious VALUES (?)", [(e,) for e in insider["event_ids"]])
    emp = {"emp": insider["employee_id"]}
    out = {
        "employee_id": insider["employee_id"],
        "scenario": insider["scenario"],
        "explained": dict(con.execute(_EXPLAINED).fetchall()),
        "findings": {d: (n, p) for d, n, p in con.execute(_FINDINGS, emp).fetchall()},
    }
    if events:
        out["events"] = con.execute(_EVENTS).fetchall()
        out["reasons"] = con.execute(_REASONS, emp).fetchall()
    return out


def trace(folder: Path, scenarios: set[str], events: bool) -> list[dict]:
    """The reports of a kept company's insiders (of ``scenarios`` only, where given)."""
    truth = json.loads((folder / TRUTH).read_text())
    con = duckdb.connect(str(folder / STORE), read_only=True)
    try:
        return [
            insider_report(con, i, events)
            for i in truth["insiders"]
            if not scenarios or i["scenario"] in scenarios
        ]
    finally:
        con.close()


def show(folder: Path, report: dict) -> None:
    findings = ", ".join(f"{d} {n}x {p}" for d, (n, p) in report["findings"].items())
    explained = ", ".join(f"{e} {n}" for e, n in report["explained"].items())
    print(f"{folder.name}  {report['scenario']}  {report['employee_id']}")
    print(f"  accesses by explanation: {explained}")
    print(f"  findings: {findings or 'none'}")
    for row in report.get("events", []):
        print("   ", *row)
    for row in report.get("reasons", []):
        print("   ", *row)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("folders", nargs="+", type=Path, help="kept company folders")
    parser.add_argument("--scenario", default="", help="only these scenarios, comma-separated")
    parser.add_argument("--events", action="store_true", help="every access and finding too")
    args = parser.parse_args()
    scenarios = {s for s in args.scenario.split(",") if s}
    for folder in args.folders:
        for report in trace(folder, scenarios, args.events):
            show(folder, report)


if __name__ == "__main__":
    main()
