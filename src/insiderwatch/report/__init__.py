"""Breach response: the exact scope of what an insider exposed, notices to the customers
affected, and the report regulators need, with their deadlines (see docs/breach.md)."""
