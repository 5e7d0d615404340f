"""Simulated companies and leaks with known sources, for the attribution benchmark and
the calibration fit (benchmarks/calibrate_attribution.py).

A company is simulated (`insiderwatch simulate`), ingested, given a canary plan and three
kinds of outside source besides its sellers (which come from the simulated orders): an
earlier breach list and a list of customers public by their own choice, both imported
with `outside import` from messy files, and a partner and a processor in an outside
sources file (a CSV of customer ids, and a query over orders). Leaks are then built
from it with their true sources known:

* insider leaks: a share of what one or two employees saw, plus noise rows;
* harvest leaks: a share of what a simulated insider took in their malicious events;
* outside leaks: a seller's own base (whole or half), a partner's or processor's share,
  a sample of the earlier breach or of the public list, random customers;
* mixed leaks: an insider's harvest with a seller's or the breach's rows;
* the middle mix, leaks whose sources are hard to tell (so that the calibration has
  hypotheses between "surely" and "surely not" to be fitted and judged on): a faint
  insider (a few of what one employee saw among many strangers' and random rows), an
  insider's small share blended into an outside source's rows, a pair with unequal
  shares, and an outside list whose rows lean towards what one (innocent) employee saw.

Leak rows are written messily (case, spaces, country codes, spreadsheet damage) from
the raw dataset files, with a junk row and a duplicate.

Rows drawn "at random" (random lists, noise, the rest of a faint trace) never include the
company's canary records: a decoy reaches a list only through someone who saw it, so a
random list holding one would be a leak by its holder, not a list no employee made. (An
earlier version drew them, and five-row random lists holding a decoy named the insider
who had harvested the decoys: the decoy alone is worth log 10^4, docs/attribution.md.)
"""

from __future__ import annotations

import csv
import shutil
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from insiderwatch.canary.code import field_size
from insiderwatch.canary.decoys import parse_phone_range
from insiderwatch.canary.plan import CanaryPlan, make_plan
from insiderwatch.contract import SuspectReport
from insiderwatch.ingest import ingest_dataset
from insiderwatch.investigate.attribution import build_report
from insiderwatch.investigate.calibration import Calibration
from insiderwatch.investigate.exposure import Exposure, exposure
from insiderwatch.investigate.leak import read_leak
from insiderwatch.investigate.matching import match_leak
from insiderwatch.investigate.outside import outside_sets
from insiderwatch.investigate.outside_lists import import_list
from insiderwatch.investigate.outside_map import MappedSource, load_mapping
from insiderwatch.privacy import HashKey
from insiderwatch.store import Store
from insiderwatch_sim import SimulationConfig, simulate, write_dataset

KEY = HashKey(b"bench-attribution-key-0123456789")
DECOY_PHONES = "+447700900000:+447700900999"  # the drama block: no simulated customer has one
CANARY_SHOWS = 0.3  # chance each of a leaker's decoys is in what they leaked
BREACH_SHARE = 0.04  # of customers on the earlier breach list (plus as many strangers)
PUBLIC_SHARE = 0.01  # customers public by their own choice
PARTNER_SHARE = 0.03  # customers shared with the partner
PROCESSOR_SELLERS = 3  # the processor handles these sellers' orders
MAX_BASE = 2000  # a "seller-base" leak is a seller with at most this many customers, whole


@dataclass(frozen=True)
class Spec:
    """One simulated company: a profile (insiderwatch_sim.PROFILES), its size and seed."""

    profile: str
    employees: int
    days: int
    seed: int

    @property
    def label(self) -> str:
        return f"{self.profile} {self.employees} staff, seed {self.seed}"

    @property
    def slug(self) -> str:
        return f"{self.profile}-{self.employees}-{self.days}-{self.seed}"


