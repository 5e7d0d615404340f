"""What a step learns from earlier days is learned once a day (detect/daily.py): the day's
later live steps take it as it was, a context table changed mid-day (a late case opened
before the day started) makes it learned again, and the end equals one replay."""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from pathlib import Path

import msgspec

from detect_scenarios import Company, at
from insiderwatch.alerts import read_alert_history
from insiderwatch.detect import DetectionConfig, run_detection
from insiderwatch.detect.daily import TOKEN_META
from insiderwatch.detect.history import read_findings
from insiderwatch.detect.kin import COMMON_SURNAMES
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from sample_data import KEY_HEX, folder_digest

KEY = HashKey(bytes.fromhex(KEY_HEX))
DESK = [f"ag{i}" for i in range(6)]  # support: cases about any customer
SELLERS = [f"sd{i}" for i in range(3)]  # seller support: buyers of sellers s0 and s1
DAYS = 8
HOUR = dt.timedelta(hours=1)
PORTFOLIO_BUYERS = ("c032", "c042")  # buyers of s2 the seller desk looks up on the last day


def _case(c: Company, e: str, cust: str, opened: dt.datetime) -> str:
    case_id = f"k{len(c.cases):05d}"
    c.cases.append({"case_id": case_id, "customer_id": cust, "employee_id": e,
                    "opened_at": opened, "closed_at": opened + HOUR})  # fmt: skip
    return case_id


def company() -> tuple[Company, list[dict]]:
    """The company, and the seller desk's cases about buyers of s2 that arrive late: with
    them, s2 is in the desk's portfolio on the last day; without, it is not."""
    rng = random.Random(3)
    c = Company()
    for i, (e, team) in enumerate([*((e, "desk-1") for e in DESK),
                                   *((e, "sellers-1") for e in SELLERS)]):  # fmt: skip
        c.employees.append({"employee_id": e, "surname": f"Staff{i}", "role": "agent",
                            "team": team, "hired_on": "2020-01-01",
                            "home_postcode": f"HP{i} 1AA"})  # fmt: skip
    for i in range(400):  # customer i bought from seller s(i % 10)
        c.customers.append({"customer_id": f"c{i:03d}", "surname": f"Cust{i}",
                            "postcode": f"PC{i % 50} 2BB"})  # fmt: skip
        c.orders.append({"order_id": f"o{i}", "customer_id": f"c{i:03d}",
                         "seller_id": f"s{i % 10}", "ordered_at": at(1, 0) - 30 * 24 * HOUR})  # fmt: skip
    for day in range(1, DAYS + 1):
        for team, pick in ((DESK, lambda: rng.randrange(400)),
                           (SELLERS, lambda: 10 * rng.randrange(40) + rng.randrange(2))):  # fmt: skip
            for k, e in enumerate(team):
                for n in range(4):
                    cust = f"c{pick():03d}"
                    case_id = _case(c, e, cust, at(day, 9 + 2 * n, k))
                    c.event(e, at(day, 9 + 2 * n, k + 5), "view", [cust], ["name"],
                            case_id=case_id)  # fmt: skip
    c.event(SELLERS[1], at(DAYS, 13), "view", [PORTFOLIO_BUYERS[1]], ["name"])
    c.event(SELLERS[0], at(DAYS, 17), "view", [PORTFOLIO_BUYERS[0]], ["name"])
    buyers = [f"c{10 * k + 2:03d}" for k in range(40)]
    buyers = [b for b in buyers if b not in PORTFOLIO_BUYERS]
    late = len(c.cases)
    for n in range(60):  # no access under them: they change no earlier day's explanation
        _case(c, SELLERS[n % 3], buyers[n % len(buyers)], at(2 + n % (DAYS - 2), 20))
    return c, c.cases[late:]


def _write(folder: Path, table: str, rows: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"{table}.jsonl").open("w") as fh:
        for row in rows:
            fh.write(json.dumps(row, default=lambda v: v.isoformat()) + "\n")
    return folder


def _why(store: Store, event_id: str) -> str | None:
    return store.scalar("SELECT explanation FROM access_explained WHERE event_id = ?", [event_id])


