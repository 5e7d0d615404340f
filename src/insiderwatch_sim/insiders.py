"""Insider scenarios: staff who misuse their access, mixed into their normal work.

Insiders are picked before the schedule is built (a departing exporter needs a departure
date) and before customer strings exist (a relationship snooper needs relatives and
neighbours among the customers). Their malicious events start only after a few days, so
every detector gets a baseline first, and stay inside their shifts unless the scenario says
otherwise (exfiltration often happens hours after the harvesting).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from insiderwatch_sim.company import NO_DAY, ROLE, Customers, Roster
from insiderwatch_sim.config import SimulationConfig
from insiderwatch_sim.kit import DAY, HOUR, MINUTE, SECOND, dedupe_ragged, expand
from insiderwatch_sim.profiles import BLATANT_SCENARIOS
from insiderwatch_sim.schedule import Schedule
from insiderwatch_sim.vocab import ACT, APP, DEST, FS
from insiderwatch_sim.world import World

# The classic profile's scenarios; profiles choose theirs from these and RULE_AWARE_SCENARIOS.
SCENARIOS: tuple[str, ...] = BLATANT_SCENARIOS
# Scenarios that run for weeks start early in the window.
_LONG_RUNNING = ("slow_drip", "low_and_slow", "spread_harvest", "accomplices", "ex_partner_snoop",
                 "dispute_skim", "walkin_drip", "book_snoop")  # fmt: skip
# Roles an insider may hold; VIP care is excluded because VIP look-ups are its normal work.
_INSIDER_ROLES = ("cs_agent", "seller_support", "supervisor", "fraud_investigator",
                  "engineer", "data_analyst")  # fmt: skip
# Scenarios only some staff can play: (role, team kind or None), and the scenario played
# instead in a company with nobody fitting.
_CAST: dict[str, tuple[str, str | None, str]] = {
    "dispute_skim": ("fraud_investigator", None, "ticket_cover"),  # investigations of their own
    "walkin_drip": ("cs_agent", "desk", "low_and_slow"),  # a walk-in counter's routine
    "book_snoop": ("cs_agent", "book", "low_and_slow"),  # a relationship desk's routine
}
_EXFIL_DESTINATIONS = ("personal_email", "cloud:dropbox", "usb", "external:filedrop.example",
                       "cloud:google-drive", "external:paste.example")  # fmt: skip


@dataclass
class Insider:
    number: int
    emp: int
    scenario: str
    start_day: int  # malicious activity starts on or after this day
    group: int = -1  # accomplices: the number of the pair's lead (the lead's own number)


def warm_up_days(days: int) -> int:
    """Days of clean history before any malicious event."""
    return min(max(2, min(5, days // 5)), max(days - 1, 0))


def choose_insiders(
    cfg: SimulationConfig, rng: np.random.Generator, roster: Roster, customers: Customers
) -> list[Insider]:
    r = roster
    staff = len(r.staff)
    n = round(cfg.insider_rate * staff)
    kinds = cfg.company.scenarios
    if cfg.insider_rate > 0 and cfg.employees >= 600:
        n = max(n, len(kinds))
    kind = r.team_kind(np.arange(r.n))
    eligible = np.flatnonzero(
        np.isin(r.role, [ROLE[x] for x in _INSIDER_ROLES])
        & (kind != "vip")
        & (r.hired_day <= -30)  # long enough in post to have a history
        & (r.departs_day >= NO_DAY)
        & (r.transfer_day >= NO_DAY)
        & (r.home_pc >= 0)
    )
    n = min(n, len(eligible))
    if n == 0:
        return []
    chosen = rng.choice(eligible, n, replace=False)
    # Shuffled rounds of all scenarios: each kind appears once before any repeats, and the
    # mix stays balanced for benchmarks.
    rounds = -(-n // len(kinds))
    scenarios = [str(x) for _ in range(rounds) for x in rng.permutation(kinds)][:n]
    chosen = _cast(r, kind, chosen, scenarios, np.setdiff1d(eligible, chosen), rng)
    days = cfg.days
    warm = warm_up_days(days)
    out: list[Insider] = []
    for number, (emp, scenario) in enumerate(zip(chosen.tolist(), scenarios, strict=True)):
        if scenario in _LONG_RUNNING:  # starts early: it runs for weeks
            start = int(rng.integers(warm, max(warm + 1, int(days * 0.3))))
        elif scenario == "departing_exporter":
            leaves = int(rng.integers(max(warm + 2, int(days * 0.6)), days + 7))
            r.departs_day[emp] = leaves
            start = max(warm, leaves - 21)
        else:
            start = int(rng.integers(warm, max(warm + 1, int(days * 0.55))))
        if scenario == "relationship_snooping":
            _ensure_relatives(rng, customers, int(r.surname[emp]), int(r.home_pc[emp]))
        out.append(Insider(number, emp, scenario, start))
    free = np.setdiff1d(eligible, chosen)
    partners = _partners(rng, r, out, free)
    free = np.setdiff1d(free, [p.emp for p in partners])
    return out + partners + _crowds(rng, r, out, len(out) + len(partners), free)


def _cast(
    r: Roster,
    team_kind: np.ndarray,
    chosen: np.ndarray,
    scenarios: list[str],
    free: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """Give each scenario that needs particular staff someone who fits: swap with a chosen
    one playing an open scenario, else take a free one, else play the stand-in scenario."""
    chosen = chosen.copy()
    for i, kind in enumerate(scenarios):
        if kind not in _CAST:
            continue
        role, team, instead = _CAST[kind]
        fits = (r.role == ROLE[role]) & ((team_kind == team) if team else True)
        if fits[chosen[i]]:
            continue
        swap = [j for j, k in enumerate(scenarios) if k not in _CAST and fits[chosen[j]]]
        spare = free[fits[free]]
        if swap:
            j = swap[0]
            chosen[i], chosen[j] = chosen[j], chosen[i]
        elif len(spare):
            chosen[i] = int(rng.choice(spare))
            free = free[free != chosen[i]]
        else:
            scenarios[i] = instead
    return chosen


# Of the accomplices' leads, the share whose ring has two partners instead of one: two
# harvesters of one team feeding a third who sends the list.
RING_OF_THREE = 1 / 3


def _partners(
    rng: np.random.Generator, r: Roster, insiders: list[Insider], free: np.ndarray
) -> list[Insider]:
    """One partner for every accomplice, two for some (``RING_OF_THREE``), from the same
    team when there is one. The ring's size is drawn from a generator of its own, seeded by
    the lead, so a company without a ring of three is drawn exactly as before."""
    out: list[Insider] = []
    for lead in insiders:  # a handful at most
        if lead.scenario != "accomplices" or not len(free):
            continue
        size = (
            2 if np.random.default_rng([lead.emp, lead.start_day]).random() < RING_OF_THREE else 1
        )
        lead.group = lead.number
        for _ in range(size):
            if not len(free):
                break
            mates = free[r.team[free] == r.team[lead.emp]]
            partner = int(rng.choice(mates if len(mates) else free))
            free = free[free != partner]
            number = len(insiders) + len(out)
            out.append(Insider(number, partner, "accomplices", lead.start_day, group=lead.number))
    return out


def _crowds(
    rng: np.random.Generator, r: Roster, insiders: list[Insider], number: int, free: np.ndarray
) -> list[Insider]:
    """Three to five more staff, of other teams, for every celebrity in the news: a famous
    customer in the headlines draws several curious colleagues, not one."""
    out: list[Insider] = []
    for lead in insiders:
        if lead.scenario != "celebrity_news":
            continue
        lead.group = lead.number
        others = free[r.team[free] != r.team[lead.emp]]
        pool = others if len(others) else free
        for emp in rng.choice(pool, min(len(pool), int(rng.integers(3, 6))), replace=False):
            free = free[free != emp]
            out.append(Insider(number + len(out), int(emp), "celebrity_news", lead.start_day,
                               group=lead.number))  # fmt: skip
    return out


def _ensure_relatives(rng: np.random.Generator, c: Customers, surname: int, postcode: int) -> None:
    """Make sure the snooper has namesakes and neighbours among the customers."""
    ordinary = ~c.canary & ~c.vip
    for attr, value, want in (("surname", surname, 4), ("postcode", postcode, 3)):
        column = getattr(c, attr)
        have = np.flatnonzero(ordinary & (column == value))
        if len(have) < want:
            others = np.flatnonzero(ordinary & (column != value))
            column[rng.choice(others, want - len(have), replace=False)] = value


def ensure_on_duty(schedule: Schedule, roster: Roster, insiders: list[Insider]) -> None:
    """An insider needs shifts after the warm-up; in tiny windows leave may leave none."""
    for ins in insiders:
        last = min(int(roster.departs_day[ins.emp]), schedule.days - 1)
        first = min(ins.start_day, last)
        if not schedule.works[ins.emp, first : last + 1].any():
            schedule.force_work(ins.emp, np.arange(first, min(first + 2, last + 1)))


# --- scenario generators ------------------------------------------------------------------


def _workdays(w: World, emp: int, first: int, last: int | None = None) -> np.ndarray:
    last = w.schedule.days - 1 if last is None else min(last, w.schedule.days - 1)
    days = np.flatnonzero(w.schedule.works[emp, first : last + 1]) + first
    if not len(days):  # ensure_on_duty gave shifts from min(first, last) on
        days = np.flatnonzero(w.schedule.works[emp, : last + 1])
    return days


def _at(
    w: World,
    rng: np.random.Generator,
    emp: int,
    days: np.ndarray,
    lo: float = 0.02,
    hi: float = 0.95,
) -> np.ndarray:
    """Random moments in the employee's shifts on ``days`` (between fractions lo and hi)."""
    return w.schedule.at(np.full(len(days), emp), days, rng.uniform(lo, hi, len(days)))


