"""Continuous tailing of the configured logs (pgaudit, MariaDB audit, mapped files).

The logs are named in a YAML file (the ``tail_sources`` setting), one entry per log::

    - kind: pgaudit                 # a source kind (insiderwatch sources list)
      paths: [/var/log/postgresql/postgresql*.csv]   # files, folders or globs
    - kind: mapped
      mapping: crm-audit.yaml      # relative paths are taken from the YAML file's folder
      paths: [/var/log/crm/audit.jsonl*]

Every ``tail_interval`` seconds each entry's paths are expanded again (a rotated file or
a new day's log is picked up) and every file that changed since the last look is read
from its checkpoint by the ``read`` function the caller gives, which loads it and saves
the checkpoint durably in the store. Files are read oldest first: after a rotation the
renamed file, which takes over the checkpoint its old name left (see
``ingest.logs.saved_position``), is finished before the new file starts.
"""

from __future__ import annotations

import glob
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import msgspec
import yaml

from insiderwatch.errors import ConfigError, InsiderwatchError, Location
from insiderwatch.sources.kinds import SOURCES

log = logging.getLogger(__name__)


class TailSource(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    kind: str
    paths: list[str]
    mapping: str | None = None


def load_tail_sources(path: Path) -> list[TailSource]:
    """The entries of a tail YAML file, checked: unknown kinds and fields name the entry."""
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"tail sources: cannot read: {exc}", Location(file=str(path))) from None
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"tail sources: not valid YAML: {exc}", Location(file=str(path))
        ) from None
    if not isinstance(raw, list):
        raise ConfigError("tail sources: expected a list of entries", Location(file=str(path)))
    entries = []
    for number, item in enumerate(raw, 1):
        where = Location(file=str(path), row=number)
        try:
            entry = msgspec.convert(item, TailSource)
        except msgspec.ValidationError as exc:
            raise ConfigError(f"tail source entry {number}: {exc}", where) from None
        if entry.kind not in SOURCES.names():
            known = ", ".join(sorted(SOURCES.names()))
            raise ConfigError(
                f"tail source entry {number}: unknown kind {entry.kind!r} ({known})", where
            )
        base = path.parent
        entries.append(
            TailSource(
                kind=entry.kind,
                paths=[str(base / p) for p in entry.paths],  # absolute paths stay absolute
                mapping=str(base / entry.mapping) if entry.mapping else None,
            )
        )
    return entries


def expand(source: TailSource) -> list[Path]:
    """The files an entry names now, oldest first (then by name)."""
    found: set[Path] = set()
    for pattern in source.paths:
        for name in glob.glob(pattern, recursive=True) if glob.has_magic(pattern) else [pattern]:
            path = Path(name)
            if path.is_dir():
                found.update(
                    p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")
                )
            elif path.is_file():
                found.add(path)
    stamped = []
    for path in found:
        try:
            stamped.append((path.stat().st_mtime_ns, str(path), path))
        except OSError:  # rotated away between the glob and now
            continue
    return [p for *_, p in sorted(stamped)]


class _Seen(NamedTuple):
    inode: int
    size: int
    mtime_ns: int


Read = Callable[[TailSource, Path], Any]


class Tailer:
    """Looks at the configured logs every ``interval`` seconds until stopped."""

    def __init__(self, sources: list[TailSource], read: Read, interval: float = 1.0) -> None:
        self.sources = sources
        self.read = read
        self.interval = interval
        self.errors: dict[Path, str] = {}  # the last failure per file, until it reads again
        self.reads = 0
        self._seen: dict[Path, _Seen] = {}

    def poll(self) -> list[Any]:
        """Read every file that changed since the last look; the ``read`` results."""
        results = []
        for source in self.sources:
            for path in expand(source):
                try:
                    stat = path.stat()
                except OSError:
                    continue
                seen = _Seen(stat.st_ino, stat.st_size, stat.st_mtime_ns)
                if self._seen.get(path) == seen:
                    continue  # unchanged: no need to ask the store
                try:
                    result = self.read(source, path)
                except InsiderwatchError as exc:
                    result = exc
                error = str(result) if isinstance(result, Exception) else result.error
                if error:
                    # A file that vanished or cannot be read now is looked at again next time.
                    self.errors[path] = error
                    log.warning("tail: %s", error)
                    continue
                results.append(result)
                self.reads += 1
                self.errors.pop(path, None)
                self._seen[path] = seen
        return results

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self.poll()
            stop.wait(self.interval)