def _live(tmp_path: Path, c: Company, full: Path, held_back: tuple[str, ...]):
    """A live store holding the dataset's context but its access and the ``held_back``
    tables (the caller loads their earlier part), and a step that loads the access
    events in [since, until) and detects, as the service does."""
    context = tmp_path / "context"
    context.mkdir()
    for path in full.iterdir():
        if path.name not in ("access.jsonl", *(f"{t}.jsonl" for t in held_back)):
            (context / path.name).write_bytes(path.read_bytes())
    store = Store(tmp_path / "live.duckdb", threads=1)
    pieces = iter(range(100))

    def arrive(until: dt.datetime, since: dt.datetime | None = None) -> None:
        rows = [r for r in c.access if r["time"] < until and (since is None or r["time"] >= since)]
        ingest_dataset(store, _write(tmp_path / f"a{next(pieces)}", "access", rows), KEY)
        run_detection(store, DetectionConfig(), KEY)

    return store, context, arrive


def _assert_equals_one_replay(store: Store, full: Path, built_once) -> None:
    """The live store explains, finds and alerts exactly as one replay of the dataset
    (built once per run for each dataset: two tests replay the same company)."""

    def build(folder: Path) -> None:
        with Store(folder / "once.duckdb", threads=1) as once:
            ingest_dataset(once, full, KEY)
            run_detection(once, DetectionConfig(), KEY)

    built = built_once(f"daily-replay-{folder_digest(full)}", build)
    once = Store(built / "once.duckdb", threads=1, read_only=True)
    why = "SELECT event_id, explanation FROM access_explained ORDER BY event_id"
    assert store.con.execute(why).fetchall() == once.con.execute(why).fetchall()
    assert read_findings(store.con) == read_findings(once.con)
    assert read_alert_history(store) == read_alert_history(once)
    store.close()
    once.close()


def test_a_late_case_before_the_day_relearns_the_portfolio_and_equals_a_replay(
    tmp_path, built_once
):
    c, late = company()
    full = c.write(tmp_path / "dataset")
    store, context, arrive = _live(tmp_path, c, full, ("cases",))
    _write(context, "cases", [k for k in c.cases if k not in late])
    ingest_dataset(store, context, KEY)

    arrive(at(DAYS, 12))  # the history, and the last day's morning: the day is learned
    token = store.meta(TOKEN_META)
    arrive(at(DAYS, 16), at(DAYS, 12))
    assert store.meta(TOKEN_META) == token  # a later step of the day took what it learned
    look = next(r["event_id"] for r in c.access if r["customer_ids"] == [PORTFOLIO_BUYERS[1]])
    assert _why(store, look) != "portfolio"  # s2 is in no portfolio yet

    # The seller desk's cases about s2's buyers arrive late (opened before the day).
    ingest_dataset(store, _write(tmp_path / "k1", "cases", late), KEY)
    arrive(at(DAYS + 1, 0), at(DAYS, 16))
    assert store.meta(TOKEN_META) != token  # learned again
    later = next(r["event_id"] for r in c.access if r["customer_ids"] == [PORTFOLIO_BUYERS[0]])
    assert (_why(store, look), _why(store, later)) == ("portfolio", "portfolio")

    _assert_equals_one_replay(store, full, built_once)


def test_a_new_connection_learns_the_day_again(tmp_path, built_once):
    """Temp tables die with their connection: a step on a store opened afresh learns the
    day again, with the same explanations as the first connection's steps."""
    c, _ = company()
    full = c.write(tmp_path / "dataset")
    store = Store(tmp_path / "iw.duckdb", threads=1)
    ingest_dataset(store, full, KEY)
    run_detection(store, DetectionConfig(), KEY, until=at(DAYS, 12))
    token = store.meta(TOKEN_META)
    store.close()
    store = Store(tmp_path / "iw.duckdb", threads=1)
    run_detection(store, DetectionConfig(), KEY)
    assert store.meta(TOKEN_META) not in (None, token)
    _assert_equals_one_replay(store, full, built_once)


