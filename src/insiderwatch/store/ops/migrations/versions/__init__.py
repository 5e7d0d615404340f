"""One module per schema revision; each names the one before it (``down_revision``)."""
