"""Live equals replay whatever order the events come in: a day cut into steps, each
piece arriving in another order than the replay read them, gives the replay's findings
and alert history byte for byte, even where evidence lists are capped and look-ups tie
in time (a script's look-ups logged at the same second)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import msgspec
import pytest

from detect_scenarios import ACT_DAY, AGENTS, INSIDER, at, base_company
from insiderwatch.alerts import read_alert_history
from insiderwatch.detect import DetectionConfig, run_detection
from insiderwatch.detect.history import read_findings
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from sample_data import KEY_HEX, copy_store, folder_digest

KEY = HashKey(bytes.fromhex(KEY_HEX))
# Evidence capped well below what the harvest cites, so which items are kept matters.
CAP = 4
CFG = DetectionConfig(
    detectors={d: {"max_evidence": CAP} for d in ("volume", "sensitivity", "lookup_pace")}
)


def scripted_harvest():
    """The ordinary days, then the insider's script: bursts of eight case-less look-ups
    of contact details, the eight logged at the same second, through the day."""
    c = base_company()
    n = 0
    for hour in (9, 10, 11, 13, 14, 15):
        for _ in range(8):
            c.event(INSIDER, at(ACT_DAY, hour, 17, 5), "view", [f"c{200 + n:03d}"],
                    ["name", "email", "phone"], act=True)  # fmt: skip
            n += 1
    for e in AGENTS[1:]:
        c.event(e, at(ACT_DAY, 10), "view", ["c100"], ["name"])
    return c


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return scripted_harvest().write(tmp_path_factory.mktemp("script") / "dataset")


@pytest.fixture(scope="module")
def replayed(dataset, tmp_path_factory):
    store = Store(tmp_path_factory.mktemp("once") / "iw.duckdb", threads=1)
    ingest_dataset(store, dataset, KEY)
    run_detection(store, CFG, KEY)
    yield read_findings(store.con), _encoded(read_alert_history(store))
    store.close()


def _encoded(history) -> list[bytes]:
    return [msgspec.json.encode(line) for line in history]


def _piece(rows: list[bytes], lo: dt.datetime, hi: dt.datetime, folder: Path) -> Path:
    """The events in [lo, hi) written to ``folder`` in the reverse of the dataset's order."""
    folder.mkdir()
    inside = [r for r in rows if lo <= _time(r) < hi]
    (folder / "access.jsonl").write_bytes(b"".join(r + b"\n" for r in reversed(inside)))
    return folder


def first_step(dataset: Path, built_once) -> Path:
    """The database file of every split's first step: the context tables, then the days
    before the act day arriving reversed, and a run. The same for every split here, so
    it is built once per run (``built_once``); read-only, copied by each split."""

    def build(folder: Path) -> None:
        context = folder / "context"
        shutil.copytree(dataset, context, ignore=shutil.ignore_patterns("access*"))
        rows = (dataset / "access.jsonl").read_bytes().splitlines()
        with Store(folder / "steps.duckdb", threads=1) as store:
            ingest_dataset(store, context, KEY)
            ingest_dataset(store, _piece(rows, at(1, 0), at(ACT_DAY, 0), folder / "piece0"), KEY)
            run_detection(store, CFG, KEY)

    settings = msgspec.json.encode(CFG, enc_hook=str)
    return built_once(f"arrival-first-step-{folder_digest(dataset, settings)}", build)


def in_steps(dataset: Path, folder: Path, cuts: list[dt.datetime], built_once):
    """The context tables, then the events of each piece between ``cuts`` arriving in
    the reverse of the dataset's order, each followed by a run; the first piece, the days
    before the act day, is ``first_step``'s."""
    assert cuts[0] == at(ACT_DAY, 0), "every split starts with the days before the act"
    db = first_step(dataset, built_once) / "steps.duckdb"
    store = Store(copy_store(db, folder / "steps.duckdb"), threads=1)
    rows = (dataset / "access.jsonl").read_bytes().splitlines()
    bounds = [*cuts, at(ACT_DAY + 1, 0)]
    for k, (lo, hi) in enumerate(zip(bounds, bounds[1:], strict=False), start=1):
        ingest_dataset(store, _piece(rows, lo, hi, folder / f"piece{k}"), KEY)
        run_detection(store, CFG, KEY)
    found, history = read_findings(store.con), _encoded(read_alert_history(store))
    store.close()
    return found, history


def _time(row: bytes) -> dt.datetime:
    return dt.datetime.fromisoformat(msgspec.json.decode(row)["time"])


def test_the_harvest_fires_with_capped_evidence(replayed):
    found, history = replayed
    capped = [f for f in found if f.employee_id == INSIDER and f.detector == "volume"]
    assert capped, "the scripted harvest should pass the volume line"
    assert all(len(f.customer_ids) == CAP for f in capped)
    assert any(len(f.event_ids) == CAP for f in capped)
    assert history, "and open an alert"


@pytest.mark.parametrize(
    "cuts",
    [
        [at(ACT_DAY, 0)],
        [at(ACT_DAY, 0), at(ACT_DAY, 10, 30), at(ACT_DAY, 13, 30)],
        [at(ACT_DAY, 0), *(at(ACT_DAY, h, 17, 6) for h in (9, 10, 11, 13, 14))],
    ],
    ids=["day", "three-pieces", "after-each-burst"],
)
def test_a_day_cut_into_steps_and_reordered_gives_the_replay(
    cuts, dataset, replayed, tmp_path, built_once
):
    found, history = in_steps(dataset, tmp_path, cuts, built_once)
    assert found == replayed[0]
    assert history == replayed[1]