@dataclass
class Company:
    store: Store
    found_at: datetime
    emails: list[str | None]  # raw, by customer index
    phones: list[str | None]
    index: dict[str, int]  # customer id -> index
    seen: dict[str, np.ndarray]  # employee -> indices of customers whose contacts they saw
    plan: CanaryPlan
    harvests: dict[str, np.ndarray]  # insider -> customers of their malicious events they saw
    outside: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)  # (kind, name)
    mapped: list[MappedSource] = field(default_factory=list)
    label: str = ""
    random_pool: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def build_company(work: Path, spec: Spec) -> Company:
    employees, seed = spec.employees, spec.seed
    root = work / f"sim-{spec.slug}"
    shutil.rmtree(root, ignore_errors=True)
    data, db = root / "dataset", root / "iw.duckdb"
    config = SimulationConfig(employees=employees, days=spec.days, seed=seed, profile=spec.profile)
    company = simulate(config)
    write_dataset(company, data, "parquet")
    store = Store(db)
    ingest_dataset(store, data, KEY)
    raw = pq.read_table(data / "customers.parquet", columns=["customer_id", "email", "phone"])
    ids = raw["customer_id"].to_pylist()
    found_at = datetime.fromisoformat(company.truth["window"]["end"])
    start = datetime.fromisoformat(company.truth["window"]["start"])
    plan = make_plan(
        store, KEY, 8 * field_size(employees),  # 8 decoys per employee
        domain="inbox.example", phone_range=parse_phone_range(DECOY_PHONES),
        planted_at=start, created_at=start, rng=np.random.default_rng(seed),
    )  # fmt: skip
    index = {c: i for i, c in enumerate(ids)}
    service = set(company.truth["service_accounts"])
    seen = {
        e: np.array([index[c] for c in cs], dtype=np.int64)
        for e, cs in _contacts_seen(store, found_at).items()
        if e not in service
    }
    harvests = {
        i["employee_id"]: np.intersect1d([index[c] for c in i["customer_ids"]],
                                         seen.get(i["employee_id"], []))
        for i in company.truth["insiders"]
    }  # fmt: skip
    c = Company(store, found_at, raw["email"].to_pylist(), raw["phone"].to_pylist(),
                index, seen, plan, harvests, label=spec.label)  # fmt: skip
    decoys = [c.index[r[0]] for r in store.con.execute("SELECT customer_id FROM canaries")
              .fetchall() if r[0] in c.index]  # fmt: skip
    c.random_pool = np.setdiff1d(reachable(c), decoys)
    add_outside_sources(c, root, np.random.default_rng(seed + 1000))
    return c


def _contacts_seen(store: Store, found_at: datetime) -> dict[str, list[str]]:
    rows = store.con.execute(
        "SELECT employee_id, list(DISTINCT cid) FROM (SELECT employee_id, unnest(customer_ids) "
        "AS cid FROM access WHERE time < ? AND list_has_any(fields, ['email', 'phone'])) "
        "GROUP BY 1",
        [found_at],
    ).fetchall()
    return dict(rows)


def reachable(c: Company) -> np.ndarray:
    """Customers with an email or phone (the only ones a contact list can hold)."""
    return np.array([i for i in range(len(c.emails)) if c.emails[i] or c.phones[i]])


def add_outside_sources(c: Company, root: Path, rng: np.random.Generator) -> None:
    """Sellers come from orders; add a breach list, a public list, a partner, a processor."""
    pool = c.random_pool
    ids = list(c.index)
    for kind, name, share in (("breach", "breach-2024", BREACH_SHARE),
                              ("public", "public-by-choice", PUBLIC_SHARE)):  # fmt: skip
        members = np.sort(rng.choice(pool, round(len(ids) * share), replace=False))
        rows = leak_rows(rng, c, members.tolist()) + strangers(rng, len(members))
        path = write_leak(root / f"{name}.csv", [rows[i] for i in rng.permutation(len(rows))])
        import_list(c.store, KEY, path, name=name, kind=kind)
        c.outside["breach" if kind == "breach" else "public", name] = members
    partner = np.sort(rng.choice(pool, round(len(ids) * PARTNER_SHARE), replace=False))
    pacsv.write_csv(pa.table({"customer_id": [ids[i] for i in partner]}), root / "mailhouse.csv")
    c.outside["partner", "MailHouse"] = partner
    sellers = [r[0] for r in c.store.con.execute(
        "SELECT seller_id FROM orders GROUP BY 1 HAVING count(DISTINCT customer_id) >= 50 "
        "ORDER BY 1").fetchall()]  # fmt: skip
    chosen = sorted(rng.choice(sellers, PROCESSOR_SELLERS, replace=False).tolist())
    quoted = ", ".join(f"'{s}'" for s in chosen)
    query = f"SELECT DISTINCT customer_id FROM orders WHERE seller_id IN ({quoted})"
    mapping = root / "outside.yaml"
    mapping.write_text(
        "sources:\n"
        "  - name: MailHouse\n    kind: partner\n    customers: mailhouse.csv\n"
        f'  - name: ParcelCo\n    kind: processor\n    query: "{query}"\n'
    )
    c.mapped = load_mapping(mapping)
    c.outside["processor", "ParcelCo"] = _in_pool(c, c.store.con.execute(query).fetchall(), pool)
    for seller, members in c.store.con.execute(
        "SELECT seller_id, list(DISTINCT customer_id) FROM orders WHERE ordered_at < ? "
        "GROUP BY 1", [c.found_at]
    ).fetchall():  # fmt: skip
        if seller not in chosen:
            c.outside["seller", seller] = _in_pool(c, [(m,) for m in members], pool)


