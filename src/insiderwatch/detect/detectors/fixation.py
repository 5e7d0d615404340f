"""Coming back to the same customer, with no case, on day after day.

The ex-partner or neighbour snoop looks one person up (or two or three) a few times over
weeks, never under a case. Each look-up is as small as a quick question and falls within
the peer group's case-less allowance, so no volume ever moves; what gives it away is
the return. Every step records each employee's case-less look-ups per customer and day
(:mod:`~insiderwatch.detect.revisits`, the allowance's included); this detector counts,
for each customer the employee looks up today, the separate days in the window
(``window_days``) on which they did, and fires from ``min_days`` on when the peers make
such returns far more rarely.

Ordinary work brings returns too: a customer who keeps calling, a popular account. How
often is learned from the peers, not fixed: over the window before today, the peer
group's staff (the employee left out) revisited some number of customers on at least
as many days, per case-less look-up they made. That rate, times the employee's own
case-less look-ups in the window, is how many such customers their work should bring
(a Poisson mean), and the chance of at least as many as they have is the finding's
surprise. Someone busier than their peers (their volume over the peers' look-ups weighed
by each one's own) has that rate raised by as much, up to the busiest peer's volume: at a
counter, a customer who comes back on their own meets the same member of staff again with
that member's share of the traffic, so the busiest member's returns are no rarity. A group with little history is pulled towards the whole company's rate
(weighted like ``prior_staff`` typical colleague), so a group of two neither fires on
everything nor hides everything; and never below ``floor_returns`` (half a return) over
the group's look-ups, or the company's rate where that is lower: a group that came back to
no one in 2,000 look-ups has a rate below about one in 2,000, not a rate of nil, and one
typical colleague at the company's rate says too little where people rarely come back (a
counter agent's one third day among 646 look-ups was a chance of 1e-4). The service
accounts the day's routine knows are no one's peers: a sync job that reads the same records
every night would otherwise set the company's rate (three jobs made every return of three
days in a company whose people made none), and hide a snoop's third day. For staff
outside a group that works from relationship books (:mod:`~insiderwatch.detect.groupbook`), the company's rate leaves those groups
out, their returns and their look-ups: a desk's returns are its members' own clients,
learned as such, and say nothing of how often anyone else comes back to a person (in a
bank whose private-banking desk made most of the returns, a complaints handler's three
days on one stranger, in a group with few case-less look-ups, looked usual). Only the
peers are the baseline: a snoop who started early does not make returning their own usual (their returns and their look-ups are left
out of the company's rate too). Someone alone in their group (its other staff made fewer
case-less look-ups in the window than one typical colleague: the one modeller who looks
customers up) is pulled not towards the company, whose rate the busiest returners set (a
branch's regulars, a relationship desk's clients), but towards the group whose staff look
customers up the way they do: the allowance's kinds of look-up (app, action, field set,
``allowance_kinds``, the employee's own rows left out), or the same action and fields in
any app where no other group uses theirs, or, where no other group opens those fields
either (a snoop who opens the address, notes and orders of one person in an HR tool), the
same action: then the group whose staff make it most (the reason names that group).
Never a group that works from relationship books (:mod:`~insiderwatch.detect.groupbook`): its returns
are each member's own clients, which looking customers up the same way gives nobody (a
lone snoop who works in the desk's app); and only where that group's rate is below the
company's, which it stands in for as the stricter line, never as a more lenient one.

How many returns reach ``n`` days is read from the whole depth of the peers' returns, not
only from those that reached n: early in a history, or in a small group, nobody may have
reached five days yet while many reached three or four (a relationship desk's clients),
and a count of zero at five would make any return that deep look impossible. Depth beyond
``min_days`` is taken as geometric, its rate estimated from all the returns, and the
larger of that prediction and the count seen is the peers' figure.

It fires once per customer and day, at the first look-up of that customer that day,
while the chance is at most ``max_chance``, weighing more the rarer (up to
``max_weight`` times), and more for a customer who shares the employee's surname or
postcode (``related_weight``) or whose contact details or address were opened
(``sensitive_weight``), and less (``book_weight``) for a client of the employee's
relationship book (:mod:`~insiderwatch.detect.groupbook`: a key-accounts desk's own
client, which the book explained): the desk's work, kept low in the queue rather than
dropped, since the book is learned from these very returns. A relative or neighbour never
enters a book, so such returns keep their full weight. Evidence is the first look-up of
each day of the window.

A client of the employee's relationship book is judged by how *deep* the return goes, not
by how many customers came back: how many of one's own clients reach ``min_days`` is the
size of one's book, which varies between members of a desk (thirty clients or two
hundred), so a member with a small book, calling each more often, had every client's
third day judged against the peers' rate per look-up and a finding for each. For such a
client the mean is the employee's customers at ``min_days`` or more so far times the
share of the peers' returns of ``min_days`` or more that reach ``n`` days (read from their
depth as above, with one return at the company's share as the prior): reaching
``min_days`` predicts itself. In a small book a client kept coming back to far deeper
than the peers' ever go still fires; in a large one it may not, since the mean grows
with the book (thirty clients come back to, at a share of 0.008 reaching that depth,
predict 0.24 such clients, where one is no rarity). Any other customer is judged by the
rate per look-up, as before.
"""

