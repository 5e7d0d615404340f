"""Canary customers as watermarks: decoys shown to chosen staff, so a leak names its source.

``code.py`` is the assignment code and its decoding, ``decoys.py`` makes the decoy
records, ``plan.py`` designs a plan, keeps it in the store and exports it for planting.
"""