def _searches(
    w: World, ins: Insider, t: np.ndarray, lists: tuple[np.ndarray, np.ndarray], app: str
) -> None:
    w.log_searches(lists=lists, time=t, emp=ins.emp, app=app, insider=ins.number)


def _views(
    w: World,
    ins: Insider,
    t: np.ndarray,
    cust: np.ndarray,
    fields: str,
    case: np.ndarray | None = None,
) -> None:
    w.log.add(
        time=t,
        emp=ins.emp,
        action=ACT["view"],
        fields=FS[fields],
        app=APP["crm"],
        cust=cust,
        case=case,
        insider=ins.number,
    )


def _exfiltrate(
    w: World,
    ins: Insider,
    t: int,
    cust: np.ndarray,
    action: str,
    dest: str,
    fields: str = "profile",
) -> None:
    """One outbound event carrying the list ``cust``."""
    t = min(t, w.schedule.end_us - MINUTE)
    w.log.add(
        time=np.array([t]),
        emp=ins.emp,
        action=ACT[action],
        fields=FS[fields],
        app=APP["crm"],
        ragged=(np.array([len(cust)]), cust),
        record_count=len(cust),
        dest=DEST[dest],
        insider=ins.number,
    )


def _gaps(rng: np.random.Generator, t: int, n: int, lo: float, hi: float) -> np.ndarray:
    return t + np.cumsum(rng.uniform(lo, hi, n) * SECOND).astype(np.int64)