from __future__ import annotations

import msgspec

from insiderwatch.detect.base import Detector, StepContext, sql_list
from insiderwatch.detect.baseline import fmt_num
from insiderwatch.detect.explain import SENSITIVE_FIELDS
from insiderwatch.detect.groupbook import EXPLANATIONS as RELATIONSHIP_BOOKS
from insiderwatch.detect.groupbook import GROUP_BOOK
from insiderwatch.detect.ranges import AtLeastOne, NonNegative, Positive, Tail
from insiderwatch.detect.revisits import CASELESS_LOOKUP, window_looks_sql, window_returns_sql


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    window_days: AtLeastOne = 28
    min_days: AtLeastOne = 3  # separate days with a look-up of the customer, never fewer
    max_chance: Tail = 0.01  # of that many returns, at the peers' rate, to fire
    # A group's rate is pulled towards the company's as if one typical colleague's look-ups
    # were added: more, and the busiest group's returns (a contact centre's popular
    # customers) would set every quiet group's line.
    prior_staff: Positive = 1.0
    # A group whose staff came back to no one in thousands of case-less look-ups is judged
    # as if this many returns had been seen in them (or at the company's rate, if lower):
    # none in 2,000 look-ups says its rate is below about one in 2,000, not that it is nil,
    # and one typical colleague's look-ups at a company rate of people who rarely return
    # weigh too little to say so (a counter agent's one third day in 646 look-ups had a
    # chance of 1e-4).
    floor_returns: NonNegative = 0.5
    points: NonNegative = 12.0  # at max_chance; more the rarer, up to max_weight times
    max_weight: Positive = 3.0
    related_weight: NonNegative = 2.0  # same surname or postcode as the employee
    sensitive_weight: NonNegative = 1.5  # email, phone or address opened
    # A customer of the employee's relationship book (a key-accounts desk's own client): the
    # return is the desk's work, shown low in the queue rather than dropped, because the
    # book is learned from these very returns.
    book_weight: NonNegative = 0.25
    max_terms: AtLeastOne = 60  # of the Poisson tail summed (returns beyond this are certain)


# The window before the step's day, learned once a day.
SPAN = "daily_fixation_span"
STAFF = "daily_fixation_staff"
PAIRS = "daily_fixation_pairs"
LIKE = "daily_fixation_like"


