from __future__ import annotations

import msgspec

from insiderwatch.detect.base import Detector, StepContext
from insiderwatch.detect.ranges import NonNegative, Share


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    household_points: NonNegative = 25.0  # same surname and postcode as the employee
    neighbour_points: NonNegative = 12.0  # lives in the employee's postcode
    # A shared surname counts only when it is rare among customers (Smith says nothing).
    namesake_points: NonNegative = 12.0
    namesake_max_share: Share = 0.002


class Relationship(Detector):
    id = "relationship"
    version = "1"
    title = "Looking up family, neighbours or namesakes"
    description = (
        "Unexplained targeted look-ups (at most targeted_max_customers customers shown) of "
        "customers who share the employee's surname and postcode "
        "(household), live in the employee's postcode (neighbour), or share a rare surname "
        "(relative or ex-partner)."
    )
    why = (
        "Snooping on people one knows is the commonest privacy breach by staff in every "
        "sector (patient-privacy monitoring started with it), and leads to stalking, "
        "harassment and fraud."
    )
    false_positives = (
        "Staff who are also customers serving their own household by mistake or through a "
        "case opened later; common surnames in a small country (kept out by the rarity "
        "test); large postcodes."
    )
    investigate = (
        "Confirm the relation with HR data; check what was viewed (address, orders, "
        "notes) and whether it was changed; relationship snooping usually warrants a "
        "conversation with the employee and their manager."
    )
    Config = Config
    # The explanations' guards (detect/kin.py) read the rarity line too: it decides which
    # look-ups the allowance and the books may cover, recorded in every day's state.
    history_settings = ("namesake_max_share",)

    def sql(self, ctx: StepContext, config: Config) -> str:
        # Unexplained targeted touches, not revisits' CASELESS_LOOKUP: neither the
        # allowance nor a book ever explains a relative or a neighbour.
        c = config
        return f"""
WITH surname_share AS (
  SELECT lower(surname) AS surname, count(*) / (SELECT count(*) FROM customers) AS share
  FROM customers WHERE surname <> '' GROUP BY ALL
),
hits AS (
  SELECT t.employee_id, t.time, t.event_id, t.customer_id,
         lower(cu.surname) = lower(e.surname) AND cu.surname <> '' AS same_name,
         cu.postcode = e.home_postcode AND cu.postcode <> '' AS same_postcode,
         coalesce(s.share, 1) <= {c.namesake_max_share} AS rare_name
  FROM step_touch t
  JOIN employees e USING (employee_id)
  JOIN customers cu USING (customer_id)
  LEFT JOIN surname_share s ON s.surname = lower(cu.surname)
  WHERE t.in_step AND NOT t.explained AND t.breadth <= $targeted
),
kinds AS (
  SELECT *, CASE WHEN same_name AND same_postcode THEN 'household'
                 WHEN same_postcode THEN 'neighbour'
                 WHEN same_name AND rare_name THEN 'namesake' END AS kind
  FROM hits
)
SELECT employee_id, min(time) AS time, min(time) AS first_time,
       CASE kind WHEN 'household' THEN {c.household_points}
                 WHEN 'neighbour' THEN {c.neighbour_points}
                 ELSE {c.namesake_points} END AS points,
       CASE kind WHEN 'household' THEN 'high' ELSE 'medium' END AS severity,
       FALSE AS critical,
       strftime($day, '%Y-%m-%d') || ':' || kind || ':' || customer_id AS key,
       format('viewed a customer who is {{}} ({{}}) with no case',
              CASE kind WHEN 'household' THEN 'in their household (same surname and postcode)'
                        WHEN 'neighbour' THEN 'a neighbour (same postcode as their home)'
                        ELSE 'a namesake (same rare surname)' END,
              customer_id) AS reason,
       [arg_min(event_id, (time, event_id))] AS event_ids, [customer_id] AS customer_ids
FROM kinds WHERE kind IS NOT NULL
GROUP BY employee_id, kind, customer_id
"""
