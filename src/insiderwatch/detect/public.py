"""Public figures: the famous customers, learned from who looks them up, with or without
a VIP list.

Few companies keep a list of their famous customers, and the ``is_vip`` flag of the ones
that do is always behind the news. What gives a famous customer away is the staff: their
record is opened by many people, of several peer groups, none of whom had a case about
them. So each day learns, once (:mod:`~insiderwatch.detect.daily`), from the case-less
look-ups of the days before (``revisit_days``, :mod:`~insiderwatch.detect.revisits`)
over the baseline window, per customer:

* the *strangers*: staff who looked the customer up with no case and never served them
  under a case in the window (``book_days``): an agent working a disputed order, or the
  VIP desk serving its clients, has a case for them and is no stranger; nor is a
  service account the day's routine knows (:mod:`~insiderwatch.detect.routine`);
* in how many peer groups those strangers sit, and their *attention*: the days on which
  each of them looked the customer up, added up.

A customer is a *public figure* when at least ``min_staff`` strangers in at least
``min_groups`` peer groups looked them up and their attention is above the ``quantile``
of all customers' (of those anyone looked up with no case): a popular caller draws a
stranger now and then as any customer does, once each, and what the busiest callers of
a large contact centre get is the tail the bar is set at, whatever the company's size;
a famous one draws several strangers who come back. Customers the context flags
``is_vip`` are public figures too. One snoop, or a pair of one team, never makes anyone
famous; nor does a case worked by many hands.

A figure the company is in frequent contact with (a VIP who calls every week, served
under cases by more staff than the ``contact_quantile`` of every customer anyone served)
draws case-less look-ups from work too: a transferred call, a colleague asked to look,
a case logged late. How many served them, and the company's bar, go with each figure;
the ``vip`` detector weighs a look-up of such a figure bar/served of one of a figure
nobody serves so often.

The day's figures are a temp table, ``daily_public_figures`` (customer, strangers,
groups, attention, the day's bar, flagged, served, the served bar): the look-up
allowance never counts a figure's look-up among the usual ones (:mod:`~insiderwatch.detect.allowance`),
``employee_days.unexplained_vip`` counts them, and the ``vip`` detector judges their
targeted case-less look-ups.
"""

from __future__ import annotations

from insiderwatch.detect.base import execute
from insiderwatch.detect.config import DetectionConfig
from insiderwatch.detect.routine import KNOWN_MACHINES

PUBLIC_FIGURES = "daily_public_figures"

# Join a step query's customers to this to ask "is a public figure": IS NOT NULL.
FIGURE_JOIN = f"LEFT JOIN {PUBLIC_FIGURES} pf ON pf.customer_id = {{}}"

_LEARN_SQL = """
CREATE OR REPLACE TEMP TABLE {into} AS
WITH served AS (  -- who had a case about whom in the window
  SELECT DISTINCT employee_id, customer_id FROM book_days WHERE day >= $b0 AND day < $day
),
machines AS ({machines}),  -- service accounts the routine knows: no person's curiosity
strangers AS (  -- case-less look-ups by staff who never served the customer under a case
  SELECT r.customer_id, r.employee_id, arg_max(r.peer_group, r.day) AS peer_group,
         count(*) AS days
  FROM revisit_days r
  ANTI JOIN served s USING (employee_id, customer_id)
  ANTI JOIN machines m USING (employee_id)
  WHERE r.day >= $b0 AND r.day < $day
  GROUP BY r.customer_id, r.employee_id
),
per_customer AS (
  SELECT customer_id, count(*) AS staff, count(DISTINCT peer_group) AS groups,
         sum(days) AS days
  FROM strangers GROUP BY customer_id
),
contact AS (  -- how many staff served each customer under a case in the window
  SELECT customer_id, count(*) AS served FROM served GROUP BY customer_id
),
contact_bar AS (  -- the tail of that over every customer anyone served
  SELECT coalesce(quantile_cont(served, $pf_contact_quantile), 0) AS served FROM contact
),
bar AS (  -- the tail of the attention every customer looked up with no case got
  SELECT coalesce(quantile_cont(days, $pf_quantile), 0) AS days FROM per_customer
),
learned AS (
  SELECT p.customer_id, p.staff, p.groups, p.days, b.days AS bar
  FROM per_customer p, bar b
  WHERE $pf_enabled AND p.staff >= $pf_staff AND p.groups >= $pf_groups AND p.days > b.days
)
SELECT customer_id, fig.staff, fig.groups, fig.days, fig.bar, fig.flagged,
       coalesce(c.served, 0) AS served, cb.served AS served_bar
FROM (
  SELECT coalesce(l.customer_id, f.customer_id) AS customer_id, l.staff, l.groups, l.days,
         l.bar, f.customer_id IS NOT NULL AS flagged
  FROM learned l
  FULL JOIN (SELECT customer_id FROM customers WHERE is_vip) f USING (customer_id)
) fig
LEFT JOIN contact c USING (customer_id)
CROSS JOIN contact_bar cb
"""


def _settings(cfg: DetectionConfig) -> dict:
    p = cfg.public_figures
    return {"pf_enabled": p.enabled, "pf_staff": p.min_staff, "pf_groups": p.min_groups,
            "pf_quantile": p.quantile, "pf_contact_quantile": p.contact_quantile}  # fmt: skip


def learn_public_figures(con, cfg: DetectionConfig, params: dict, *, into: str) -> None:
    """Write the day's public figures (``params['day']``) to the temp table ``into``,
    learned from the earlier days of the baseline window, with the customers the context
    flags VIP. Columns: customer_id, staff, groups and days (the strangers who taught it
    and their attention, NULL for a flagged one nobody's look-ups made famous), bar (the
    attention the day's figures had to pass), flagged, served (staff who served them
    under a case in the window) and served_bar (the company's contact_quantile of that
    over every customer anyone served)."""
    execute(
        con, _LEARN_SQL.format(into=into, machines=KNOWN_MACHINES), {**params, **_settings(cfg)}
    )