def _in_pool(c: Company, rows: list[tuple], pool: np.ndarray) -> np.ndarray:
    return np.intersect1d([c.index[r[0]] for r in rows if r[0] in c.index], pool)


# --- writing leaks ------------------------------------------------------------------------


def messy_email(rng: np.random.Generator, email: str) -> str:
    form = rng.integers(4)
    value = email.upper() if form == 0 else email
    return [value, f" {value} ", f"mailto:{value}", f'"Customer" <{value}>'][form]


def messy_phone(rng: np.random.Generator, phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())
    national = digits[2:] if digits.startswith("44") else digits.lstrip("0")
    form = rng.integers(5)
    return [
        f"+44 {national[:4]} {national[4:]}",
        f"0{national}",
        f"0044-{national[:4]}-{national[4:]}",
        f"'0{national[:4]} {national[4:]}",
        f"{national}.0",
    ][form]


def leak_rows(rng: np.random.Generator, c: Company, customers: list[int]) -> list[list[str]]:
    rows = []
    for i in customers:
        email, phone = c.emails[i], c.phones[i]
        keep_email = email is not None and (phone is None or rng.random() < 0.8)
        keep_phone = phone is not None and (not keep_email or rng.random() < 0.6)
        rows.append([messy_email(rng, email) if keep_email else "",
                     messy_phone(rng, phone) if keep_phone else ""])  # fmt: skip
    return rows


def strangers(rng: np.random.Generator, n: int) -> list[list[str]]:
    """People who are not our customers (a broker's list holds many)."""
    return [[f"someone{int(k)}@elsewhere.example", ""] for k in rng.integers(0, 10**9, n)]


def write_leak(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["E-mail", "Mobile"])
        writer.writerows(rows)
        writer.writerow(["n/a", "unknown"])  # junk
        if rows:
            writer.writerow(rows[0])  # a duplicate
    return path


def canary_rows(rng, c: Company, leakers: list[str]) -> list[list[str]]:
    # Staff hired after the plan was planted hold no decoys.
    held = [w for w in leakers if w in c.plan.code.lines]
    decoys = [c.plan.decoys[k] for w in held for k in c.plan.code.codeword(w)]
    shown = [d for d in decoys if rng.random() < CANARY_SHOWS]
    return [[messy_email(rng, d.email), messy_phone(rng, d.phone)] for d in shown]


# --- building leaks with known sources ------------------------------------------------------


@dataclass(frozen=True)
class Leak:
    scenario: str
    customers: list[int]
    leakers: list[str]  # employees who made part of it (empty for outside leaks)
    sources: list[tuple[str, str]]  # (kind, name) of outside sources that made part of it
    extra_rows: list[list[str]] = field(default_factory=list)  # canaries, strangers


