"""Personal data handling: normalisation and keyed hashing of customer identifiers."""

from insiderwatch.privacy.hashing import HashKey, load_or_create_key
from insiderwatch.privacy.normalize import normalize_email, normalize_phone

__all__ = ["HashKey", "load_or_create_key", "normalize_email", "normalize_phone"]
