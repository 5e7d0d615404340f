"""Stable keyed pseudonyms for staff: what consoles and outgoing messages show.

A pseudonym is an HMAC of the employee id with the deployment key, so the same person has
the same pseudonym in every message (an analyst can follow them) while nobody without the
key can tell who it is or link it to another deployment. Unmasking is a separate,
audited step.
"""

from __future__ import annotations

import base64

from insiderwatch.privacy.hashing import HashKey

PREFIX = "anon-"
LENGTH = 8  # 40 bits: collisions stay unlikely for a workforce of millions


def pseudonym(key: HashKey, employee_id: str) -> str:
    """``anon-`` + eight base32 characters of the keyed hash of ``employee_id``."""
    digest = bytes.fromhex(key.digest("pseudonym", employee_id) or "")
    return PREFIX + base64.b32encode(digest).decode("ascii")[:LENGTH].lower()
