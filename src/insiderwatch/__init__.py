"""insiderwatch: watch how the workforce uses customer personal data."""

__version__ = "0.1.0"