def _like_sql(window_days: int, min_staff: int, book_groups: bool) -> str:
    """Per employee with targeted look-ups in the window, the other peer group whose work
    theirs most resembles (employee_id, grp): the one whose staff make the same kinds of
    look-up, the allowance's kinds (app, action, field set: ``allowance_kinds``, with a
    case or without), at least ``min_staff`` of them each (the allowance's
    ``kind_min_staff``), weighed by how many look-ups of that kind the employee made; where
    no other group makes their kinds, the same action and field set in any app (the one
    person who looks customers up in a modelling tool views them the way some desk does in
    its own); where no other group opens that field set either, the same action, the
    group whose staff make it most (an odd field set, as a lone snoop's in an HR tool,
    would otherwise leave them judged by the company's rate, which its busiest returners
    set). The employee's own rows never count for a group: someone who moved groups
    in the window is not matched to their old group by their own look-ups there, nor to
    the group they are in now. With ``book_groups``, groups that work from relationship
    books (:mod:`~insiderwatch.detect.groupbook`) are never resembled: their returns are
    each member's own clients, which looking customers up the same way does not give
    anyone (a lone snoop who works in the desk's app)."""
    books = f"AND x.grp NOT IN (SELECT peer_group FROM {GROUP_BOOK})" if book_groups else ""
    return f"""WITH hist AS (
  SELECT employee_id, peer_group, day, kind, regexp_extract(kind, '[^ ]* [^ ]*$') AS loose,
         regexp_extract(kind, '([^ ]*) [^ ]*$', 1) AS act, lookups
  FROM allowance_kinds
  WHERE day >= $day - INTERVAL {int(window_days)} DAY AND day < $day AND peer_group IS NOT NULL
),
now AS (SELECT employee_id, arg_max(peer_group, day) AS grp FROM hist GROUP BY employee_id),
mine AS (SELECT employee_id, kind, loose, act, sum(lookups) AS n FROM hist GROUP BY ALL),
own AS (SELECT DISTINCT employee_id, peer_group AS grp, kind, loose, act FROM hist),
exact AS (  -- each group's staff making each kind, and each action and field set
  SELECT peer_group AS grp, kind, count(DISTINCT employee_id) AS staff FROM hist GROUP BY ALL
),
loose AS (
  SELECT peer_group AS grp, loose, count(DISTINCT employee_id) AS staff FROM hist GROUP BY ALL
),
acts AS (
  SELECT peer_group AS grp, act, count(DISTINCT employee_id) AS staff FROM hist GROUP BY ALL
),
-- Each kind with the employee's group, made first: left to the planner, a replay joined
-- the other groups on the kind alone and tested the group in the employee join (2x).
mine_now AS MATERIALIZED (
  SELECT m.employee_id, m.kind, m.loose, m.act, m.n, now.grp AS own
  FROM mine m JOIN now USING (employee_id)
),
others AS (  -- per employee, kind and other group: that group's other staff making it
  SELECT m.employee_id, m.n, x.grp, 2 AS level,
         x.staff - CASE WHEN EXISTS (SELECT 1 FROM own o WHERE o.employee_id = m.employee_id
                                     AND o.grp = x.grp AND o.kind = m.kind) THEN 1 ELSE 0 END
           AS staff
  FROM mine_now m JOIN exact x ON x.kind = m.kind AND x.grp <> m.own {books}
  UNION ALL
  SELECT m.employee_id, m.n, x.grp, 1,
         x.staff - CASE WHEN EXISTS (SELECT 1 FROM own o WHERE o.employee_id = m.employee_id
                                     AND o.grp = x.grp AND o.loose = m.loose) THEN 1 ELSE 0 END
  FROM mine_now m JOIN loose x ON x.loose = m.loose AND x.grp <> m.own {books}
  UNION ALL
  SELECT m.employee_id, m.n, x.grp, 0,
         x.staff - CASE WHEN EXISTS (SELECT 1 FROM own o WHERE o.employee_id = m.employee_id
                                     AND o.grp = x.grp AND o.act = m.act) THEN 1 ELSE 0 END
  FROM mine_now m JOIN acts x ON x.act = m.act AND x.grp <> m.own {books}
),
scored AS (  -- per other group: its makers of the employee's kinds, per look-up of theirs
  SELECT employee_id, grp, level, sum(n * staff) AS score FROM others
  WHERE staff >= {int(min_staff)} GROUP BY ALL
)
SELECT employee_id, arg_max(grp, (level, score, grp)) AS grp FROM scored GROUP BY employee_id"""


