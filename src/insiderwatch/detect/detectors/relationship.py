from __future__ import annotations

import msgspec

from insiderwatch.detect.base import Detector, StepContext, opening_action_sql
from insiderwatch.detect.baseline import quantile_name
from insiderwatch.detect.ranges import (
    AtLeastOne,
    NonNegative,
    Quantile,
    Share,
    Tail,
    check_order,
)


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    household_points: NonNegative = 25.0  # same surname and postcode as the employee
    neighbour_points: NonNegative = 12.0  # lives in the employee's postcode
    # A shared surname counts only when it is rare among customers (Smith says nothing).
    namesake_points: NonNegative = 12.0
    namesake_max_share: Share = 0.002
    # A kin look-up weighs by the chance that the employee's own case-less look-ups of the
    # baseline window's earlier days would meet that many customers of the kind (those
    # living in their postcode, sharing their surname) among strangers: in full at
    # full_weight_chance or rarer, nothing at routine_chance or more, on a log scale between.
    # Someone who looks up hundreds of walk-in customers a week meets a neighbour now and
    # then; someone who looks up a few meets one only by looking for them.
    full_weight_chance: Tail = 0.01
    routine_chance: Tail = 0.5
    # Of the Poisson sum: more kin met than this is never chance (p 0, full weight).
    max_terms: AtLeastOne = 30
    # The look-ups counted are at most this quantile of the other members of the peer
    # group's (their case-less customers over the same days; 1: the busiest of them):
    # looking up strangers beyond what the peers do buys no chance, while a counter whose
    # whole group looks up hundreds keeps it. With no other member, the employee's own.
    peer_quantile: Quantile = 1.0
    min_points: NonNegative = 1.0  # a kin look-up weighing less is no finding

    def __post_init__(self) -> None:
        check_order(self, "full_weight_chance", "routine_chance",
                    "the weight grows from nothing at routine_chance to full at "
                    "full_weight_chance")  # fmt: skip


