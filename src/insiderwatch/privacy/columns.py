"""Normalise and hash a whole column of identifiers at once.

Ingest hands over a batch's emails or phones as one Arrow column. Each distinct value is
normalised and hashed once and the results are spread back over the rows by index, so a
value repeated across rows costs one call and no per-row Python object is made. The
normalisers stay per value: libphonenumber has no bulk form, and the email rules must
stay exactly those leak attribution applies to one value (``normalize.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from insiderwatch.privacy.hashing import HashKey
from insiderwatch.privacy.normalize import normalize_email, normalize_phone

# kind -> (normaliser taking the value and the phone region, reason when it fails)
NORMALIZERS: dict[str, tuple[Callable[[str, str], str | None], str]] = {
    "email": (lambda value, region: normalize_email(value), "not_an_email"),
    "phone": (normalize_phone, "not_a_phone"),
}


def hash_column(
    key: HashKey, kind: str, values: pa.Array | pa.ChunkedArray, region: str = "GB"
) -> tuple[pa.Array, pa.Array]:
    """(keyed hash of each value's normalised form, true where a value is present but is
    not a valid ``kind``); a null value has a null hash and is not invalid."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    normalize, _ = NORMALIZERS[kind]
    distinct = pc.unique(values).drop_null()
    normal = [normalize(value, region) for value in distinct.to_pylist()]
    hashes = pa.array(key.digest_many(kind, normal), pa.string())
    hashed = hashes.take(pc.index_in(values, value_set=distinct))
    return hashed, pc.and_(pc.is_valid(values), pc.is_null(hashed))


def reason(kind: str) -> str:
    """The dead-letter reason of a value that is not a valid ``kind``."""
    return NORMALIZERS[kind][1]
