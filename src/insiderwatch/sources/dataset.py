"""Find the contract's tables in a dataset directory.

A file belongs to a table when its name starts with the table name (``access.csv``,
``access-2026-09.jsonl.gz``, ``cases_part1.parquet``) or it sits in a folder named after
the table (``access/part-0001.parquet``). Everything else is listed as ignored, never an
error, so a dataset folder can also hold READMEs, manifests and the like.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from insiderwatch.contract import LOAD_ORDER
from insiderwatch.errors import UnreadableFileError

FORMATS: dict[str, str] = {
    "csv": "csv",
    "jsonl": "jsonl",
    "ndjson": "jsonl",
    "json": "jsonl",
    "parquet": "parquet",
    "pq": "parquet",
}
_SUFFIX = re.compile(r"\.(?P<ext>[a-z]+)(?P<gz>\.gz)?$")
_TABLE_NAME = re.compile(r"^(?P<table>[a-z]+)(?:[._-].*)?$")


@dataclass(frozen=True)
class DatasetFile:
    path: Path
    table: str
    format: str  # csv | jsonl | parquet
    compressed: bool

    @property
    def size(self) -> int:
        return self.path.stat().st_size


@dataclass
class Dataset:
    root: Path
    files: list[DatasetFile] = field(default_factory=list)
    ignored: list[Path] = field(default_factory=list)

    def in_load_order(self) -> list[DatasetFile]:
        rank = {name: i for i, name in enumerate(LOAD_ORDER)}
        return sorted(self.files, key=lambda f: (rank[f.table], str(f.path)))


def classify(path: Path, table_hint: str | None = None) -> DatasetFile | None:
    """The dataset file for ``path``, or None when it is not one of ours."""
    name = path.name.lower()
    match = _SUFFIX.search(name)
    if not match or match["ext"] not in FORMATS:
        return None
    fmt = FORMATS[match["ext"]]
    if fmt == "parquet" and match["gz"]:
        return None  # parquet compresses internally; a gzipped parquet is not a format we read
    table = table_hint
    if table is None:
        stem = _TABLE_NAME.match(name[: match.start()] or "-")
        table = stem["table"] if stem else None
    if table not in LOAD_ORDER:
        return None
    return DatasetFile(path=path, table=table, format=fmt, compressed=bool(match["gz"]))


def discover(root: Path) -> Dataset:
    """Every contract file under ``root`` (a folder, or a single file)."""
    if not root.exists():
        raise UnreadableFileError(f"dataset not found: {root}")
    dataset = Dataset(root=root)
    if root.is_file():
        found = classify(root)
        if found is None:
            raise UnreadableFileError(
                f"{root}: not a contract file (name must start with one of "
                f"{', '.join(LOAD_ORDER)} and end in .csv, .jsonl[.gz] or .parquet)"
            )
        dataset.files.append(found)
        return dataset
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        # Hidden files and a store's own event segments (a store kept inside the dataset
        # folder) are never input.
        if path.is_dir() or any(p.startswith(".") or p.endswith(".segments") for p in parts):
            continue
        parent = path.parent.name.lower() if path.parent != root else None
        hint = parent if parent in LOAD_ORDER else None
        found = classify(path, hint)
        if found is None:
            dataset.ignored.append(path)
        else:
            dataset.files.append(found)
    return dataset