def _shaped(seen: str, returns: str, excess: str) -> str:
    """The number of returns at least ``n`` days deep: those seen, or, if more, what the
    shape of all returns of ``min_days`` or more predicts (SQL over ``depths``). Early in
    a history, or in a small group, hardly anyone has reached n days yet, and a count of
    zero would call any return that deep impossible; a relationship desk whose staff come
    back to their clients three or four times shows the depth is common there. Depth past
    min_days is taken as geometric: each further day kept with the share ``excess / (excess
    + returns)`` of the returns (its maximum-likelihood estimate)."""
    shaped = f"{returns} * pow({excess} / ({excess} + {returns}), deeper)"
    return f"greatest({seen}, CASE WHEN {returns} > 0 THEN {shaped} ELSE 0 END)"


def _own_volume(own: str, peer_looks: str, peer_sq: str) -> str:
    """How much more often than the peers' rate per look-up someone busier than the peers
    comes back (SQL): a customer who comes back to a counter on their own meets the same
    member of staff again with that member's share of the counter's traffic, so returns
    per look-up grow with one's volume. The peers' rate is their returns over their
    look-ups, made at their volume weighed by look-ups (``peer_sq / peer_looks``), and
    the term is the employee's volume over that, linear (as the share of a second visit,
    not of every further day: a power per day took an ex-partner snoop at a busy counter
    out of the queue). ``own`` is capped by the caller at the busiest peer's volume, so
    padding with strangers buys cover up to the busiest colleague's rate and never past
    it, and the term is never below one: a quiet member is judged as before."""
    scale = f"{own} * {peer_looks} / {peer_sq}"
    return f"CASE WHEN {peer_sq} > 0 THEN greatest(1.0, {scale}) ELSE 1.0 END"