def bulk_exfiltration(w: World, ins: Insider, rng: np.random.Generator) -> None:
    """Bursts of wide searches without a case, then the harvest leaves within hours."""
    days = _workdays(w, ins.emp, ins.start_day)
    for day in np.sort(rng.choice(days, min(len(days), int(rng.integers(1, 4))), replace=False)):
        t = int(_at(w, rng, ins.emp, np.array([day]), 0.1, 0.6)[0])
        ns = int(rng.integers(8, 41))
        times = _gaps(rng, t, ns, 20, 180)
        lengths, flat = w.random_lists(rng, rng.integers(20, 121, ns))
        _searches(w, ins, times, (lengths, flat), "crm-search")
        nv = int(rng.integers(2, 11))
        _views(w, ins, np.sort(rng.integers(t, times[-1] + 1, nv)), rng.choice(flat, nv), "profile")
        harvest = np.unique(flat)
        for _ in range(int(rng.integers(1, 3))):
            keep = rng.choice(
                harvest, max(1, int(len(harvest) * rng.uniform(0.6, 1.0))), replace=False
            )
            action = str(rng.choice(["export", "download", "message"], p=[0.45, 0.3, 0.25]))
            dest = "personal_email" if action == "message" else str(rng.choice(_EXFIL_DESTINATIONS))
            when = int(times[-1] + rng.uniform(0.5, 4) * HOUR)
            _exfiltrate(w, ins, when, np.sort(keep), action, dest)


