"""Staff pseudonyms: stable for a key, different under another key, never the id."""

from __future__ import annotations

import re

from insiderwatch.privacy import HashKey
from insiderwatch.privacy.pseudonyms import pseudonym


def test_stable_keyed_and_opaque(hash_key: HashKey) -> None:
    first = pseudonym(hash_key, "E00042")
    assert first == pseudonym(hash_key, "E00042")
    assert re.fullmatch(r"anon-[a-z2-7]{8}", first)
    assert first != pseudonym(hash_key, "E00043")
    assert first != pseudonym(HashKey(b"another key, 32 bytes long......"), "E00042")
    assert "E00042" not in first
