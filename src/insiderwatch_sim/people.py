"""Personal data of simulated people: surnames, postcodes, emails and phone numbers.

Employees and customers draw from the same surname and postcode pools, so employees live
next to customers and share their surnames, as in a real country-wide customer base.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from insiderwatch.canary.names import COMMON_SURNAMES, FIRST_NAMES
from insiderwatch_sim import vocab
from insiderwatch_sim.kit import CdfSampler


@dataclass
class NamePools:
    surnames: list[str]
    surname_sampler: CdfSampler
    first_names: list[str]
    postcodes: list[str]
    postcode_sampler: CdfSampler  # where people live: some postcodes are denser


def build_pools(rng: np.random.Generator, n_postcodes: int) -> NamePools:
    rare = [h + t.lower() for h in vocab.RARE_SURNAME_HEADS for t in vocab.RARE_SURNAME_TAILS]
    # Rare names by construction may collide with common ones ("Greenwood"); keep one copy.
    rare = [name for name in rare if name not in set(COMMON_SURNAMES)]
    surnames = list(COMMON_SURNAMES) + rare
    n_common = len(COMMON_SURNAMES)
    # Zipf-like weights for the common names (Smith is ~10x the 10th name); the rare tail
    # shares about 12% of people, so most rare names are held by a handful of people.
    common = 1.0 / np.arange(1, n_common + 1) ** 0.9
    common *= 0.88 / common.sum()
    tail = np.full(len(rare), 0.12 / len(rare))
    return NamePools(
        surnames=surnames,
        surname_sampler=CdfSampler(np.concatenate([common, tail])),
        first_names=list(FIRST_NAMES),
        postcodes=_postcodes(rng, n_postcodes),
        postcode_sampler=CdfSampler(rng.lognormal(0.0, 0.7, n_postcodes)),
    )


def _postcodes(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct UK-shaped postcodes such as ``SW1A 2AA``, ``M14 6QX`` or ``G3 8JU``."""
    areas = [a for a, _ in vocab.POSTCODE_AREAS]
    weights = np.array([w for _, w in vocab.POSTCODE_AREAS], dtype=float)
    out: list[str] = []
    seen: set[str] = set()
    letters = vocab.POSTCODE_UNIT_LETTERS
    while len(out) < n:
        m = int((n - len(out)) * 1.3) + 16
        area = rng.choice(len(areas), m, p=weights / weights.sum())
        district = rng.integers(1, 29, m)
        sub = rng.random(m) < 0.25  # central districts like SW1A / EC1V carry a letter
        sub_letter = rng.choice(list("ABCEHMNPRVWXY"), m)
        sector = rng.integers(0, 10, m)
        unit = rng.choice(list(letters), (m, 2))
        for i in range(m):  # per postcode, a few thousand at most
            a = areas[area[i]]
            d = str(district[i])
            if sub[i] and district[i] < 10 and a in ("SW", "EC", "WC", "W", "E", "N", "NW"):
                d += sub_letter[i]
            code = f"{a}{d} {sector[i]}{unit[i, 0]}{unit[i, 1]}"
            if code not in seen:
                seen.add(code)
                out.append(code)
                if len(out) == n:
                    break
    return out