def slow_drip(w: World, ins: Insider, rng: np.random.Generator) -> None:
    """A handful of unexplained contact-detail look-ups a day, for weeks."""
    days = _workdays(w, ins.emp, ins.start_day)
    days = days[rng.random(len(days)) >= 0.2]
    if not len(days):
        days = _workdays(w, ins.emp, ins.start_day)[:1]
    rows = expand(rng.integers(3, 16, len(days)))
    _views(w, ins, _at(w, rng, ins.emp, days[rows]), w.any_customer(rng, len(rows)), "contact")


def vip_snooping(w: World, ins: Insider, rng: np.random.Generator) -> None:
    """Curiosity about famous customers: their records opened with no case."""
    days = _workdays(w, ins.emp, ins.start_day)
    targets = rng.choice(w.vip_pool, min(len(w.vip_pool), int(rng.integers(3, 9))), replace=False)
    n = int(rng.integers(4, 16))
    t = _at(w, rng, ins.emp, rng.choice(days, n))
    cust = rng.choice(targets, n)
    m = rng.random(n) < 0.35
    _searches(
        w,
        ins,
        t[m] - (rng.uniform(20, 90, m.sum()) * SECOND).astype(np.int64),
        w.search_results(rng, cust[m], 2.0),
        "crm-search",
    )
    _views(w, ins, t, cust, "profile_orders")


def celebrity_news(w: World, ins: Insider, rng: np.random.Generator) -> None:
    """A famous customer in the news (whom the context may not flag VIP): the lead and the
    crowd (:func:`_crowds`) each open her record with no case on two to four of their
    days while the story runs (ten days), often after searching her by name."""
    if ins.group != ins.number or not len(w.vip_pool):  # the lead generates the crowd's
        return
    crowd = [ins] + [p for p in w.insiders if p.group == ins.number and p is not ins]
    star = int(rng.choice(w.vip_pool))
    for member in crowd:
        days = _workdays(w, member.emp, ins.start_day, ins.start_day + 9)
        n = min(len(days), int(rng.integers(2, 5)))
        t = _at(w, rng, member.emp, np.sort(rng.choice(days, n, replace=False)))
        cust = np.full(n, star)
        m = rng.random(n) < 0.6  # found by a name search first
        _searches(
            w, member, t[m] - (rng.uniform(20, 90, m.sum()) * SECOND).astype(np.int64),
            w.search_results(rng, cust[m], 1.0), "crm-search",
        )  # fmt: skip
        _views(w, member, t, cust, "profile_orders")


def relationship_snooping(w: World, ins: Insider, rng: np.random.Generator) -> None:
    """Looking up namesakes (family, an ex) and neighbours."""
    r, c = w.roster, w.customers
    days = _workdays(w, ins.emp, ins.start_day)
    same = w.by_surname.group(int(r.surname[ins.emp]))
    near = w.by_postcode.group(int(r.home_pc[ins.emp]))
    same = same[~c.vip[same]]
    near = near[~c.vip[near]]
    targets = np.unique(np.concatenate([
        rng.choice(same, min(6, len(same)), replace=False),
        rng.choice(near, min(5, len(near)), replace=False),
    ]))  # fmt: skip
    n = int(rng.integers(5, 21))
    t = _at(w, rng, ins.emp, rng.choice(days, n))
    cust = rng.choice(targets, n)
    m = rng.random(n) < 0.4
    namesake = c.surname[cust] == r.surname[ins.emp]
    for by, sel in (("surname", m & namesake), ("postcode", m & ~namesake)):
        _searches(
            w, ins, t[sel] - 45 * SECOND, w.search_results(rng, cust[sel], 2.0, by=by), "crm-search"
        )
    _views(w, ins, t, cust, "profile_orders")


