"""The hand-built breach world (``breach_world``) ingested and detected once per run, for
every test that only reads its scope: detection of the world is the same for all of them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from breach_world import write_world
from insiderwatch.detect import DetectionConfig, run_detection
from insiderwatch.ingest import ingest_dataset
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from sample_data import KEY_HEX, copy_store


def _build(folder: Path) -> None:
    key = HashKey(bytes.fromhex(KEY_HEX))
    with Store(folder / "iw.duckdb", threads=1) as store:
        ingest_dataset(store, write_world(folder / "dataset"), key)
        run_detection(store, DetectionConfig(), key)


def detected_world_copy(built_once: Callable[..., Path], to: Path) -> Path:
    """A copy, at the database file ``to``, of the world ingested and detected once per
    run (``built_once``); the copy is the caller's to open and change."""
    return copy_store(built_once("breach-world-detected", _build) / "iw.duckdb", to)