def _email_part(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def emails(
    rng: np.random.Generator, first: np.ndarray, surname: np.ndarray, pools: NamePools
) -> pa.Array:
    """Emails like ``olivia.smith42@example.com`` in a mix of styles and domains.

    A few are mixed case or carry stray whitespace, as real CRM data does, and about 3%
    are missing.
    """
    n = len(first)
    f = pa.array([_email_part(x) for x in pools.first_names]).take(pa.array(first))
    s = pa.array([_email_part(x) for x in pools.surnames]).take(pa.array(surname))
    num2 = pa.array(rng.integers(1, 100, n)).cast(pa.string())
    year = pa.array(rng.integers(60, 100, n) % 100).cast(pa.string())
    num3 = pa.array(rng.integers(1, 1000, n)).cast(pa.string())
    initial = pc.utf8_slice_codeunits(f, 0, 1)
    styles = [
        pc.binary_join_element_wise(f, ".", s, num2, ""),
        pc.binary_join_element_wise(f, s, ""),
        pc.binary_join_element_wise(initial, ".", s, num2, ""),
        pc.binary_join_element_wise(s, ".", f, ""),
        pc.binary_join_element_wise(f, "_", s, year, ""),
        pc.binary_join_element_wise(f, num3, ""),
    ]
    style = rng.choice(len(styles), n, p=[0.35, 0.15, 0.15, 0.1, 0.15, 0.1])
    local = pc.choose(pa.array(style), *styles)
    mixed = rng.random(n) < 0.03
    local = pc.if_else(pa.array(mixed), pc.utf8_title(local), local)
    domain_names = [d for d, _ in vocab.EMAIL_DOMAINS]
    dw = np.array([w for _, w in vocab.EMAIL_DOMAINS], dtype=float)
    domain = pa.array(domain_names).take(pa.array(rng.choice(len(dw), n, p=dw / dw.sum())))
    upper = rng.random(n) < 0.01
    domain = pc.if_else(pa.array(upper), pc.utf8_upper(domain), domain)
    email = pc.binary_join_element_wise(local, "@", domain, "")
    pad = rng.choice(4, n, p=[0.985, 0.005, 0.005, 0.005])
    email = pc.choose(
        pa.array(pad),
        email,
        pc.binary_join_element_wise(" ", email, ""),
        pc.binary_join_element_wise(email, " ", ""),
        pc.binary_join_element_wise(" ", email, " ", ""),
    )
    missing = pa.array(rng.random(n) < 0.03)
    return pc.if_else(missing, pa.nulls(n, pa.string()), email)


def mobile_digits(rng: np.random.Generator, n: int) -> pa.Array:
    """Ten-digit national significant numbers of valid GB mobiles (``7xxxxxxxxx``)."""
    ranges = np.array(vocab.MOBILE_PREFIX_RANGES, dtype=np.int64)
    sizes = ranges[:, 1] - ranges[:, 0] + 1
    block = rng.choice(len(ranges), n, p=sizes / sizes.sum())
    prefix = ranges[block, 0] + (rng.random(n) * sizes[block]).astype(np.int64)
    number = prefix * 100_000 + rng.integers(0, 100_000, n)
    return pa.array(number).cast(pa.string())


def phones(rng: np.random.Generator, n: int) -> pa.Array:
    """UK mobiles in the formats people type: ``+447400123456``, ``07400 123456``,
    ``+44 7400 123 456``, ``07400-123-456`` ... about 6% missing."""
    d = mobile_digits(rng, n)

    def part(a: int, b: int) -> pa.Array:
        return pc.utf8_slice_codeunits(d, a, b)

    formats = [
        pc.binary_join_element_wise("+44", d, ""),
        pc.binary_join_element_wise("0", part(0, 4), " ", part(4, 10), ""),
        pc.binary_join_element_wise("+44 ", part(0, 4), " ", part(4, 7), " ", part(7, 10), ""),
        pc.binary_join_element_wise("0", part(0, 4), "-", part(4, 7), "-", part(7, 10), ""),
        pc.binary_join_element_wise("0", d, ""),
        pc.binary_join_element_wise("(0", part(0, 4), ") ", part(4, 10), ""),
        pc.binary_join_element_wise("0044 ", part(0, 4), " ", part(4, 10), ""),
    ]
    p = [0.25, 0.3, 0.12, 0.08, 0.17, 0.04, 0.04]
    phone = pc.choose(pa.array(rng.choice(len(formats), n, p=p)), *formats)
    missing = pa.array(rng.random(n) < 0.06)
    return pc.if_else(missing, pa.nulls(n, pa.string()), phone)