def departing_exporter(w: World, ins: Insider, rng: np.random.Generator) -> None:
    """Lists taken home in the weeks before leaving."""
    r = w.roster
    last = int(r.departs_day[ins.emp])
    days = _workdays(w, ins.emp, ins.start_day, last)
    portfolio = w.team_portfolio[r.team[ins.emp]]
    for day in np.sort(rng.choice(days, int(rng.integers(3, 9)))):
        t = int(_at(w, rng, ins.emp, np.array([day]), 0.1, 0.7)[0])
        ns = int(rng.integers(2, 7))
        times = _gaps(rng, t, ns, 30, 300)
        sizes = rng.integers(30, 201, ns)
        if portfolio > 0:  # a seller-support leaver takes the portfolio's buyers
            flat = w.orders.pick_buyers(
                rng, np.full(sizes.sum(), portfolio), np.full(sizes.sum(), t)
            )
            flat = np.where(flat >= 0, flat, w.any_customer(rng, len(flat)))
            lengths, flat = dedupe_ragged(sizes, flat)
        else:
            lengths, flat = w.random_lists(rng, sizes)
        app = "seller-portal" if portfolio > 0 else "crm-search"
        _searches(w, ins, times, (lengths, flat), app)
        action = str(rng.choice(["export", "download", "print"], p=[0.5, 0.35, 0.15]))
        dest = (
            "printer"
            if action == "print"
            else str(rng.choice(["personal_email", "usb", "cloud:dropbox", "cloud:google-drive"]))
        )
        when = int(times[-1] + rng.uniform(1, 20) * MINUTE)
        _exfiltrate(w, ins, when, np.unique(flat), action, dest)


def canary_harvester(w: World, ins: Insider, rng: np.random.Generator) -> None:
    """Wide harvesting that sweeps up planted decoy records among real ones."""
    canaries = w.customers.canaries
    days = _workdays(w, ins.emp, ins.start_day)
    episodes = np.sort(rng.choice(days, min(len(days), int(rng.integers(2, 6))), replace=False))
    harvested: list[np.ndarray] = []
    for day in episodes:
        t = int(_at(w, rng, ins.emp, np.array([day]), 0.1, 0.7)[0])
        ns = int(rng.integers(3, 9))
        times = _gaps(rng, t, ns, 30, 240)
        lengths, flat = w.random_lists(rng, rng.integers(50, 301, ns))
        planted = rng.integers(1, 4, ns) * (rng.random(ns) < 0.5)
        planted[0] = max(planted[0], 1)  # every episode touches at least one decoy
        rows = np.concatenate([expand(lengths), expand(planted)])
        values = np.concatenate([flat, rng.choice(canaries, planted.sum())])
        order = np.argsort(rows, kind="stable")
        lengths, flat = dedupe_ragged(np.bincount(rows, minlength=ns), values[order])
        _searches(w, ins, times, (lengths, flat), "crm-search")
        nv = int(rng.integers(2, 7))
        seen_canaries = np.intersect1d(flat, canaries)
        cust = np.concatenate([rng.choice(seen_canaries, 1), rng.choice(flat, nv - 1)])
        _views(w, ins, np.sort(rng.integers(t, times[-1] + 10 * MINUTE, nv)), cust, "profile")
        harvested.append(flat)
    if rng.random() < 0.6:
        when = int(
            w.schedule.at(np.array([ins.emp]), np.array([episodes[-1]]), np.array([0.97]))[0]
        )
        _exfiltrate(w, ins, when, np.unique(np.concatenate(harvested)), "export", "personal_email")


# --- insiders who know the rules ------------------------------------------------------------
# They know the thresholds and the case-linking rules: a few look-ups a day, under a real
# ticket's id where they can, harvests spread over weeks or between two people, and nothing
# sent outside through a logged channel (photos of the screen, notes by hand).


def _spread(w: World, ins: Insider, rng: np.random.Generator, lo: int, hi: int) -> np.ndarray:
    """Moments in the insider's shifts from the start day on: ``lo``..``hi`` a day on about
    three workdays in four, so it blends into the ordinary rhythm."""
    days = _workdays(w, ins.emp, ins.start_day)
    days = days[rng.random(len(days)) < 0.75] if len(days) > 1 else days
    rows = expand(rng.integers(lo, hi + 1, len(days)))
    return np.sort(_at(w, rng, ins.emp, days[rows]))


