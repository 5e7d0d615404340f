"""Customers an employee may know personally: the ones no explanation of an amount or a
book may cover.

A look-up of a relative, a neighbour or an ex-partner is what the ``relationship``
detector judges, so the explanations that vouch for an amount of look-ups or for whom
someone serves (the allowance, the customer and relationship books, follow-ups) leave
such a customer to it: one who lives in the employee's home postcode, or who shares the
employee's surname when that surname is rare among the customers. A surname that many
customers share (more than ``namesake_max_share`` of them, the relationship detector's own
setting, counted in the customer table) says nothing about kinship: an engineer called
Jones who debugs the account of another Jones is no relative of theirs, and the
relationship detector does not judge it either. A surname only one customer holds is
never common, however few the customers: one holder is no evidence of how common a
name is (in a customer base of two hundred it is half a percent). Leaving every namesake to a detector
that ignores common names left those look-ups unexplained by anything, however usual
their amount.

The common surnames are learned once a day with the day's other learned tables
(``daily_common_surnames``, :mod:`~insiderwatch.detect.daily`): counting them scans the
whole customer table, which a live step a second cannot afford; a changed customer table
is a context change, so the next step learns them again.
"""

from __future__ import annotations

from insiderwatch.detect.base import execute
from insiderwatch.detect.catalog import history_config
from insiderwatch.detect.config import DetectionConfig
from insiderwatch.detect.detectors.relationship import Relationship

COMMON_SURNAMES = "daily_common_surnames"

_COMMON_SQL = f"""
CREATE OR REPLACE TEMP TABLE {COMMON_SURNAMES} AS
SELECT lower(surname) AS surname FROM customers WHERE surname <> '' GROUP BY ALL
HAVING count(*) > greatest(1, $share * (SELECT count(*) FROM customers))
"""


def learn_common_surnames(con, cfg: DetectionConfig) -> None:
    """Write the surnames too common among the customers to tell a relative by: held by
    more than the relationship detector's ``namesake_max_share`` of them, and by two at
    least. The setting is one of the detector's ``history_settings``: changing it replays
    every day's explanations."""
    # as the state is recorded with it (a disabled detector's config is never read)
    share = history_config(Relationship, cfg).namesake_max_share
    execute(con, _COMMON_SQL, {"share": share})


def known_person_sql(customer: str, employee: str) -> str:
    """SQL: the customer (a ``customers`` row aliased ``customer``) lives in the home
    postcode of the employee (a row with ``surname`` and ``home_postcode`` aliased
    ``employee``), or shares their surname where that surname is rare among customers."""
    c, e = customer, employee
    return f"""(({c}.postcode <> '' AND {c}.postcode = {e}.home_postcode)
        OR ({c}.surname <> '' AND lower({c}.surname) = lower({e}.surname)
            AND lower({c}.surname) NOT IN (SELECT surname FROM {COMMON_SURNAMES})))"""