def test_a_detectors_tables_of_earlier_days_are_made_once_a_day(tmp_path):
    """``Detector.daily`` tables are made by the day's first step and read, as they are,
    by its later steps; the next day's first step makes them afresh."""
    c, _ = company()
    full = c.write(tmp_path / "dataset")
    store = Store(tmp_path / "iw.duckdb", threads=1)
    ingest_dataset(store, full, KEY)
    base = DetectionConfig()  # detectors judge from day 2 on
    cfg = msgspec.structs.replace(
        base, routine=msgspec.structs.replace(base.routine, learning_days=1)
    )
    run_detection(store, cfg, KEY, until=at(DAYS - 1, 12))
    marker = "INSERT INTO daily_fixation_staff VALUES ('marker', 'none', 0)"
    count = "SELECT count(*) FROM daily_fixation_staff WHERE employee_id = 'marker'"
    store.con.execute(marker)
    run_detection(store, cfg, KEY, until=at(DAYS - 1, 16))  # the same day: kept
    assert store.scalar(count) == 1
    run_detection(store, cfg, KEY, until=at(DAYS, 12))  # the next day: made again
    assert store.scalar(count) == 0
    store.close()


class _Statements:
    """A store connection that keeps the text of every statement it runs."""

    def __init__(self, con):
        self._con, self.seen, self.detectors = con, [], {}

    def __getattr__(self, name):
        return getattr(self._con, name)

    def execute(self, sql, *args):
        self.seen.append(sql)
        if args and isinstance(args[0], dict) and "detector" in args[0]:
            self.detectors[args[0]["detector"]] = sql
        return self._con.execute(sql, *args)


def test_a_days_later_steps_read_no_order_and_a_new_order_is_seen_at_once(tmp_path, built_once):
    """The portfolios' buyers (and an off-hours rule's hours, and the surnames too common
    to tell a relative by) are learned with the day: its later steps never scan the
    orders (nor earlier days' flows, nor count the customers' surnames) again, and an order
    loaded mid-day (a context table changed) is learned at the next step, which explains
    the buyer's look-up after it as a replay does."""
    c, _ = company()
    newcomer = "c005"  # a buyer of s5 only: in no portfolio (the seller desk's is s2)
    c.event(SELLERS[2], at(DAYS, 15), "view", [newcomer], ["name"])
    order = {"order_id": "o-new", "customer_id": newcomer, "seller_id": "s2",
             "ordered_at": at(DAYS, 13)}  # fmt: skip
    full = c.write(tmp_path / "dataset")
    _write(full, "orders", [*c.orders, order])
    store, context, arrive = _live(tmp_path, c, full, ("orders",))
    _write(context, "orders", c.orders)
    ingest_dataset(store, context, KEY)

    arrive(at(DAYS, 12))  # the day's first step learns the buyers
    recorder = _Statements(store.con)
    store.con = recorder
    arrive(at(DAYS, 14), at(DAYS, 12))
    store.con = recorder._con
    assert recorder.seen  # the step ran, and none of its statements read the orders
    assert not [sql for sql in recorder.seen if re.search(r"\b(FROM|JOIN)\s+orders\b", sql)]
    # nor does the off-hours rule read earlier days' flows again (RuleDetector.daily)
    night = recorder.detectors["rule:night-contact-lookups"]
    assert "daily_rules_off_hours_" in night and "routine_days" not in night
    # nor count the customers' surnames (kin.py's guards read the day's table)
    assert not [sql for sql in recorder.seen if f"TEMP TABLE {COMMON_SURNAMES}" in sql]
    assert [sql for sql in recorder.seen if COMMON_SURNAMES in sql]  # the guards read it

    ingest_dataset(store, _write(tmp_path / "o1", "orders", [order]), KEY)
    arrive(at(DAYS + 1, 0), at(DAYS, 14))
    look = next(r["event_id"] for r in c.access if r["customer_ids"] == [newcomer]
                and r["employee_id"] == SELLERS[2])  # fmt: skip
    assert _why(store, look) == "portfolio"

    _assert_equals_one_replay(store, full, built_once)
