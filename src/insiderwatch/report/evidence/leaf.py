"""What a leaf of the evidence log is: one stored event, canonically encoded.

A leaf is the UTF-8 JSON object of the event's contract columns, in contract order,
compact, with the time as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC) and absent values as
``null``; the store's own ``batch_id`` is left out, so the same event verifies wherever
it is copied. One leaf per event (rather than one per batch file) is what lets a bundle
prove each exported event on its own, and name the one event that was altered.

The encoding is one SQL expression, so the log is built set-at-a-time at ingest and a
verifier recomputes it with the same expression over the exported Parquet; anyone can
re-derive it from this description in another language.
"""

from __future__ import annotations

from insiderwatch.contract import TABLES
from insiderwatch.store.validate import quote_str

EVENTS = TABLES["access"]


def value_sql(alias: str, column) -> str:
    """A column as it appears in the leaf (times as UTC ISO text with microseconds)."""
    ref = f"{alias}.{column.stored_name}"
    if column.kind == "timestamp":
        return f"strftime({ref} AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ')"
    return ref


def leaf_json_sql(alias: str = "e") -> str:
    """The leaf's bytes (as VARCHAR) of the event row ``alias``."""
    pairs = ", ".join(f"{quote_str(c.stored_name)}, {value_sql(alias, c)}" for c in EVENTS.columns)
    return f"CAST(json_object({pairs}) AS VARCHAR)"


def leaf_hash_sql(alias: str = "e") -> str:
    """HASH(0x00 || leaf) as a 32-byte BLOB (RFC 9162 §2.1.1)."""
    return f"unhex(sha256('\\x00'::BLOB || encode({leaf_json_sql(alias)})))"


# ``||``, not concat(): concat() of BLOBs returns their VARCHAR rendering.
NODE_HASH_SQL = "unhex(sha256('\\x01'::BLOB || {left} || {right}))"