class Fixation(Detector):
    id = "fixation"
    version = "14"  # 11 and 12 name changes tried and dropped (docs/detections.md)
    title = "Coming back to the same customer with no case"
    description = (
        "Counts, for each customer the employee looks up today with no case (look-ups the "
        "allowance explained included), the separate days in the last four weeks with such "
        "a look-up; from the third on, compares the customers they came back to that often "
        "with what the peer group's rate of such returns per case-less look-up (read from "
        "the depth of all their returns, the employee's own left out; pulled towards the "
        "company's, which for staff outside a relationship desk leaves the desks' returns "
        "and look-ups out, never below half a return over the group's look-ups; the "
        "service accounts the routine knows left out of all) predicts "
        "for their amount of case-less work (raised for someone busier than the peers, "
        "up to the busiest peer's volume; for someone alone in their group, the rate of "
        "the group that looks customers up most like them where lower, never a book "
        "group's), and fires once per customer and "
        "day while the chance is small, weighing more for relatives and neighbours and for "
        "contact details or an address, less for a client of their relationship book, whose "
        "returns are judged by their depth against the depth of the peers' returns, not "
        "by how many clients came back."
    )
    why = (
        "Snooping on an ex-partner, a neighbour or a famous customer is a few small "
        "look-ups of the same person over weeks: each within every daily line and the "
        "group's allowance, only the return is unusual. It precedes stalking, harassment "
        "and fraud."
    )
    false_positives = (
        "A customer who keeps calling a general line the employee answers without logging "
        "a case; an employee following up an issue across days outside the case system "
        "(an engineer debugging one account)."
    )
    investigate = (
        "List the look-ups of that customer: days, times, fields opened (address, phone), "
        "whether any case or call explains one of them; check HR data for a relation and "
        "whether the customer complained of being contacted or followed."
    )
    Config = Config

    def daily(self, ctx: StepContext, config: Config) -> dict[str, str]:
        # What the window before today holds is the same for every step of the day.
        w = config.window_days
        return {
            # the peers' window: the last window_days before today, or all history there is
            SPAN: f"""SELECT greatest(min(day), ($day - INTERVAL {w} DAY)::DATE) AS start
  FROM revisit_days WHERE day >= $day - INTERVAL {w} DAY AND day < $day""",
            STAFF: window_looks_sql(w),  # everyone's case-less look-ups in the window
            # and how many separate days they came back to each customer
            PAIRS: window_returns_sql(w, config.min_days),
            # whose returns a group with little history of its own is pulled towards
            LIKE: _like_sql(
                w, ctx.config.allowance.kind_min_staff, ctx.config.book.relationship.enabled
            ),
        }

    def sql(self, ctx: StepContext, config: Config) -> str:
        c = config
        book_groups = (
            f"SELECT DISTINCT peer_group FROM {GROUP_BOOK}"
            if ctx.config.book.relationship.enabled
            else "SELECT NULL::VARCHAR AS peer_group WHERE FALSE"
        )
        return f"""
WITH today AS (  -- today's case-less look-ups: each customer's first, in time order
  SELECT t.employee_id, any_value(t.peer_group) AS peer_group, t.customer_id,
         min(t.time) AS time, arg_min(t.event_id, (t.time, t.event_id)) AS event_id,
         bool_or(list_has_any(t.fields, {sql_list(SENSITIVE_FIELDS)})) AS sensitive,
         coalesce(bool_or(list_contains({sql_list(RELATIONSHIP_BOOKS)}, t.explanation)), FALSE) AS in_book,
         any_value(em.surname) AS surname, any_value(em.home_postcode) AS home_postcode
  FROM step_touch t JOIN employees em USING (employee_id)
  WHERE t.in_step AND {CASELESS_LOOKUP}
  GROUP BY t.employee_id, t.customer_id
),
like_grp AS (SELECT * FROM {LIKE}),
span AS (SELECT * FROM {SPAN}),
mine AS (  -- the same employees' earlier days, per customer: a span as long as the peers'
  SELECT r.employee_id, r.customer_id, count(*) AS before, min(r.time) AS since,
         list(r.event_id ORDER BY r.day) AS event_ids
  FROM revisit_days r, span
  WHERE r.day > span.start AND r.day < $day
    AND r.employee_id IN (SELECT employee_id FROM today)
  GROUP BY ALL
),
book_groups AS ({book_groups}),  -- groups that work from relationship books: their
                                 -- returns set no one else's prior
staff AS (SELECT s.*, coalesce(s.peer_group IN (SELECT peer_group FROM book_groups), FALSE)
                        AS in_books
          FROM {STAFF} s),
candidates AS (  -- customers reaching min_days today, and whose work theirs resembles
  SELECT t.*, coalesce(m.before, 0) + 1 AS n, coalesce(m.since, t.time) AS since,
         list_append(coalesce(m.event_ids, []), t.event_id) AS event_ids, g.grp AS like_grp,
         coalesce(t.peer_group IN (SELECT peer_group FROM book_groups), FALSE) AS book_group
  FROM today t LEFT JOIN mine m USING (employee_id, customer_id)
  LEFT JOIN like_grp g USING (employee_id)
  WHERE coalesce(m.before, 0) + 1 >= {c.min_days}
),
theirs AS (  -- each employee's customers: earlier days, plus one once looked up today
  SELECT employee_id, coalesce(m.before, 0) AS before, t.time AS today_time
  FROM mine m FULL JOIN today t USING (employee_id, customer_id)
),
counted AS (  -- at each candidate look-up: customers at n days or more, and look-ups so far
  SELECT k.employee_id, k.customer_id, k.n,
         count(*) FILTER (WHERE a.before + CASE WHEN a.today_time <= k.time THEN 1 ELSE 0 END
                                >= k.n) AS returns,
         sum(a.before + CASE WHEN a.today_time <= k.time THEN 1 ELSE 0 END) AS looks,
         count(*) FILTER (WHERE a.before + CASE WHEN a.today_time <= k.time THEN 1 ELSE 0 END
                                >= {c.min_days}) AS returned
  FROM candidates k JOIN theirs a USING (employee_id)
  GROUP BY ALL
),
pairs AS (SELECT * FROM {PAIRS}),
depths AS (  -- per candidate: the returns of min_days or more, their depth, and how many
             -- reached the candidate's n; the peers', the resembling group's, then
             -- everyone's (the employee's own left out of all: a snoop's returns never
             -- make such depth look usual)
  SELECT employee_id, customer_id, n - {c.min_days} AS deeper,
         count(days) FILTER (WHERE days >= n AND peer) AS peer_n,
         count(days) FILTER (WHERE peer) AS peer_m,
         coalesce(sum(days - {c.min_days}) FILTER (WHERE peer), 0) AS peer_excess,
         count(days) FILTER (WHERE days >= n AND alike) AS like_n,
         count(days) FILTER (WHERE alike) AS like_m,
         coalesce(sum(days - {c.min_days}) FILTER (WHERE alike), 0) AS like_excess,
         count(days) FILTER (WHERE days >= n AND other) AS all_n,
         count(days) FILTER (WHERE other) AS all_m,
         coalesce(sum(days - {c.min_days}) FILTER (WHERE other), 0) AS all_excess
  FROM (
    SELECT k.*, p.days,
           p.employee_id <> k.employee_id AND (k.book_group OR NOT p.book_group) AS other,
           p.peer_group = k.peer_group AND p.employee_id <> k.employee_id AS peer,
           p.peer_group = k.like_grp AND p.employee_id <> k.employee_id AS alike
    FROM candidates k
    LEFT JOIN (SELECT p.*, s.peer_group, s.in_books AS book_group
               FROM pairs p JOIN staff s USING (employee_id)) p ON TRUE
  ) k
  GROUP BY ALL
),
rates AS (  -- the returns that often: seen, or what the depths' shape predicts if more
  SELECT employee_id, customer_id,
         {_shaped("peer_n", "peer_m", "peer_excess")} AS peer_returns,
         {_shaped("like_n", "like_m", "like_excess")} AS like_returns,
         {_shaped("all_n", "all_m", "all_excess")} AS all_returns,
         peer_m, all_m,
         -- the share of returns of min_days that go n days deep: the company's depth, as
         -- _shaped reads it, with half a day more and half a return more (so that, with
         -- no return seen, each further day halves it): the floor's depth
         pow((all_excess + 0.5) / (all_excess + all_m + 1), deeper) AS floor_depth
  FROM depths
),
looks AS (  -- the case-less look-ups the returns above came from: the peer group's, the
           -- resembling group's, and the company's scale (a typical colleague's, and
           -- all), the employee's own
           -- left out as from the returns, or a snoop's own look-ups would dilute the
           -- company's rate their returns are judged by
  SELECT t.employee_id, t.customer_id,
         coalesce(sum(s.looks) FILTER (WHERE s.peer_group = t.peer_group), 0) AS peer_looks,
         -- the peers' look-ups weighed by each one's own (a look-up's colleague's volume)
         -- and their busiest colleague's: the own-volume term's scale and cap
         coalesce(sum(s.looks * s.looks) FILTER (WHERE s.peer_group = t.peer_group), 0)
           AS peer_sq,
         max(s.looks) FILTER (WHERE s.peer_group = t.peer_group) AS peer_most,
         coalesce(sum(s.looks) FILTER (WHERE s.peer_group = t.like_grp), 0) AS like_looks,
         {c.prior_staff} * median(s.looks) FILTER (WHERE t.book_group OR NOT s.in_books) AS k,
         sum(s.looks) FILTER (WHERE t.book_group OR NOT s.in_books) AS all_looks
  FROM candidates t
  LEFT JOIN staff s ON s.employee_id <> t.employee_id
  GROUP BY ALL
),
priors AS (  -- the company's rate, and the resembling group's where it is stricter: it
             -- stands in for a company rate its busiest returners set, never for a more
             -- lenient one (a lone snoop who works in a relationship desk's app would
             -- otherwise be judged by the desk's returns to its own clients)
  SELECT employee_id, customer_id, x.returns, x.looks, x.returned, r.peer_returns, l.peer_looks,
         l.peer_sq, l.peer_most, r.floor_depth,
         l.k, (r.peer_returns + (r.all_returns + 0.5) / (r.all_m + 0.5)) / (r.peer_m + 1) AS reach,
         (r.all_returns + 0.5) / l.all_looks AS all_rate,
         (r.like_returns + 0.5) / nullif(l.like_looks, 0) AS like_rate,
         l.like_looks > 0 AND l.peer_looks < l.k AND like_rate < all_rate AS alike
  FROM counted x
  JOIN rates r USING (employee_id, customer_id)
  JOIN looks l USING (employee_id, customer_id)
  WHERE l.all_looks > 0  -- nothing learned from anyone else yet: no rate to judge by
),
expected AS (  -- the peers' rate, pulled towards the company's; where the peers made fewer
                -- case-less look-ups than one typical colleague (someone alone in their
                -- group), towards the group that looks customers up the same way instead
                -- where its rate is lower: the company's is set by its busiest returners
                -- (tellers' regulars). A client of their relationship book: their customers
                -- at min_days or more times the share of the peers' returns reaching n
                -- (the prior: one return at the company's share); its depth is judged,
                -- not how many clients a book of their size brings back. The share is at
                -- most one: the returns at n days, seen or shaped, never outnumber those
                -- at min_days, for the peers and the company alike. Never below
                -- floor_returns over the peers' look-ups (or the prior's rate if lower):
                -- no return among thousands says the rate is below about one in as
                -- many, not that it is nil
  SELECT k.*, p.returns, p.looks, p.returned, p.peer_returns, p.peer_looks, p.k, p.alike,
         CASE WHEN k.in_book THEN p.returned * p.reach
              ELSE p.looks * greatest((p.peer_returns + p.k * p.prior) / (p.peer_looks + p.k),
                                      least(p.prior, {c.floor_returns} * p.floor_depth
                                                     / (p.peer_looks + p.k)))
                   * {_own_volume("least(p.looks, p.peer_most)", "p.peer_looks", "p.peer_sq")}
              END AS mean
  FROM candidates k
  JOIN (SELECT *, CASE WHEN alike THEN like_rate ELSE all_rate END AS prior FROM priors) p
    USING (employee_id, customer_id)
),
chance AS (  -- P(at least `returns` such customers) for a Poisson count of that mean
  SELECT x.employee_id, x.customer_id,
         -- summed in term order: a float sum in whatever order threads add it differs in
         -- its last digits between a replay and a day cut into steps
         least(1.0, list_sum(list(exp(-x.mean + i.i * ln(x.mean) - lgamma(i.i + 1))
                                  ORDER BY i.i))) AS p
  FROM expected x CROSS JOIN range({c.max_terms}) i(i)
  WHERE i.i >= x.returns AND x.mean > 0
  GROUP BY ALL
),
scored AS (
  SELECT x.*, h.p,
         least({c.max_weight}, ln(greatest(h.p, 1e-300)) / ln({c.max_chance}))
         * CASE WHEN x.sensitive THEN {c.sensitive_weight} ELSE 1.0 END
         * CASE WHEN (lower(cu.surname) = lower(x.surname) AND cu.surname <> '')
                  OR (cu.postcode = x.home_postcode AND cu.postcode <> '')
                THEN {c.related_weight} ELSE 1.0 END
         * CASE WHEN x.in_book THEN {c.book_weight} ELSE 1.0 END AS weight
  FROM expected x JOIN chance h USING (employee_id, customer_id)
  JOIN customers cu USING (customer_id)
  WHERE h.p <= {c.max_chance}
)
SELECT employee_id, time, since AS first_time, {c.points} * weight AS points,
       CASE WHEN p <= {c.max_chance} * {c.max_chance} THEN 'medium' ELSE 'low' END AS severity,
       FALSE AS critical, strftime($day, '%Y-%m-%d') || ':' || customer_id AS key,
       format('came back to customer {{}} with no case on {{}} separate days since {{}}; '
              || '{{}} customer(s) revisited that often {{}}, where '
              || 'the peer group''s {{}} predicts {{}} (chance {{}})',
              customer_id, n, strftime(since, '%Y-%m-%d'), returns,
              CASE WHEN in_book
                   THEN format('of the {{}} they came back to on {c.min_days} days or more',
                               returned)
                   ELSE 'over ' || {fmt_num("looks")} || ' case-less look-ups' END,
              CASE WHEN in_book THEN 'depth of returns' ELSE 'rate of such returns' END,
              -- below one, significant digits: "predicts 0.0" says nothing
              CASE WHEN mean < 1 THEN printf('%.2g', mean) ELSE {fmt_num("mean")} END,
              printf('%.1e', p))
       || CASE WHEN alike
               THEN format(' (few look-ups in the peer group: pulled towards {{}}, whose staff '
                           || 'look customers up most like theirs)', like_grp) ELSE '' END
       || CASE WHEN in_book THEN '; a customer of their relationship book' ELSE '' END
         AS reason,
       event_ids, [customer_id] AS customer_ids
FROM scored
"""
