"""Alembic migrations of the operational store, run on every open (``upgrade head``)."""
