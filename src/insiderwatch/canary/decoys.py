"""Decoy customers: plausible names with email addresses and phone numbers the company
controls, so that any message or call to one proves the record left the company."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from insiderwatch.canary.names import COMMON_SURNAMES, FIRST_NAMES
from insiderwatch.errors import InsiderwatchError
from insiderwatch.privacy import normalize_email, normalize_phone

# Local parts carry a short random tag: unique, unguessable by someone who knows the
# naming scheme, and still looking like the many "name.surname.x7" addresses people have.
_TAG_ALPHABET = np.array(list("abcdefghjkmnpqrstuvwxyz23456789"))


@dataclass(frozen=True)
class Decoy:
    customer_id: str
    first_name: str
    surname: str
    email: str  # normalised, on the company's domain
    phone: str  # E.164, from the company's range


def parse_phone_range(text: str, region: str = "GB") -> tuple[int, int]:
    """``+447700900000:+447700900999`` -> the E.164 digits of both ends, as numbers."""
    parts = text.split(":")
    ends = [normalize_phone(p.strip(), region) for p in parts] if len(parts) == 2 else []
    if len(ends) != 2 or None in ends:
        raise InsiderwatchError(
            f"--phone-range {text!r}: give FIRST:LAST, two phone numbers of a block you control"
        )
    first, last = (int(e.lstrip("+")) for e in ends)  # type: ignore[union-attr]
    if last < first:
        raise InsiderwatchError(f"--phone-range {text!r}: LAST is before FIRST")
    return first, last


def check_domain(domain: str) -> str:
    domain = domain.strip().lower()
    if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", domain):
        raise InsiderwatchError(f"--email-domain {domain!r} is not a domain name")
    return domain


def make_decoys(
    count: int,
    *,
    id_prefix: str,
    domain: str,
    phone_range: tuple[int, int],
    rng: np.random.Generator,
) -> list[Decoy]:
    first, last = phone_range
    if last - first + 1 < count:
        raise InsiderwatchError(
            f"--phone-range holds {last - first + 1:,} numbers; {count:,} canaries need one each"
        )
    numbers = first + rng.choice(last - first + 1, size=count, replace=False)
    firsts = rng.choice(len(FIRST_NAMES), count)
    surnames = rng.choice(len(COMMON_SURNAMES), count)
    tags = ["".join(t) for t in rng.choice(_TAG_ALPHABET, size=(count, 4))]
    decoys = []
    for i in range(count):
        given, family = FIRST_NAMES[firsts[i]], COMMON_SURNAMES[surnames[i]]
        local = re.sub(r"[^a-z]", "", given.lower()) + "." + re.sub(r"[^a-z]", "", family.lower())
        email = normalize_email(f"{local}.{tags[i]}@{domain}")
        assert email is not None  # built from letters, a tag and a checked domain
        decoys.append(
            Decoy(
                customer_id=f"{id_prefix}{i:05d}",
                first_name=given,
                surname=family,
                email=email,
                phone=f"+{int(numbers[i])}",
            )
        )
    return decoys