def make_leak(
    rng, c: Company, leakers: list[str], size: int, noise: float, source=None
) -> list[int]:
    """Customer indices: a share of what the leakers saw (or of ``source``) plus noise."""
    source = source or c.seen
    real = round(size * (1 - noise))
    shares = [real // len(leakers) + (k < real % len(leakers)) for k in range(len(leakers))]
    taken: set[int] = set()
    for who, share in zip(leakers, shares, strict=True):
        pool = np.setdiff1d(source[who], np.fromiter(taken, dtype=np.int64))
        # Two leakers' sets may overlap: the second then adds what is left of theirs.
        taken |= set(rng.choice(pool, min(share, len(pool)), replace=False).tolist())
    return sorted(taken) + unseen(rng, c, leakers, size - real)


def unseen(rng, c: Company, leakers: list[str], n: int) -> list[int]:
    """``n`` random customers (never a canary) none of the leakers saw."""
    exposed = np.unique(np.concatenate([c.seen[w] for w in leakers] or [np.zeros(0, int)]))
    others = rng.choice(c.random_pool, n * 3 + 10)
    return [int(i) for i in others if not np.isin(i, exposed)][:n]


def outside_leak(rng, c: Company, scenario: str, size: int) -> Leak:
    """A list no employee made; ``scenario`` picks where it came from."""
    if scenario == "random":
        picks = rng.choice(c.random_pool, size, replace=False).tolist()
        return Leak(scenario, picks, [], [], strangers(rng, size // 2))
    kind = scenario.split("-")[0]
    names = [n for (k, n), m in c.outside.items() if k == kind and len(m) >= min(size, 20)
             and (scenario != "seller-base" or len(m) <= MAX_BASE)]  # fmt: skip
    name = str(rng.choice(names))
    members = c.outside[kind, name]
    if scenario == "seller-base":  # the whole base, as in the story that started this
        picks = members.tolist()
    else:
        picks = rng.choice(members, min(size, len(members)), replace=False).tolist()
    return Leak(scenario, picks, [], [(kind, name)])


def mixed_leak(rng, c: Company, insider: str, kind: str, size: int) -> Leak:
    """Half an insider's harvest, half an outside source's customers."""
    half = size // 2
    own = rng.choice(c.harvests[insider], min(half, len(c.harvests[insider])), replace=False)
    names = [n for (k, n), m in c.outside.items() if k == kind and len(m) >= half]
    name = str(rng.choice(names))
    members = np.setdiff1d(c.outside[kind, name], own)
    theirs = rng.choice(members, min(size - len(own), len(members)), replace=False)
    return Leak(f"mixed-{kind}", sorted({*own.tolist(), *theirs.tolist()}), [insider],
                [(kind, name)])  # fmt: skip


def write(rng, c: Company, leak: Leak, path: Path) -> Path:
    rows = leak_rows(rng, c, leak.customers) + leak.extra_rows
    return write_leak(path, [rows[i] for i in rng.permutation(len(rows))])


# --- one attribution ---------------------------------------------------------------------


def attribute_once(
    store: Store,
    found_at: datetime,
    path: Path,
    mapped: Sequence[MappedSource] = (),
    calibration: Calibration | None = None,
) -> tuple[SuspectReport, Exposure, float, SuspectReport]:
    """What `insiderwatch attribute` does, keeping the exposures for the naive peer, the
    seconds it took, and (untimed) the report of the same model without outside sources."""
    began = time.perf_counter()
    reading = read_leak(path, KEY)
    match = match_leak(store, reading)
    exposed = exposure(store, match, found_at)
    outside = outside_sets(store, match, found_at, mapped)
    report = build_report(reading, match, exposed, found_at, 10, outside.sets, calibration)
    seconds = time.perf_counter() - began
    staff_only = build_report(reading, match, exposed, found_at, 10, None, calibration)
    return report, exposed, seconds, staff_only


def attribute_leak(c: Company, rng, leak: Leak, path: Path):
    """The report, exposures and seconds of one leak (see attribute_once)."""
    report, exposed, seconds, _ = attribute_once(c.store, c.found_at, write(rng, c, leak, path),
                                                 c.mapped)  # fmt: skip
    return report, exposed, seconds


def naive_ranking(exposed: Exposure, rng: np.random.Generator) -> list[str]:
    """Staff by leaked customers seen; ties in random order (a count has no tie-break)."""
    counts = Counter(exposed.pairs["employee_id"].to_pylist())
    tiebreak = {e: rng.random() for e in counts}
    return sorted(counts, key=lambda e: (-counts[e], tiebreak[e]))


@dataclass(frozen=True)
class Point:
    """One hypothesis a report showed, with what the calibration is fitted and judged on."""

    kind: str  # employee or outside
    margin: float
    named: bool
    stated: float  # the probability the report gave (0-1)
    truth: bool  # really a source of the list
    scenario: str


def hypotheses(report: SuspectReport, leak: Leak) -> list[Point]:
    """Every hypothesis the report shows, with whether it truly was a source."""
    truth = {name for _, name in leak.sources}
    out = [Point("employee", s.margin, s.leaker, s.score / 100, s.employee_id in leak.leakers,
                 leak.scenario) for s in report.suspects]  # fmt: skip
    out += [Point("outside", o.margin, o.named, o.score / 100, o.source in truth, leak.scenario)
            for o in report.outside_sources]  # fmt: skip
    return out


# --- a mix of every kind of leak --------------------------------------------------------

OUTSIDE_SCENARIOS = ("seller-base", "seller-share", "partner", "processor", "breach", "public",
                     "random")  # fmt: skip
SIZES = (5, 20, 100, 1000)
NOISE = (0.0, 0.2, 0.5)


def insider_leak(rng, c: Company, n_leakers: int, size: int, noise: float, canaries: bool):
    need = -(-round(size * (1 - noise)) // n_leakers)
    staff = sorted(e for e, s in c.seen.items() if len(s) >= need)
    if len(staff) < n_leakers:
        return None
    leakers = [str(x) for x in rng.choice(staff, n_leakers, replace=False)]
    extra = canary_rows(rng, c, leakers) if canaries else []
    return Leak("insider", make_leak(rng, c, leakers, size, noise), leakers, [], extra)


def leak_mix(rng, c: Company, per_kind: int):
    """``per_kind`` leaks of each kind: insiders (random size, noise, one or two leakers,
    canaries or not), insiders' harvests, each outside scenario, and mixed lists."""
    for _ in range(per_kind):
        leak = insider_leak(rng, c, int(rng.integers(1, 3)), int(rng.choice(SIZES)),
                            float(rng.choice(NOISE)), bool(rng.random() < 0.3))  # fmt: skip
        if leak is not None:
            yield leak
    harvesters = sorted(e for e, h in c.harvests.items() if len(h) >= 16)
    for _ in range(per_kind if harvesters else 0):
        who = str(rng.choice(harvesters))
        size = int(rng.choice([20, 100]))
        yield Leak("harvest", make_leak(rng, c, [who], size, 0.2, c.harvests), [who], [])
    for scenario in OUTSIDE_SCENARIOS:
        for _ in range(per_kind):
            yield outside_leak(rng, c, scenario, int(rng.choice(SIZES)))
    mixers = sorted(e for e, h in c.harvests.items() if len(h) >= 20)
    for _ in range(per_kind if mixers else 0):
        kind = str(rng.choice(["seller", "breach", "partner"]))
        yield mixed_leak(rng, c, str(rng.choice(mixers)), kind, int(rng.choice([40, 100])))


# --- the middle mix: leaks whose sources are hard to tell ---------------------------------

MIDDLE_SCENARIOS = ("faint-insider", "faint-source", "blend", "pair-blend", "outside-faint")
MIDDLE_SIZES = (40, 100, 200, 400)
OUTSIDE_KINDS = ("seller", "partner", "processor", "breach", "public")


def middle_leak(rng, c: Company, scenario: str) -> Leak | None:
    """One leak of ``scenario`` (MIDDLE_SCENARIOS), or None when the company has nobody
    who fits it."""
    return _MIDDLE[scenario](rng, c)


def _staff_with(c: Company, need: int) -> list[str]:
    return sorted(e for e, s in c.seen.items() if len(s) >= need)


def _faint(rng, c: Company, held: int) -> int:
    """How many of a holder's ``held`` customers make a faint trace: each such hit is worth
    about log(N / held) nats, so draw the trace's worth around what the margin rule asks
    of an employee (log of the staff and of 20, a few nats each) and convert."""
    worth = float(rng.uniform(2.0, 16.0))
    per_hit = float(np.log(max(len(c.emails) / max(held, 1), 1.5)))
    return int(np.clip(np.ceil(worth / per_hit), 1, held))


def _faint_insider(rng, c: Company) -> Leak | None:
    """A faint trace of what one employee saw among 40 to 400 rows of others."""
    staff = _staff_with(c, 1)
    if not staff:
        return None
    who = str(rng.choice(staff))
    size = int(rng.choice(MIDDLE_SIZES))
    k = min(_faint(rng, c, len(c.seen[who])), size // 2)
    own = rng.choice(c.seen[who], k, replace=False).tolist()
    rest = unseen(rng, c, [who], size - k)
    return Leak("faint-insider", sorted(own) + rest, [who], [], strangers(rng, size // 4))


def _source(rng, c: Company, need: int) -> tuple[str, str] | None:
    kind = str(rng.choice(OUTSIDE_KINDS))
    names = sorted(n for (k, n), m in c.outside.items() if k == kind and len(m) >= need)
    return (kind, str(rng.choice(names))) if names else None


def _faint_source(rng, c: Company) -> Leak | None:
    """A faint trace of an outside source's customers among 40 to 400 random ones."""
    source = _source(rng, c, 1)
    if source is None:
        return None
    size = int(rng.choice(MIDDLE_SIZES))
    k = min(_faint(rng, c, len(c.outside[source])), size // 2)
    own = rng.choice(c.outside[source], k, replace=False)
    others = np.setdiff1d(rng.choice(c.random_pool, size, replace=False), own)[: size - k]
    return Leak("faint-source", sorted({*own.tolist(), *others.tolist()}), [], [source])


def _blend(rng, c: Company) -> Leak | None:
    """A faint trace of what an employee saw in 100 rows, the rest an outside source's."""
    staff, source = _staff_with(c, 1), _source(rng, c, 100)
    if not staff or source is None:
        return None
    who = str(rng.choice(staff))
    own_n = min(_faint(rng, c, len(c.seen[who])), 50)
    own = rng.choice(c.seen[who], own_n, replace=False)
    members = np.setdiff1d(c.outside[source], own)
    theirs = rng.choice(members, min(100 - own_n, len(members)), replace=False)
    return Leak("blend", sorted({*own.tolist(), *theirs.tolist()}), [who], [source])


def _pair_blend(rng, c: Company) -> Leak | None:
    """Two employees, the second leaving only a faint trace, and 0-30% noise."""
    size = int(rng.choice([40, 100]))
    noise = float(rng.uniform(0.0, 0.3))
    real = round(size * (1 - noise))
    staff = _staff_with(c, real)
    if len(staff) < 2:
        return None
    a, b = (str(x) for x in rng.choice(staff, 2, replace=False))
    minor = min(_faint(rng, c, len(c.seen[b])), real // 2)
    first = rng.choice(c.seen[a], real - minor, replace=False)
    second = np.setdiff1d(c.seen[b], first)
    second = rng.choice(second, min(minor, len(second)), replace=False)
    picks = sorted({*first.tolist(), *second.tolist()})
    return Leak("pair-blend", picks + unseen(rng, c, [a, b], size - real), [a, b], [])


def _outside_faint(rng, c: Company) -> Leak | None:
    """An outside source's rows of which 5-30% are ones an innocent employee saw (a
    customer service agent who handled many of a seller's buyers, say): nobody leaked."""
    size = int(rng.choice([40, 100, 200]))
    source = _source(rng, c, size)
    if source is None:
        return None
    members = c.outside[source]
    overlap = {e: np.intersect1d(s, members) for e, s in c.seen.items()}
    faint = round(size * float(rng.uniform(0.05, 0.3)))
    staff = sorted(e for e, o in overlap.items() if len(o) >= faint)
    if not staff or faint == 0:
        return None
    who = str(rng.choice(staff))
    leaning = rng.choice(overlap[who], faint, replace=False)
    rest = rng.choice(np.setdiff1d(members, leaning), size - faint, replace=False)
    return Leak("outside-faint", sorted({*leaning.tolist(), *rest.tolist()}), [], [source])


_MIDDLE = {
    "faint-insider": _faint_insider,
    "faint-source": _faint_source,
    "blend": _blend,
    "pair-blend": _pair_blend,
    "outside-faint": _outside_faint,
}


def middle_mix(rng, c: Company, per_kind: int):
    """``per_kind`` leaks of each middle scenario (fewer where nobody fits one)."""
    for scenario in MIDDLE_SCENARIOS:
        for _ in range(per_kind):
            leak = middle_leak(rng, c, scenario)
            if leak is not None:
                yield leak
