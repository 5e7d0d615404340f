"""Sealed evidence: an RFC 9162 Merkle log of every stored event, signed tree heads,
bundles for court and their offline verification (see docs/evidence.md)."""
