"""Small vectorised helpers shared by the generators (numpy in, numpy or Arrow out)."""

from __future__ import annotations

import zlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

SECOND = 1_000_000  # microseconds
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
NULL_INT = np.iinfo(np.int64).min  # sentinel for a null integer in numpy columns
NEVER = np.iinfo(np.int64).max  # sentinel for "no such time"


def rng_for(seed: int, stream: str) -> np.random.Generator:
    """An independent generator per named stream.

    Each part of the simulation draws from its own stream, so changing how many numbers
    one part consumes does not reshuffle everything else for the same seed.
    """
    key = zlib.crc32(stream.encode())
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(key,)))


def expand(counts: np.ndarray) -> np.ndarray:
    """Row index repeated ``counts[i]`` times: turns per-row counts into one row per unit."""
    return np.repeat(np.arange(len(counts)), counts)


def ragged_index(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Flat positions ``starts[i] .. starts[i] + lengths[i] - 1`` for every i, concatenated."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(np.asarray(starts, dtype=np.int64) - offsets, lengths) + np.arange(total)


def dedupe_ragged(lengths: np.ndarray, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop repeated values inside each row of a ragged array (rows keep their order)."""
    rows = np.repeat(np.arange(len(lengths), dtype=np.int64), lengths)
    key = rows * (int(flat.max(initial=0)) + 1) + flat
    _, first = np.unique(key, return_index=True)
    first.sort()  # keep each row's values in their original order
    new_lengths = np.bincount(rows[first], minlength=len(lengths)).astype(np.int64)
    return new_lengths, flat[first]


def fixed_ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """Strings ``prefix`` + zero-padded ``numbers``, built straight into an Arrow buffer.

    Formatting millions of ids through Python strings would dominate the run time.
    """
    numbers = np.asarray(numbers, dtype=np.int64)
    if len(numbers) and (numbers.min() < 0 or numbers.max() >= 10**width):
        raise ValueError(f"id numbers do not fit in {width} digits")
    head = np.frombuffer(prefix.encode(), dtype=np.uint8)
    row = len(head) + width
    n = len(numbers)
    buf = np.empty((n, row), dtype=np.uint8)
    buf[:, : len(head)] = head
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    buf[:, len(head) :] = (numbers[:, None] // powers) % 10 + ord("0")
    offsets = np.arange(0, (n + 1) * row, row, dtype=np.int64)
    if offsets[-1] >= 2**31:
        raise ValueError("too many ids for one string array")
    return pa.Array.from_buffers(
        pa.string(), n, [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(buf)]
    )


def take(dictionary: pa.Array | list[str], indices: np.ndarray) -> pa.Array:
    """``dictionary[indices]``; a negative index gives null."""
    if not isinstance(dictionary, pa.Array):
        dictionary = pa.array(dictionary, pa.string())
    indices = np.asarray(indices, dtype=np.int64)
    mask = indices < 0
    idx = pa.array(np.where(mask, 0, indices), mask=mask if mask.any() else None)
    return dictionary.take(idx)


def timestamps(us: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """UTC microsecond timestamps, the contract's time type."""
    return pa.array(np.asarray(us, dtype=np.int64), pa.timestamp("us", tz="UTC"), mask=null)


def list_array(lengths: np.ndarray, values: pa.Array) -> pa.Array:
    """list<string> from row lengths and the flat values."""
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), values, type=pa.list_(pa.string()))


class CdfSampler:
    """Weighted sampling with replacement; O(log n) per draw, no per-call setup."""

    def __init__(self, weights: np.ndarray, values: np.ndarray | None = None) -> None:
        weights = np.asarray(weights, dtype=np.float64)
        self.cdf = np.cumsum(weights)
        if len(self.cdf) == 0 or self.cdf[-1] <= 0:
            raise ValueError("nothing to sample from")
        self.values = values

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        pos = np.searchsorted(self.cdf, rng.random(n) * self.cdf[-1], side="right")
        pos = np.minimum(pos, len(self.cdf) - 1)
        return pos if self.values is None else self.values[pos]


class Groups:
    """Members grouped by an integer key, for "pick a random member of my group" draws."""

    def __init__(self, keys: np.ndarray, n_keys: int, members: np.ndarray | None = None) -> None:
        members = np.arange(len(keys)) if members is None else members
        order = np.argsort(keys, kind="stable")
        self.members = members[order]
        self.length = np.bincount(keys, minlength=n_keys)
        self.start = np.cumsum(self.length) - self.length

    def pick(self, rng: np.random.Generator, keys: np.ndarray) -> np.ndarray:
        """One random member of each key's group; -1 where the group is empty."""
        length = self.length[keys]
        pos = self.start[keys] + (rng.random(len(keys)) * length).astype(np.int64)
        out = self.members[np.minimum(pos, len(self.members) - 1)]
        return np.where(length > 0, out, -1)

    def group(self, key: int) -> np.ndarray:
        return self.members[self.start[key] : self.start[key] + self.length[key]]


# "00".."99" as 16-bit values (two ASCII bytes each): formatting becomes a table look-up.
_PAIRS = np.array([list(f"{i:02d}".encode()) for i in range(100)], dtype=np.uint8).view("u2")[:, 0]
# One ISO timestamp as a record of byte fields, so numpy writes each field for all rows.
_ISO = np.dtype(
    {
        "names": ["cc", "yy", "mo", "dd", "hh", "mi", "ss", "ms2", "ms1"],
        "formats": ["u2"] * 8 + ["u1"],
        "offsets": [0, 2, 5, 8, 11, 14, 17, 20, 22],
        "itemsize": 24,
    }
)
_ISO_TEMPLATE = np.frombuffer(b"0000-00-00T00:00:00.000Z", dtype=np.uint8)


def iso_z(ts: pa.Array | pa.ChunkedArray) -> pa.Array:
    """ISO 8601 UTC strings with milliseconds and a ``Z``: ``2026-09-01T08:30:00.123Z``.

    Built byte by byte in numpy: ``strftime`` over millions of timestamps is several
    times slower and would dominate writing the text formats.
    """
    if isinstance(ts, pa.ChunkedArray):
        ts = ts.combine_chunks() if ts.num_chunks else pa.array([], ts.type)
    us = ts.cast(pa.int64()).fill_null(0).to_numpy()
    days, ms = np.divmod(us // 1000, 86_400_000)
    # Days since 1970-01-01 to a civil date (H. Hinnant's algorithm), vectorised.
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = np.clip(yoe + era * 400 + (month <= 2), 0, 9999)
    n = len(us)
    raw = np.empty((n, 24), dtype=np.uint8)
    raw[:] = _ISO_TEMPLATE
    rec = raw.view(_ISO)[:, 0]
    rec["cc"] = _PAIRS[year // 100]
    rec["yy"] = _PAIRS[year % 100]
    rec["mo"] = _PAIRS[month]
    rec["dd"] = _PAIRS[doy - (153 * mp + 2) // 5 + 1]
    rec["hh"] = _PAIRS[ms // 3_600_000]
    rec["mi"] = _PAIRS[ms // 60_000 % 60]
    rec["ss"] = _PAIRS[ms // 1000 % 60]
    rec["ms2"] = _PAIRS[ms % 1000 // 10]
    rec["ms1"] = ms % 10 + ord("0")
    offsets = np.arange(0, (n + 1) * 24, 24, dtype=np.int32)
    out = pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(raw)])
    if ts.null_count:
        out = pc.if_else(ts.is_null(), pa.nulls(n, pa.string()), out)
    return out
