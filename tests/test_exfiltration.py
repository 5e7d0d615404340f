"""The exfiltration detector's weighing of bulk prints and local exports that no routine
flow covers: by how rare bulk outbound days are among the peer group's earlier days."""

from __future__ import annotations

import math

from detect_scenarios import ACT_DAY, AGENTS, at, base_company
from insiderwatch.detect import DetectionConfig, run_detection
from insiderwatch.detect.detectors.exfiltration import Config
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from sample_data import KEY_HEX

KEY = HashKey(bytes.fromhex(KEY_HEX))
SENDER = AGENTS[1]
REPORT = [f"c{3 + k:03d}" for k in range(50)]  # 50 customers, no case, one print


def _company(peers_print: bool):
    """Twelve agents; with ``peers_print`` every agent but the sender prints a report of
    50 customers on every other day, each from a tool of their own (so no flow is the
    group's routine). On the act day the sender prints one."""
    c = base_company()
    if peers_print:
        for day in range(1, ACT_DAY):
            for i, e in enumerate(AGENTS):
                if e != SENDER and (day + i) % 2 == 0:
                    c.event(e, at(day, 15), "print", REPORT, ["name", "orders"],
                            app=f"report-tool-{i}", destination="printer")  # fmt: skip
    for e in AGENTS[2:]:  # an ordinary act day for the others
        c.event(e, at(ACT_DAY, 10), "view", ["c100"], ["name"])
    sent = c.event(SENDER, at(ACT_DAY, 15), "print", REPORT, ["name", "orders"],
                   app="report-tool-x", destination="printer", act=True)  # fmt: skip
    return c, sent


def _print_finding(tmp_path, peers_print: bool) -> tuple[float, str]:
    c, sent = _company(peers_print)
    c.write(tmp_path / "dataset")
    with Store(tmp_path / "iw.duckdb", threads=1) as store:
        ingest_dataset(store, tmp_path / "dataset", KEY)
        run_detection(store, DetectionConfig(), KEY)
        ((points, reason),) = store.con.execute(
            "SELECT points, reason FROM findings WHERE detector = 'exfiltration' "
            "AND list_contains(event_ids, ?)",
            [sent],
        ).fetchall()
    return points, reason


def test_a_print_no_peer_makes_weighs_in_full(tmp_path):
    points, reason = _print_finding(tmp_path, peers_print=False)
    assert math.isclose(points, Config().internal_points * (1 + math.log10(50) / 2))
    assert "print 50 customer record(s) to printer (internal) with no case" in reason
    assert "out on 0.0% of their days" in reason


def test_a_print_the_peers_make_on_half_their_days_weighs_little(tmp_path):
    """The peers (the sender left out) print in bulk on about half of their days: the
    sender's print weighs log(share) / log(full_weight_tail) of a rare one."""
    points, reason = _print_finding(tmp_path, peers_print=True)
    full = Config().internal_points * (1 + math.log10(50) / 2)
    assert points < full / 4
    share = float(reason.split("out on ")[1].split("%")[0]) / 100
    assert 0.3 < share < 0.6
    assert math.isclose(points, full * math.log(share) / math.log(0.01), rel_tol=0.01)
