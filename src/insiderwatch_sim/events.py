"""Columnar buffers the generators append to: access events and case assignments.

Generators add whole arrays at a time. Values are indices (employee number, customer
number, vocab index, case number); strings are materialised once at assembly.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from insiderwatch_sim.kit import NEVER, NULL_INT, ragged_index

# Per-event int64 columns (ragged customer lists are kept apart as lengths + flat values).
COLUMNS: tuple[str, ...] = (
    "time",  # UTC microseconds
    "emp",  # employee number (>= roster size: an unknown id, bad rows only)
    "action",  # vocab.ACTION_NAMES
    "fields",  # vocab.FIELD_SET_NAMES
    "record_count",  # NULL_INT: null
    "app",  # vocab.APPS
    "case",  # case number, -1: none captured
    "dest",  # vocab.DESTINATION_NAMES, -1: none
    "insider",  # insider number for malicious events, else -1
    "bad",  # bad-row reason number, -1 for valid events
)


@dataclass
class Events:
    cols: dict[str, np.ndarray]
    cust_len: np.ndarray
    cust_flat: np.ndarray

    def __len__(self) -> int:
        return len(self.cols["time"])

    @property
    def cust_start(self) -> np.ndarray:
        return np.cumsum(self.cust_len) - self.cust_len


@dataclass
class EventLog:
    parts: list[Events] = field(default_factory=list)

    def add(
        self,
        *,
        time: np.ndarray,
        emp: np.ndarray | int,
        action: np.ndarray | int,
        fields: np.ndarray | int,
        app: np.ndarray | int,
        cust: np.ndarray | None = None,
        ragged: tuple[np.ndarray, np.ndarray] | None = None,
        record_count: np.ndarray | int | None = None,
        case: np.ndarray | int | None = None,
        dest: np.ndarray | int | None = None,
        insider: int = -1,
        keep: np.ndarray | None = None,
    ) -> None:
        """Append events; scalars broadcast. ``cust`` gives one customer per event (-1:
        none); ``ragged`` gives (lengths, flat) lists. ``keep`` filters rows first."""
        n = len(time)
        given = {
            "time": time,
            "emp": emp,
            "action": action,
            "fields": fields,
            "record_count": NULL_INT if record_count is None else record_count,
            "app": app,
            "case": -1 if case is None else case,
            "dest": -1 if dest is None else dest,
            "insider": insider,
            "bad": -1,
        }
        cols = {k: np.broadcast_to(np.asarray(v, dtype=np.int64), (n,)) for k, v in given.items()}
        if ragged is not None:
            lengths, flat = (np.asarray(a, dtype=np.int64) for a in ragged)
        elif cust is not None:
            cust = np.asarray(cust, dtype=np.int64)
            lengths, flat = (cust >= 0).astype(np.int64), cust[cust >= 0]
        else:
            lengths, flat = np.zeros(n, dtype=np.int64), np.zeros(0, dtype=np.int64)
        if keep is not None:
            keep = np.asarray(keep, dtype=bool)
            cols = {k: v[keep] for k, v in cols.items()}
            flat = flat[np.repeat(keep, lengths)]
            lengths = lengths[keep]
        cols = {k: np.array(v, dtype=np.int64) for k, v in cols.items()}  # own the memory
        if len(cols["time"]):
            self.parts.append(Events(cols, lengths, flat))

    def concat(self) -> Events:
        if not self.parts:
            empty = {k: np.zeros(0, dtype=np.int64) for k in COLUMNS}
            return Events(empty, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        cols = {k: np.concatenate([p.cols[k] for p in self.parts]) for k in COLUMNS}
        return Events(
            cols,
            np.concatenate([p.cust_len for p in self.parts]),
            np.concatenate([p.cust_flat for p in self.parts]),
        )


def take_events(ev: Events, rows: np.ndarray) -> Events:
    """Rows ``rows`` of ``ev`` (in that order), customer lists included."""
    lengths = ev.cust_len[rows]
    flat = ev.cust_flat[ragged_index(ev.cust_start[rows], lengths)]
    return Events({k: v[rows] for k, v in ev.cols.items()}, lengths, flat)


def concat_events(parts: list[Events]) -> Events:
    log = EventLog(parts=[p for p in parts if len(p)])
    return log.concat()


@dataclass
class CaseBook:
    """Case assignments. A case reassigned to a colleague has one row per assignee."""

    count: int = 0
    parts: list[dict[str, np.ndarray]] = field(default_factory=list)

    def new(self, n: int) -> np.ndarray:
        nums = np.arange(self.count, self.count + n, dtype=np.int64)
        self.count += n
        return nums

    def add(
        self,
        num: np.ndarray,
        cust: np.ndarray,
        emp: np.ndarray,
        opened: np.ndarray,
        closed: np.ndarray,
        channel: np.ndarray | int,
    ) -> None:
        n = len(num)
        self.parts.append(
            {
                "num": np.asarray(num, dtype=np.int64),
                "cust": np.asarray(cust, dtype=np.int64),
                "emp": np.asarray(emp, dtype=np.int64),
                "opened": np.asarray(opened, dtype=np.int64),
                "closed": np.asarray(closed, dtype=np.int64),  # NEVER: still open
                "channel": np.broadcast_to(np.asarray(channel, dtype=np.int64), (n,)).copy(),
            }
        )

    def rows(self) -> dict[str, np.ndarray]:
        keys = ("num", "cust", "emp", "opened", "closed", "channel")
        if not self.parts:
            return {k: np.zeros(0, dtype=np.int64) for k in keys}
        return {k: np.concatenate([p[k] for p in self.parts]) for k in keys}

    def id_rank(self) -> np.ndarray:
        """Per case number, its position when cases are numbered by first opening."""
        rows = self.rows()
        first = np.full(self.count, NEVER, dtype=np.int64)
        np.minimum.at(first, rows["num"], rows["opened"])
        order = np.lexsort((np.arange(self.count), first))
        rank = np.empty(self.count, dtype=np.int64)
        rank[order] = np.arange(self.count)
        return rank