def low_and_slow(w: World, ins: Insider, rng: np.random.Generator) -> None:
    """One to four contact look-ups a day without a case, for weeks; a small copy to the
    clipboard (an internal destination) every week or so."""
    t = _spread(w, ins, rng, 1, 4)
    cust = w.any_customer(rng, len(t))
    _views(w, ins, t, cust, "contact")
    weeks = (t - t[0]) // (7 * DAY) if len(t) else t
    for week in np.unique(weeks):  # a handful of weeks
        when = int(t[weeks == week][-1] + 2 * MINUTE)
        _exfiltrate(w, ins, when, np.unique(cust[weeks == week]), "copy", "local", fields="contact")


def _open_cases(w: World, emp: int, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each moment, a random case open then: the insider's own where there is one, else
    one of their team's, else anyone's (-1 when no case is open at all)."""
    rows = w.cases.rows()
    r = w.roster
    team = np.flatnonzero(r.team == r.team[emp])
    everyone = rng.choice(len(rows["num"]), min(len(rows["num"]), 20_000), replace=False)
    out = np.full(len(t), -1, dtype=np.int64)
    for pool in (
        np.flatnonzero(rows["emp"] == emp),
        np.flatnonzero(np.isin(rows["emp"], team)),
        everyone,
    ):
        todo = np.flatnonzero(out < 0)
        if not len(todo) or not len(pool):
            continue
        # moments x cases: small (a hundred moments, a few thousand cases at most)
        is_open = (rows["opened"][pool] <= t[todo, None]) & (t[todo, None] < rows["closed"][pool])
        weight = is_open * rng.random(is_open.shape)
        found = is_open.any(axis=1)
        out[todo[found]] = rows["num"][pool][weight[found].argmax(axis=1)]
    return out


def ticket_cover(w: World, ins: Insider, rng: np.random.Generator) -> None:
    """Look-ups logged under the id of a real, open but unrelated case."""
    t = _spread(w, ins, rng, 2, 8)
    cust = w.any_customer(rng, len(t))
    case = _open_cases(w, ins.emp, t, rng)
    m = rng.random(len(t)) < 0.3
    w.log_searches(
        lists=w.search_results(rng, cust[m], 2.0),
        time=t[m] - 40 * SECOND,
        emp=ins.emp,
        app="crm-search",
        case=case[m],
        insider=ins.number,
    )
    _views(w, ins, t, cust, "profile", case=case)


def dispute_skim(w: World, ins: Insider, rng: np.random.Generator) -> None:
    """An investigator working real investigations of their own pulls the payment details
    of customers those cases have nothing to do with, logged under the open case's id, a
    few a day for weeks (no search first: the customers come from elsewhere)."""
    t = _spread(w, ins, rng, 2, 6)
    rows = w.cases.rows()
    own = rows["emp"] == ins.emp
    if not own.any():  # no investigation of their own in the window: nothing to skim under
        return
    num, opened, closed = rows["num"][own], rows["opened"][own], rows["closed"][own]
    is_open = (opened <= t[:, None]) & (t[:, None] < closed)  # moments x own cases: small
    keep = is_open.any(axis=1)
    pick = (is_open * rng.random(is_open.shape))[keep].argmax(axis=1)
    t = t[keep]
    w.log.add(
        time=t,
        emp=ins.emp,
        action=ACT["view"],
        fields=FS["billing"],
        app=APP["fraud-workbench"],
        cust=w.any_customer(rng, len(t)),
        case=num[pick],
        insider=ins.number,
    )


def walkin_drip(w: World, ins: Insider, rng: np.random.Generator) -> None:
    """Counter staff who look up walk-in customers all day without a case add a few
    customers' contact details a day, for weeks: well inside the counter's usual amount of
    case-less look-ups."""
    t = _spread(w, ins, rng, 2, 5)
    _views(w, ins, t, w.any_customer(rng, len(t)), "contact")


def book_snoop(w: World, ins: Insider, rng: np.random.Generator) -> None:
    """A relationship manager who calls their own book all day without a case looks up a
    few customers outside it, contact details, a day for weeks; now and then the same one
    again a few days later, as they would a client of their own."""
    t = _spread(w, ins, rng, 1, 4)
    cust = w.any_customer(rng, len(t))
    again = np.flatnonzero(rng.random(len(t)) < 0.3)
    again = again[again > 0]
    cust[again] = cust[rng.integers(0, again)]  # one seen on an earlier occasion
    _views(w, ins, t, cust, "contact")


def spread_harvest(w: World, ins: Insider, rng: np.random.Generator) -> None:
    """A list built a few records a day over weeks, printed a page at a time."""
    t = _spread(w, ins, rng, 3, 10)
    cust = w.any_customer(rng, len(t))
    _views(w, ins, t, cust, "profile")
    pages = np.arange(len(t)) // 25  # a page of 25 records once it is full
    for page in np.unique(pages):
        when = int(t[pages == page][-1] + 5 * MINUTE)
        _exfiltrate(w, ins, when, np.unique(cust[pages == page]), "print", "printer")


def accomplices(w: World, ins: Insider, rng: np.random.Generator) -> None:
    """Two colleagues (three in some rings) split one harvest: each looks up a few
    customers a day, and the lead sends the whole list out once, at the end, mixed into an
    ordinary-looking export."""
    if ins.group != ins.number:  # the lead generates the pair's work
        return
    pair = [ins] + [p for p in w.insiders if p.group == ins.number and p is not ins]
    harvest = []
    for member in pair:
        t = _spread(w, member, rng, 2, 6)
        cust = w.any_customer(rng, len(t))
        _views(w, member, t, cust, "contact")
        harvest.append(cust)
    days = _workdays(w, ins.emp, ins.start_day)
    when = int(_at(w, rng, ins.emp, days[-1:], 0.85, 0.95)[0])
    dest = str(rng.choice(["personal_email", "cloud:dropbox", "usb"]))
    _exfiltrate(w, ins, when, np.unique(np.concatenate(harvest)), "export", dest)


def ex_partner_snoop(w: World, ins: Insider, rng: np.random.Generator) -> None:
    """One person (sometimes two or three: an ex, their new partner, a neighbour) looked
    up again and again over weeks, a look-up every few days and never under a case. The
    targets are ordinary customers with another surname and postcode: nothing ties them
    to the insider in the data, and each day's look-up is as small as a quick question."""
    c = w.customers
    days = _workdays(w, ins.emp, ins.start_day)
    n = min(len(days), int(rng.integers(3, 8)))
    days = np.sort(rng.choice(days, n, replace=False))
    strangers = w.any_customer(rng, 64)  # a few dozen draws: some are unrelated
    strangers = strangers[(c.surname[strangers] != w.roster.surname[ins.emp])
                          & (c.postcode[strangers] != w.roster.home_pc[ins.emp])]  # fmt: skip
    targets = strangers[: min(n, int(rng.choice([1, 1, 2, 3])))]
    cust = np.concatenate([targets, rng.choice(targets, n - len(targets))])[:n]
    rng.shuffle(cust)
    t = _at(w, rng, ins.emp, days)
    m = rng.random(n) < 0.4  # found by a name search first, now and then
    _searches(
        w, ins, t[m] - (rng.uniform(20, 90, m.sum()) * SECOND).astype(np.int64),
        w.search_results(rng, cust[m], 2.0), "crm-search",
    )  # fmt: skip
    fields = rng.choice(["contact", "profile", "profile_orders"], n, p=[0.5, 0.3, 0.2])
    for f in np.unique(fields):  # a handful of events
        sel = fields == f
        _views(w, ins, t[sel], cust[sel], str(f))


GENERATORS = {
    "low_and_slow": low_and_slow,
    "ticket_cover": ticket_cover,
    "spread_harvest": spread_harvest,
    "dispute_skim": dispute_skim,
    "walkin_drip": walkin_drip,
    "book_snoop": book_snoop,
    "accomplices": accomplices,
    "ex_partner_snoop": ex_partner_snoop,
    "bulk_exfiltration": bulk_exfiltration,
    "slow_drip": slow_drip,
    "vip_snooping": vip_snooping,
    "celebrity_news": celebrity_news,
    "relationship_snooping": relationship_snooping,
    "departing_exporter": departing_exporter,
    "canary_harvester": canary_harvester,
}


def generate_malicious(w: World, insiders: list[Insider]) -> None:
    w.insiders = insiders
    for ins in insiders:  # one pass per insider
        GENERATORS[ins.scenario](w, ins, w.rng(f"insider:{ins.number}"))
