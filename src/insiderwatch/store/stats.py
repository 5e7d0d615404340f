"""What is in the store: row counts, time span, events per day. Written with Ibis so it
runs unchanged on any backend the store is moved to."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from insiderwatch.contract import LOAD_ORDER
from insiderwatch.store.duckdb_store import Store


@dataclass
class StoreStats:
    tables: dict[str, int]
    dead_letters_open: int
    dead_letters_resolved: int
    batches: int
    segments: int
    segment_bytes: int
    first_event: datetime | None
    last_event: datetime | None
    events_per_day: list[tuple[date, int]] = field(default_factory=list)
    key_fingerprint: str | None = None

    def as_dict(self) -> dict:
        return {
            "tables": self.tables,
            "dead_letters": {
                "open": self.dead_letters_open,
                "resolved": self.dead_letters_resolved,
            },
            "ingest_batches": self.batches,
            "event_segments": {"files": self.segments, "bytes": self.segment_bytes},
            "first_event": self.first_event.isoformat() if self.first_event else None,
            "last_event": self.last_event.isoformat() if self.last_event else None,
            "events_per_day": [[d.isoformat(), n] for d, n in self.events_per_day],
            "hash_key_fingerprint": self.key_fingerprint,
        }


def store_stats(store: Store) -> StoreStats:
    con = store.ibis
    tables = {name: int(con.table(name).count().execute()) for name in LOAD_ORDER}
    access = con.table("access")
    span = access.aggregate(first=access.time.min(), last=access.time.max()).execute()
    per_day = (
        access.group_by(day=access.time.date())
        .aggregate(events=access.count())
        .order_by("day")
        .execute()
    )
    letters = con.table("dead_letters")
    open_letters = int(letters.filter(letters.resolved_batch.isnull()).count().execute())
    segments = con.table("event_segments")
    seg = segments.aggregate(n=segments.count(), bytes=segments.bytes.sum()).execute()

    def when(value) -> datetime | None:
        return None if value is None or value != value else value.to_pydatetime()

    return StoreStats(
        tables=tables,
        dead_letters_open=open_letters,
        dead_letters_resolved=int(letters.count().execute()) - open_letters,
        batches=int(con.table("ingest_batches").count().execute()),
        segments=int(seg["n"].iloc[0]),
        segment_bytes=int(seg["bytes"].fillna(0).iloc[0]),
        first_event=when(span["first"].iloc[0]),
        last_event=when(span["last"].iloc[0]),
        events_per_day=[
            (d.date() if isinstance(d, datetime) else d, int(n))
            for d, n in zip(per_day["day"], per_day["events"], strict=True)
        ],
        key_fingerprint=store.meta("hash_key_fingerprint"),
    )


def sparkline(values: list[int]) -> str:
    """One character per value, scaled to the maximum (▁ … █)."""
    if not values:
        return ""
    blocks = "▁▂▃▄▅▆▇█"
    top = max(values) or 1
    return "".join(
        blocks[min(len(blocks) - 1, int(v / top * (len(blocks) - 1) + 0.5))] for v in values
    )
