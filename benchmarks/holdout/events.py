"""Events as numpy columns, so a whole company's activity is built with array operations.

An ``Events`` block holds one row per access; text values (apps, destinations, case ids,
devices) are small integer codes into the company's vocabularies and only become strings
when the dataset is written. Customers are a list per event: ``n_cust`` (how many) and
``cust`` (all of them, flat, in event order).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

ACTIONS = ("login", "search", "view", "update", "export", "print", "copy", "message", "download")
ACT = {name: code for code, name in enumerate(ACTIONS)}
FIELDS = ("name", "email", "phone", "address", "payment", "orders", "notes")


def field_mask(*names: str) -> int:
    """The bit set of data categories an event exposes (see FIELDS)."""
    return sum(1 << FIELDS.index(n) for n in names)


NONE = -1  # "no value" in every coded column
DEFAULT = -2  # device / source address: the employee's usual one, stamped at the end

US_PER_S = 1_000_000
US_PER_H = 3600 * US_PER_S


@dataclass
class Events:
    emp: np.ndarray  # int32 employee index
    t: np.ndarray  # int64 microseconds since the epoch, UTC
    action: np.ndarray  # int8 index into ACTIONS
    fields: np.ndarray  # int16 bit set over FIELDS
    app: np.ndarray  # int16 index into the company's apps, NONE for none
    n_cust: np.ndarray  # int32 customers listed per event
    cust: np.ndarray  # int32 customer indices, flat
    records: np.ndarray  # int64 rows shown, NONE for "the number of customers"
    case: np.ndarray  # int64 index into the case ids, NONE for none
    dest: np.ndarray  # int16 index into the destinations, NONE for none
    device: np.ndarray  # int32 index into devices, DEFAULT for the employee's usual
    ip: np.ndarray  # int32 index into source addresses, DEFAULT for the usual
    insider: np.ndarray  # int16 index into the insiders for malicious events, else NONE

    def __len__(self) -> int:
        return len(self.emp)

    @classmethod
    def of(
        cls,
        emp,
        t,
        action,
        fields_=0,
        app=NONE,
        *,
        cust=None,
        n_cust=None,
        records=NONE,
        case=NONE,
        dest=NONE,
        device=DEFAULT,
        ip=DEFAULT,
        insider=NONE,
    ) -> Events:
        """A block of events; scalars are broadcast. ``cust`` alone means one customer per
        event; with ``n_cust`` it is the flat list."""
        emp = np.asarray(emp, dtype=np.int32)
        n = len(emp)
        if cust is None:
            cust, n_cust = np.zeros(0, np.int32), np.zeros(n, np.int32)
        elif n_cust is None:
            n_cust = np.ones(n, np.int32)

        def col(v, dtype):
            return np.broadcast_to(np.asarray(v, dtype=dtype), (n,)).copy()

        block = cls(
            emp=emp,
            t=col(t, np.int64),
            action=col(action, np.int8),
            fields=col(fields_, np.int16),
            app=col(app, np.int16),
            n_cust=np.asarray(n_cust, np.int32),
            cust=np.asarray(cust, np.int32),
            records=col(records, np.int64),
            case=col(case, np.int64),
            dest=col(dest, np.int16),
            device=col(device, np.int32),
            ip=col(ip, np.int32),
            insider=col(insider, np.int16),
        )
        if int(block.n_cust.sum()) != len(block.cust):
            raise ValueError("customer lists do not add up to the flat customers")
        return block

    @classmethod
    def concat(cls, blocks: list[Events]) -> Events:
        blocks = [b for b in blocks if len(b)]
        return cls(
            **{f.name: np.concatenate([getattr(b, f.name) for b in blocks]) for f in fields(cls)}
        )

    def offsets(self) -> np.ndarray:
        return np.concatenate([[0], np.cumsum(self.n_cust, dtype=np.int64)])

    def take(self, order: np.ndarray) -> Events:
        """Rows in ``order`` (customer lists follow their events)."""
        starts = self.offsets()[:-1][order]
        counts = self.n_cust[order]
        cust = self.cust[ranges(starts, counts)]
        cols = {f.name: getattr(self, f.name)[order] for f in fields(self) if f.name != "cust"}
        return Events(cust=cust, **cols)


def ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ``arange(s, s + c)`` for each pair, without a Python loop."""
    counts = np.asarray(counts, np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    ends = np.cumsum(counts)
    shift = np.repeat(np.asarray(starts, np.int64) - (ends - counts), counts)
    return np.arange(total, dtype=np.int64) + shift