class Relationship(Detector):
    id = "relationship"
    version = "5"
    title = "Looking up family, neighbours or namesakes"
    description = (
        "Unexplained targeted look-ups (at most targeted_max_customers customers shown) of "
        "customers who share the employee's surname and postcode "
        "(household), live in the employee's postcode (neighbour), or share a rare surname "
        "(relative or ex-partner), each weighted by how rare meeting that many such "
        "customers is among the employee's own case-less look-ups of the baseline window: "
        "the customers of their postcode or surname, a share of all customers, times the "
        "customers they looked up with no case, at most peer_quantile of their peers' (nothing where it is likely by chance, in "
        "full at full_weight_chance). A kin only listed among others by a search (never "
        "opened by a view or a search that found only them) weighs 1/breadth of one opened."
    )
    why = (
        "Snooping on people one knows is the commonest privacy breach by staff in every "
        "sector (patient-privacy monitoring started with it), and leads to stalking, "
        "harassment and fraud."
    )
    false_positives = (
        "Staff who are also customers serving their own household by mistake or through a "
        "case opened later; common surnames in a small country (kept out by the rarity "
        "test); large postcodes; counter staff serving their own neighbourhood (weighed "
        "by how many strangers they look up)."
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
        # allowance nor a book ever explains a relative or a neighbour. How likely the kin
        # are by chance is read from revisit_days (the employee's case-less targeted
        # look-ups, one row per customer and day) of the baseline window's earlier days:
        # more kin met is only ever rarer, so a snoop's returns cannot teach it.
        c = config
        return f"""
WITH surname_share AS (
  SELECT lower(surname) AS surname, count(*) / (SELECT count(*) FROM customers) AS share
  FROM customers WHERE surname <> '' GROUP BY ALL
),
hits AS (
  SELECT t.employee_id, t.peer_group, t.time, t.event_id, t.customer_id, t.breadth,
         {opening_action_sql("t.action")} AS opened,
         -- singled out: a view (any access but a search), or a search that found only them
         (t.action <> 'search' OR t.breadth = 1) AS singled,
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
),
today AS (  -- each kin customer once, at the first touch that singled them out (else
            -- the first listing: the weight it carries is known only from then on); the
            -- n-th of its kind today, counting those before it as `met` does: the ones a
            -- view or search opened
  SELECT *, 1 + coalesce(sum(opened::INT) OVER (
              PARTITION BY employee_id, kind ORDER BY time, customer_id
              ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS nth
  FROM (SELECT employee_id, any_value(peer_group) AS peer_group, kind, customer_id,
               coalesce(min(time) FILTER (WHERE singled), min(time)) AS time,
               bool_or(opened) AS opened, bool_or(singled) AS singled,
               min(breadth) AS breadth,
               coalesce(arg_min(event_id, (time, event_id)) FILTER (WHERE singled),
                        arg_min(event_id, (time, event_id))) AS event_id
        FROM kinds WHERE kind IS NOT NULL GROUP BY ALL)
),
judged AS (  -- the staff with a kin look-up today: the only ones the rest is about
  SELECT employee_id, surname, home_postcode FROM employees SEMI JOIN today USING (employee_id)
),
kin AS (  -- every customer of their postcode or surname, by kind, as `kinds` names them
  SELECT e.employee_id, cu.customer_id,
         CASE WHEN lower(cu.surname) = lower(e.surname) AND cu.surname <> '' THEN 'household'
              ELSE 'neighbour' END AS kind
  FROM judged e JOIN customers cu ON cu.postcode = e.home_postcode
  WHERE cu.postcode <> ''
  UNION  -- a household is met by both joins, once
  SELECT e.employee_id, cu.customer_id,
         CASE WHEN cu.postcode = e.home_postcode AND cu.postcode <> '' THEN 'household'
              ELSE 'namesake' END
  FROM judged e JOIN customers cu ON lower(cu.surname) = lower(e.surname)
  WHERE cu.surname <> ''
),
kin_share AS (
  SELECT employee_id, kind, count(*) / (SELECT count(*) FROM customers) AS share
  FROM kin GROUP BY ALL
),
own AS (  -- their case-less customers of the window's earlier days
  SELECT employee_id, count(DISTINCT customer_id) AS looked
  FROM revisit_days SEMI JOIN judged USING (employee_id)
  WHERE day >= $b0 AND day < $day
  GROUP BY ALL
),
peers AS (  -- the other members' case-less customers of the days they were in the peer
            -- group (what a colleague looked up in another group is not this group's
            -- usual); only those who looked anyone up: one who works from cases (or only
            -- logged in) sets no line, or it would be 0 and every kin look-up full weight
  SELECT t.employee_id, r.employee_id AS peer, count(DISTINCT r.customer_id) AS looked
  FROM (SELECT DISTINCT employee_id, peer_group FROM today) t
  JOIN revisit_days r ON r.peer_group = t.peer_group AND r.employee_id <> t.employee_id
  WHERE r.day >= $b0 AND r.day < $day
  GROUP BY ALL
),
looked AS (  -- their own, at most the peers' line: padding past it buys no chance
  SELECT t.employee_id, coalesce(o.looked, 0) AS own,
         least(coalesce(o.looked, 0), coalesce(p.line, o.looked, 0)) AS looked
  FROM judged t
  LEFT JOIN own o USING (employee_id)
  LEFT JOIN (SELECT employee_id, quantile_cont(looked, {c.peer_quantile}) AS line
             FROM peers GROUP BY ALL) p USING (employee_id)
),
met AS (  -- the kin among them, by kind (today's counted by `nth`)
  SELECT r.employee_id, k.kind, count(DISTINCT r.customer_id) AS met
  FROM revisit_days r JOIN kin k USING (employee_id, customer_id)
  WHERE r.day >= $b0 AND r.day < $day
    AND (r.employee_id, r.customer_id) NOT IN (SELECT employee_id, customer_id FROM today)
  GROUP BY ALL
),
expected AS (  -- kin met so far (today's n-th included) and what chance would bring
  SELECT t.*, coalesce(l.own, 0) AS own, coalesce(l.looked, 0) AS looked, t.nth + coalesce(m.met, 0) AS met,
         coalesce(l.looked, 0) * coalesce(k.share, 0) AS mean
  FROM today t LEFT JOIN looked l USING (employee_id)
  LEFT JOIN met m USING (employee_id, kind) LEFT JOIN kin_share k USING (employee_id, kind)
),
chance AS (  -- P(at least `met` such customers) for a Poisson count of that mean
  SELECT *, CASE WHEN mean <= 0 OR met > {c.max_terms} THEN 0.0
                 ELSE greatest(0.0, 1.0 - below) END AS p
  FROM (
    SELECT x.*,
           -- summed in term order: a float sum in whatever order threads add it differs
           -- in its last digits between a replay and a day cut into steps
           list_sum(list(exp(-x.mean + i.i * ln(greatest(x.mean, 1e-300)) - lgamma(i.i + 1))
                         ORDER BY i.i)) AS below
    FROM expected x JOIN range({c.max_terms}) i(i) ON i.i < x.met
    GROUP BY ALL
  )
),
weighed AS (
  SELECT *, CASE WHEN p <= {c.full_weight_chance} THEN 1.0
                 ELSE ln(p / {c.routine_chance}) / ln({c.full_weight_chance} / {c.routine_chance})
                 END AS weight
  FROM chance WHERE p < {c.routine_chance}
),
pointed AS (  -- a kin only listed among others by searches weighs 1/breadth of one singled
               -- out: a name search lists the namesakes of whoever it is for, together
  SELECT *, weight * CASE kind WHEN 'household' THEN {c.household_points}
                               WHEN 'neighbour' THEN {c.neighbour_points}
                               ELSE {c.namesake_points} END
                   * CASE WHEN singled THEN 1.0 ELSE 1.0 / greatest(breadth, 1) END AS points
  FROM weighed
)
SELECT employee_id, time, time AS first_time, points,
       CASE kind WHEN 'household' THEN 'high' ELSE 'medium' END AS severity,
       FALSE AS critical,
       strftime($day, '%Y-%m-%d') || ':' || kind || ':' || customer_id AS key,
       format('{{}} a customer who is {{}} ({{}}) with no case ({{}} such customer(s) met '
              || 'since {{}} among {{}} looked up with no case before today{{}}, where '
              || 'chance predicts {{}}; chance {{}}{{}})',
              CASE WHEN singled THEN 'viewed' ELSE 'listed' END,
              CASE kind WHEN 'household' THEN 'in their household (same surname and postcode)'
                        WHEN 'neighbour' THEN 'a neighbour (same postcode as their home)'
                        ELSE 'a namesake (same rare surname)' END,
              customer_id, met, strftime($b0, '%Y-%m-%d'), printf('%.0f', looked),
              CASE WHEN own > looked THEN format(' (of their {{}}: counted no higher than '
                                                 || 'the peers'' {quantile_name(c.peer_quantile)})',
                                                 own) ELSE '' END,
              printf('%.2g', mean), printf('%.1e', p),
              CASE WHEN singled THEN ''
                   ELSE format('; only listed among {{}} by a search, weighing 1/{{}} of one '
                               || 'opened', breadth, breadth) END) AS reason,
       [event_id] AS event_ids, [customer_id] AS customer_ids
FROM pointed WHERE points >= {c.min_points}
"""
