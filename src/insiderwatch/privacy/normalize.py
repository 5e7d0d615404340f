"""Normalise customer identifiers so the same person hashes the same way everywhere.

Ingest and leak attribution both call these, so a phone written ``07700 900123`` in the
CRM matches ``+44 7700 900123`` found in a leaked list.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import phonenumbers

# A pragmatic address check: one @, a dot in the domain, no spaces. RFC 5322 allows more,
# but real CRMs and leaked lists do not use quoted local parts.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(raw: str | None) -> str | None:
    """Trimmed, NFKC-folded, lower-cased email, ``mailto:`` removed; None when not an email."""
    if raw is None:
        return None
    value = unicodedata.normalize("NFKC", str(raw))
    # Until nothing changes, so that "mailto:<a@b.c>" is "<mailto:a@b.c>" is "a@b.c".
    while True:
        before = value
        value = value.strip().strip("<>").strip()
        if value.lower().startswith("mailto:"):
            value = value[7:]
        if value == before:
            break
    value = value.lower()
    return value if _EMAIL.match(value) else None


@lru_cache(maxsize=65536)
def normalize_phone(raw: str | None, region: str = "GB") -> str | None:
    """E.164 form (``+447700900123``) via libphonenumber; None when not a possible number."""
    if raw is None:
        return None
    value = unicodedata.normalize("NFKC", str(raw)).strip()
    if not value:
        return None
    if value.startswith("00"):
        value = "+" + value[2:]
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
