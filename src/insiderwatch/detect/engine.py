"""The incremental detection engine, in event time.

History and live data go through the same loop: the events are cut into steps (UTC
days by default) processed in time order. Each step is a handful of set-based queries:
explain every access (:mod:`~insiderwatch.detect.explain`), write the day's per-employee
figures (the baselines of later steps), run every detector, remember new devices. What
a step leaves in the store (``employee_days``, ``employee_footprint``, ``findings``,
``access_explained``) is the state the next step starts from; a detector only sees
earlier days' state and this step's events up to each finding's time.

The last step is usually partial (live data stops mid-day). It is processed up to the
latest event and redone on the next run, which replaces its findings (a run with nothing
loaded since skips the redo, which would write what the store holds): a run that stays
within that day redoes it only for the employees its new events touched
(:mod:`~insiderwatch.detect.scope`), and keeps the explanations earlier runs gave
(``step_explained``): each access is explained once
(:func:`~insiderwatch.detect.explain.build_step` says when one is given again), and what
the day learned from earlier days (:mod:`~insiderwatch.detect.daily`). Late events (a
batch whose events fall before the watermark) and a changed configuration rewind the
engine to the first affected day. A detector whose version (a hash of its query and
configuration, :mod:`~insiderwatch.detect.catalog`) changed has its findings recomputed
from the first day, alone: the shared state and the other detectors' findings stay. At the
end the alert history of the employees whose findings changed is recomputed
(:mod:`~insiderwatch.detect.history`, :mod:`~insiderwatch.detect.risk`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

from insiderwatch.contract import Alert
from insiderwatch.detect.allowance import record_lookups
from insiderwatch.detect.base import (
    BASELINE_COLUMNS,
    DETECTORS,
    FINDING_COLUMNS,
    Detector,
    StepContext,
    exact_sum,
    execute,
    opening_action_sql,
)
from insiderwatch.detect.book import record_book
from insiderwatch.detect.casescope import record_case_scope
from insiderwatch.detect.casework import record_casework
from insiderwatch.detect.catalog import content_version, history_config, shared_fingerprint
from insiderwatch.detect.config import DetectionConfig
from insiderwatch.detect.daily import learn_day, reusable
from insiderwatch.detect.detectors.own_copies import OwnCopies
from insiderwatch.detect.explain import (
    UNEXPLAINED_WIDE_SEARCH,
    UNLISTED_ROWS_WEIGHT,
    build_step,
    record_explanations,
)
from insiderwatch.detect.history import (
    NOTHING_REWRITTEN,
    FindingsBefore,
    update_history,
)
from insiderwatch.detect.liveday import scoped_events
from insiderwatch.detect.owncopies import build_own_copies, record_own_copies
from insiderwatch.detect.public import FIGURE_JOIN
from insiderwatch.detect.revisits import record_revisits
from insiderwatch.detect.routine import OUTBOUND, record_flows
from insiderwatch.detect.rules import load_rules
from insiderwatch.detect.scope import (
    CONTEXT_BATCH_META,
    CONTEXT_CHANGED_SQL,
    PARTIAL_META,
    SCOPE_TABLE,
    SEEN_CONTEXT_SQL,
    forget_scope,
    partial_until,
    seen_batch,
    touched_scope,
)
from insiderwatch.detect.state import DAILY_TABLES, reset_if_outdated, step_findings_ddl
from insiderwatch.errors import InsiderwatchError, Location
from insiderwatch.privacy import HashKey
from insiderwatch.store.duckdb_store import FINGERPRINT_META, Store

DAY = dt.timedelta(days=1)
# Exfiltration sequences look back this far into the previous step.
LOOKBACK = dt.timedelta(hours=24)


@dataclass
class DetectionRun:
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    steps: int = 0
    events: int = 0
    explained: int = 0  # events explained afresh (an earlier step's stay explained)
    findings: int = 0
    alerts: int = 0
    rewound: str | None = None
    per_detector: dict[str, int] = field(default_factory=dict)
    # Alert-history lines the run added or changed (history order), and how many
    # employees' lines it recomputed (None: everyone's).
    changed_lines: list[Alert] = field(default_factory=list)
    rescored: int | None = None
    # Employees whose day the last step evaluated (all active, or those new events touched).
    employees: int = 0


def active_detectors(cfg: DetectionConfig) -> list[Detector]:
    classes = [cls for _, cls in DETECTORS] + load_rules(cfg.rule_paths)
    return [cls() for cls in classes if cls.id not in cfg.disabled]


def _utc_day_start(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


@dataclass(frozen=True)
class _Snapshot:
    """What a run reads of the store's catalogue before it steps, in one query: the event
    span, the last batch of events loaded, the earliest event loaded since the last run
    (late when before its watermark), whether a context table may have changed since the
    last run, and the last context batch the run sees (nothing loads during a run: the
    store has one writer)."""

    earliest: dt.datetime | None
    latest: dt.datetime | None
    last_batch: int
    late: dt.datetime | None
    context_changed: bool
    seen_context: int


def _snapshot(store: Store, meta: dict[str, str]) -> _Snapshot:
    access = "FROM event_segments WHERE table_name = 'access'"
    row = execute(
        store.con,
        f"""SELECT (SELECT min(min_time) {access}), (SELECT max(max_time) {access}),
                   (SELECT coalesce(max(batch_id), 0) FROM event_segments),
                   (SELECT min(min_time) {access} AND batch_id > $last_batch),
                   ({CONTEXT_CHANGED_SQL}), ({SEEN_CONTEXT_SQL})""",
        {"last_batch": int(meta.get("detect_last_batch") or 0), "seen": seen_batch(meta)},
    ).fetchall()[0]
    return _Snapshot(*row)


def _store_meta(store: Store) -> dict[str, str]:
    """The store's metadata (a few dozen keys), read at once: a run reads the engine's
    (``detect_*``), the key's fingerprint, the state version and the alerts' basis."""
    return dict(store.con.execute("SELECT key, value FROM store_meta").fetchall())


def _first_day(
    meta: dict[str, str], fingerprint: str, snap: _Snapshot
) -> tuple[dt.date | None, str | None]:
    """Where this run starts: the watermark, or earlier if something changed."""
    earliest, late = snap.earliest, snap.late
    if earliest is None:
        return None, None
    watermark = meta.get("detect_watermark")
    if watermark is None:
        return earliest.date(), None
    if meta.get("detect_config") != fingerprint:
        return earliest.date(), "configuration or detectors changed: full replay"
    day = dt.date.fromisoformat(watermark)
    if late is not None and late.date() < day:
        return late.date(), f"late events from {late.date()}: replaying from there"
    return day, None


@dataclass(frozen=True)
class LiveMarks:
    """Where the last run stopped, read in one query before a live step: the watermark,
    whether it left the day partial, and the latest event loaded."""

    watermark: str | None
    partial: bool
    latest: dt.datetime | None


def live_marks(store: Store) -> LiveMarks:
    watermark, partial, latest = store.con.execute(
        "SELECT (SELECT value FROM store_meta WHERE key = 'detect_watermark'), "
        "EXISTS (SELECT 1 FROM store_meta WHERE key = ?), "
        "(SELECT max(max_time) FROM event_segments WHERE table_name = 'access')",
        [PARTIAL_META],
    ).fetchall()[0]
    return LiveMarks(watermark, bool(partial), latest)


def step_bound(store: Store, days: int, marks: LiveMarks | None = None) -> dt.datetime | None:
    """The last instant of the ``days``-th day from the watermark, where a run that should
    cover at most that many days stops; None when every event is before it (or nothing
    was detected yet). A run stopped there completes its days: none is redone later.
    ``marks``: :func:`live_marks` when the caller has read them since the last run."""
    marks = marks or live_marks(store)
    if marks.watermark is None:
        return None
    bound = _utc_day_start(dt.date.fromisoformat(marks.watermark) + days * DAY)
    bound -= dt.timedelta(microseconds=1)
    latest = marks.latest
    return bound if latest is not None and latest > bound else None


def day_left_partial(store: Store, marks: LiveMarks | None = None) -> bool:
    """Whether the last run stopped mid-day (a run from the watermark completes that day
    before it reaches the next). ``marks``: as for :func:`step_bound`."""
    return (marks or live_marks(store)).partial


def _learning_ends(earliest: dt.datetime, cfg: DetectionConfig) -> dt.date:
    """The first day detectors judge: after the learning window of the whole history
    (none when routine is off or comes from a reviewed policy file)."""
    r = cfg.routine
    if not r.enabled or r.policy_file is not None:
        return earliest.date()
    return earliest.date() + dt.timedelta(days=r.learning_days)


def _context(day: dt.date, latest: dt.datetime, cfg: DetectionConfig, learned_from: dt.date):
    start = _utc_day_start(day)
    return StepContext(
        day=day,
        start=start,
        # The last step stops just after the latest event; it is redone next run.
        end=min(start + DAY, latest + dt.timedelta(microseconds=1)),
        lookback_start=start - LOOKBACK,
        baseline_start=day - dt.timedelta(days=cfg.baseline_days),
        config=cfg,
        learning=day < learned_from,
    )


def run_detection(
    store: Store,
    cfg: DetectionConfig,
    key: HashKey,
    *,
    until: dt.datetime | None = None,
    progress: Callable[[int, int, dt.date], None] | None = None,
) -> DetectionRun:
    """Process every step from the watermark up to ``until`` (default: the latest event),
    after recomputing the findings of detectors whose version changed. ``key`` is the
    deployment's hashing key (the one the store was hashed with): alert ids are keyed."""
    meta = _store_meta(store)
    store.check_key(key, known=meta.get(FINGERPRINT_META))
    con = store.con
    if reset_if_outdated(store, meta):
        meta = _store_meta(store)
    detectors = active_detectors(cfg)
    versions = {d.id: content_version(d, cfg) for d in detectors}
    stored = json.loads(meta.get("detect_versions") or "{}")
    stale = [d for d in detectors if stored.get(d.id) != versions[d.id]]
    run = DetectionRun()
    snap = _snapshot(store, meta)
    earliest, latest = snap.earliest, snap.latest
    first, run.rewound = _first_day(meta, shared_fingerprint(cfg), snap)
    if until is not None and latest is not None:
        latest = min(latest, until)
    if first is None or latest is None:
        _history_only(store, run, cfg, key, NOTHING_REWRITTEN)
        return run
    begin = first
    if stale and stored:
        begin = min(first, earliest.date())
        if begin < first:
            run.rewound = f"changed detector(s) {', '.join(d.id for d in stale)}: recomputing"
    last = latest.date()
    if begin > last:
        _history_only(store, run, cfg, key, NOTHING_REWRITTEN)
        return run
    everywhere = stale or set(stored) != set(versions)
    if (
        not everywhere
        and run.rewound is None
        and begin == last
        and _nothing_new(meta, snap, last, latest)
    ):
        # A redo of the partial day over the same events would write what is stored.
        _history_only(store, run, cfg, key, NOTHING_REWRITTEN)
        run.first_day, run.last_day = begin, last
        return run
    learned_from = _learning_ends(earliest, cfg)
    con.execute("BEGIN")
    try:
        # The findings this run may rewrite, to rescore afterwards only the employees whose
        # findings changed; a detector changed or gone rewrites them on every day.
        before = FindingsBefore.keep(con, None if everywhere else begin)
        known_until = _explained_until(meta, snap, first, latest, run.rewound)
        keep = known_until is not None
        # A run within the day the last one left partial evaluates only the employees
        # new events touched (detect/scope.py); any other run, everyone.
        scoped = (
            not everywhere
            and begin == last
            and touched_scope(
                store,
                meta,
                _context(last, latest, cfg, learned_from),
                latest,
                detectors,
                context_changed=snap.context_changed,
            )
        )
        steps = _Steps(store, run, detectors, stale, versions, known_until)
        # What the day learned from earlier days, kept from an earlier run (detect/daily.py).
        steps.reuse_learned = reusable(
            rewound=run.rewound is not None,
            everywhere=bool(everywhere),
            context_changed=snap.context_changed,
        )
        if scoped:
            company = [d.id for d in detectors if d.scope == "company"]
            # The day's learned routine stays where the step expects to learn nothing new.
            steps.flows_kept = steps.reuse_learned
            forget_scope(
                con,
                first,
                _utc_day_start(first),
                company,
                keep_explained=keep,
                keep_flows=steps.flows_kept,
            )
            steps.scoped = True  # one step: its lookback only for the employees that read it
        else:
            _forget(con, first, stale, list(versions), keep_explained=keep)
            _run_events(con, _utc_day_start(begin) - LOOKBACK, latest)
        total = (last - begin).days + 1
        day = begin
        while day <= last:
            steps.step(_context(day, latest, cfg, learned_from), refresh=day >= first)
            if progress:
                progress(run.steps, total, day)
            day += DAY
        _advance(store, cfg, versions, snap, last, latest, first)
        # In the same transaction as the findings, so the two never disagree in the store.
        _record_history(store, run, cfg, key, before, meta)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:  # a run leaves no temp state of its own on the connection, failed or not
        con.execute("DROP TABLE IF EXISTS run_events")
        con.execute(f"DROP TABLE IF EXISTS {SCOPE_TABLE}")
        con.execute(f"DROP TABLE IF EXISTS {_STEP_FINDINGS}")
    run.first_day, run.last_day = begin, last
    return run


def _nothing_new(meta: dict[str, str], snap: _Snapshot, day: dt.date, latest: dt.datetime) -> bool:
    """Whether a run would only redo ``day``, the day the last run left partial, over the
    events that run processed: it stopped at ``latest``, and no batch was loaded since
    (of events, or one that may have changed a context table). Every step of a day depends
    only on those, the state of earlier days and the configuration (the caller checks the
    detectors are the same), so the redo would write what the store holds: the run is
    skipped, a live step with nothing new costs a few catalogue reads."""
    if partial_until(meta, day) != latest:
        return False
    if snap.last_batch != int(meta.get("detect_last_batch") or 0):
        return False
    return not snap.context_changed


def _run_events(con, begin: dt.datetime, latest: dt.datetime) -> None:
    """Copy the run's events (from ``begin``, the first step's lookback, to ``latest``)
    into ``run_events``: one scan of the event segments for the whole run, sorted by time
    so each step reads only its own blocks, instead of one scan of every segment per
    step; events of one instant by id, not in the order the segments happen to hold them.
    A scoped run's one step reads its own from the day's copies
    (:func:`~insiderwatch.detect.liveday.scoped_events`)."""
    execute(
        con,
        "CREATE OR REPLACE TEMP TABLE run_events AS SELECT * FROM access "
        "WHERE time >= $run_begin AND time <= $latest ORDER BY time, event_id",
        {"run_begin": begin, "latest": latest},
    )


def _advance(
    store: Store, cfg, versions, snap: _Snapshot, last: dt.date, latest: dt.datetime, first
) -> None:
    """Record where the run stopped: the watermark (a day left partial is redone next
    run, and the time of its latest event processed, and the end of the step whose
    explanations the next run keeps), the configuration and detector versions it ran
    with, the last event batch it read and the last context batch."""
    keys = {
        "detect_config": shared_fingerprint(cfg),
        "detect_versions": json.dumps(versions, sort_keys=True),
        "detect_last_batch": str(snap.last_batch),
        CONTEXT_BATCH_META: str(snap.seen_context),
    }
    if last >= first:
        complete = latest >= _utc_day_start(last) + DAY - dt.timedelta(microseconds=1)
        keys["detect_watermark"] = (last + DAY if complete else last).isoformat()
        if complete:
            store.con.execute(
                "DELETE FROM store_meta WHERE key IN (?, ?)", [PARTIAL_META, _EXPLAINED_UNTIL]
            )
        else:
            keys[PARTIAL_META] = latest.isoformat()
            # the end of the last step (_context): the next run's first step continues it
            keys[_EXPLAINED_UNTIL] = (latest + dt.timedelta(microseconds=1)).isoformat()
    store.con.execute(
        "INSERT OR REPLACE INTO store_meta VALUES " + ", ".join(["(?, ?)"] * len(keys)),
        [x for item in keys.items() for x in item],
    )


def _record_history(
    store, run: DetectionRun, cfg, key, before: FindingsBefore, meta: dict | None = None
) -> None:
    update = update_history(store, cfg, key, before, meta=meta)
    run.alerts, run.changed_lines, run.rescored = update.alerts, update.changed, update.rescored


def _history_only(store, run: DetectionRun, cfg, key, before: FindingsBefore) -> None:
    """The alert history after a run that stepped no day (the risk settings, suppressions
    or departure dates may still have changed)."""
    store.con.execute("BEGIN")
    try:
        _record_history(store, run, cfg, key, before)
        store.con.execute("COMMIT")
    except BaseException:
        store.con.execute("ROLLBACK")
        raise


_EXPLAINED_UNTIL = "detect_explained_until"


def _explained_until(
    meta: dict[str, str], snap: _Snapshot, first: dt.date, latest: dt.datetime, rewound: str | None
) -> dt.datetime | None:
    """The end of the earlier step of ``first`` whose explanations this run keeps (see
    :func:`~insiderwatch.detect.explain.build_step`): none after a rewind, when a context
    table (staff, customers, cases, orders, canaries) may have changed since, or when this
    run stops before that step did."""
    value = meta.get(_EXPLAINED_UNTIL)
    if not value or rewound is not None or snap.context_changed:
        return None
    until = dt.datetime.fromisoformat(value)
    reaches = until <= latest + dt.timedelta(microseconds=1)
    return until if until.date() == first and reaches else None


def _forget(
    con, first: dt.date, stale: list[Detector], active: list[str], *, keep_explained: bool
) -> None:
    """Drop the state a run recomputes: everything from ``first`` on, every finding of a
    changed detector, and the findings of detectors no longer active. With
    ``keep_explained``, ``first``'s explanations stay: its steps replace only those
    they explain afresh."""
    for table in DAILY_TABLES:
        after = table == "access_explained" and keep_explained
        con.execute(f"DELETE FROM {table} WHERE day {'>' if after else '>='} ?", [first])
    if not keep_explained:
        con.execute("DELETE FROM step_explained")
        con.execute("DELETE FROM step_touch_explained")
    con.execute("DELETE FROM employee_footprint WHERE first_seen >= ?", [_utc_day_start(first)])
    con.execute(
        "DELETE FROM findings WHERE list_contains(?, detector) OR NOT list_contains(?, detector)",
        [[d.id for d in stale], active],
    )


# The step's findings, before they enter ``findings`` in one statement.
_STEP_FINDINGS = "step_findings"
_STEP_FINDINGS_DDL = step_findings_ddl(_STEP_FINDINGS)
# Which baseline columns each detector version's query yields, probed once per process.
_BASELINE_COLUMNS: dict[tuple[str, str], list[str]] = {}


class _Steps:
    """Runs steps: the shared state and every detector from the watermark on (``refresh``),
    only the changed detectors on earlier days."""

    def __init__(
        self,
        store: Store,
        run: DetectionRun,
        detectors: list[Detector],
        stale: list[Detector],
        versions: dict[str, str],
        known_until: dt.datetime | None = None,
    ):
        self.store, self.run = store, run
        self.detectors, self.stale, self.versions = detectors, stale, versions
        self.known_until = known_until
        self.reuse_learned = False
        # A scoped run: its one step reads its events from the day's copies once it knows
        # whose lookback it reads (liveday.scoped_events), not from run_events.
        self.scoped = False
        # The run left the day's routine_flows in the store for the step (forget_scope).
        self.flows_kept = False
        # The run learned a day: its day-window tables may be carried to the next (daily.py).
        self.learned = False

    def step(self, ctx: StepContext, *, refresh: bool) -> None:
        con = self.store.con
        known = self.known_until
        reuse = known if refresh and known is not None and known.date() == ctx.day else None
        running = [
            det
            for det in (self.detectors if refresh else self.stale)
            if det.during_learning or not ctx.learning
        ]
        tables = {
            name: sql
            for det in running
            for name, sql in det.daily(ctx, ctx.config.detector_config(det)).items()
        }
        params = learn_day(
            con,
            ctx.config,
            ctx.params,
            reuse=self.reuse_learned,
            tables=tables,
            flows_kept=self.flows_kept,
            carry=self.learned,
        )
        self.flows_kept, self.learned = False, True
        source, ordered = "run_events", True
        if self.scoped:  # the day's copies, sorted by the step (liveday.scoped_events)
            source, ordered = scoped_events(self.store, ctx.lookback_start, params), False
            self.scoped = False
        build_step(con, ctx.config, params, source=source, known_until=reuse, ordered=ordered)
        # Whether the step may hold an outbound action carrying records; asked only where
        # the step explains afresh (elsewhere it would cost a query of its own, and on the
        # companies measured every such step sent something). With none, what judges the
        # step's sends (its own copies, the detectors that need_outbound) would be empty:
        # it is skipped.
        sends = True
        if refresh:
            partial = ctx.end < ctx.start + DAY
            self.run.explained += record_explanations(
                con, ctx.params, reused=reuse is not None, partial=partial
            )
            # One row per employee with events in the step: the step's counts, and whether
            # it sent records, come back (step_sends).
            counted = execute(con, _EMPLOYEE_DAY_SQL, ctx.params).fetchall()
            sends = step_sends(counted)
        if sends and (refresh or any(det.id == OwnCopies.id for det in running)):
            # its defaults while it is disabled: a disabled plug-in's config is never read
            own = history_config(OwnCopies, ctx.config)
            build_own_copies(con, ctx.params, own.window_days, own.max_evidence)
        # Each detector's findings go to a temp table, then all into ``findings`` at once:
        # a conflict check of the stored findings costs a statement about 5 ms of
        # planning, once instead of once per detector. No detector's query reads the
        # step's own findings, and ids differ between detectors (the id hashes its name).
        con.execute(_STEP_FINDINGS_DDL)
        produced = []
        for det in running:
            count = self._stored(det, ctx) if sends or not det.needs_outbound else 0
            self.run.per_detector[det.id] = self.run.per_detector.get(det.id, 0) + count
            self.run.findings += count
            produced += [det.id] if count else []
        try:
            con.execute(f"INSERT OR REPLACE INTO findings BY NAME FROM {_STEP_FINDINGS}")
        except duckdb.Error as exc:
            raise InsiderwatchError(
                f"the findings of {ctx.day} from {', '.join(produced)} could not be stored: {exc}"
            ) from exc
        if refresh:
            # The day's rows of the evaluated employees were deleted before the run
            # (_forget, forget_scope): the day tables take plain INSERTs, without the
            # conflict check an INSERT OR REPLACE plans (about 5 ms a statement).
            record_flows(con, ctx.params)
            record_casework(con, params)
            record_case_scope(con, ctx.params)
            record_lookups(con, ctx.config, ctx.params)
            record_book(con, ctx.params)
            if sends:  # step_own_copies was made (an earlier step's would be stale)
                record_own_copies(con, ctx.params)
            record_revisits(con, ctx.params)
            con.execute(_FOOTPRINT_SQL)
            self.run.events += sum(events for events, _ in counted)
            self.run.employees = len(counted)
            self.run.steps += 1

    def _stored(self, det: Detector, ctx: StepContext) -> int:
        """``det``'s findings of the step, in the step's table; a query that fails or
        yields a row ``findings`` refuses (a column left empty) names the detector."""
        try:
            return self._detect(det, ctx)
        except duckdb.Error as exc:
            source = getattr(det, "source", None)  # a rule file
            raise InsiderwatchError(
                f"detector {det.id} (version {self.versions[det.id]}) failed on {ctx.day}: {exc}",
                Location(file=str(source)) if source else None,
            ) from exc

    def _detect(self, det: Detector, ctx: StepContext) -> int:
        con = self.store.con
        cfg = ctx.config
        sql = det.sql(ctx, cfg.detector_config(det))
        params = {**ctx.params, "detector": det.id, "version": self.versions[det.id]}
        probed = (det.id, self.versions[det.id])
        if probed not in _BASELINE_COLUMNS:
            # Baseline columns are optional: probe once which ones this query yields (a
            # version is the query's content, so its columns are known from then on).
            names = {
                d[0] for d in execute(con, f"SELECT * FROM ({sql}) LIMIT 0", params).description
            }
            _BASELINE_COLUMNS[probed] = [c if c in names else "NULL" for c in BASELINE_COLUMNS]
        cols = ", ".join(FINDING_COLUMNS)
        baseline = ", ".join(_BASELINE_COLUMNS[probed])
        return execute(
            con,
            f"""INSERT INTO {_STEP_FINDINGS} (finding_id, detector, detector_version,
                  employee_id, day, time, first_time, points, severity, critical, reason,
                  event_ids, customer_ids, {", ".join(BASELINE_COLUMNS)}, suppressed_by)
                SELECT md5($detector || '|' || employee_id || '|' || key), $detector, $version,
                       employee_id, $day, time, first_time, points, severity, critical, reason,
                       list_sort(event_ids), list_sort(coalesce(customer_ids, [])), {baseline},
                       NULL
                FROM (SELECT {cols}, {baseline} FROM ({sql}))""",
            params,
        ).fetchall()[0][0]


def step_sends(counted: list[tuple[int, bool]]) -> bool:
    """Whether any outbound action of the step carries records (``record_count`` above 0,
    which is the number of customers listed where the log gave none), from the rows the
    ``employee_days`` insert returned: an employee's ``outbound_records`` sums the
    record counts of their outbound actions of the step, none below 0, so it is above 0
    exactly when one of them carries records. Read there rather than by a query of its
    own: one statement less a step."""
    return any(sent for _, sent in counted)


_FOOTPRINT_SQL = """
INSERT OR IGNORE INTO employee_footprint
SELECT employee_id, kind, value, min(time) FROM (
  SELECT employee_id, time, 'device' AS kind, device_id AS value FROM step_events
  WHERE in_step AND device_id <> ''
  UNION ALL
  SELECT employee_id, time, 'ip', src_ip FROM step_events WHERE in_step AND src_ip <> ''
) GROUP BY ALL
"""


_EMPLOYEE_DAY_SQL = f"""
INSERT INTO employee_days (employee_id, day, role, team, peer_group, events, data_events,
  unexplained_events, unexplained_customers, unexplained_lookup_customers, unexplained_weight,
  unexplained_vip, unexplained_contact, outbound_records, first_time, last_time)
WITH unexplained AS (
  SELECT employee_id, customer_id, max(weight) AS weight,
         bool_or(breadth <= $targeted) AS targeted, bool_or({opening_action_sql()}) AS looked_up
  FROM step_touch WHERE in_step AND NOT explained GROUP BY ALL
),
per_customer AS (  -- public figures singled out by a targeted look-up (what vip counts)
  SELECT u.employee_id, count(*) AS customers, count(*) FILTER (WHERE u.looked_up) AS looked_up,
         {exact_sum("u.weight")} AS weight,
         count(*) FILTER (WHERE pf.customer_id IS NOT NULL AND u.targeted) AS vip
  FROM unexplained u {FIGURE_JOIN.format("u.customer_id")} GROUP BY ALL
),
contact AS (
  SELECT employee_id, count(DISTINCT customer_id) AS customers FROM step_touch
  WHERE in_step AND NOT explained AND action <> 'search'
    AND (list_contains(fields, 'email') OR list_contains(fields, 'phone'))
  GROUP BY ALL
),
search_extra AS (
  SELECT employee_id, {exact_sum(UNLISTED_ROWS_WEIGHT)} AS weight
  FROM step_events WHERE {UNEXPLAINED_WIDE_SEARCH}
  GROUP BY ALL
)
SELECT e.employee_id, $day, any_value(e.role), any_value(e.team), any_value(e.peer_group),
       count(*),
       count(*) FILTER (WHERE e.action <> 'login'),
       count(*) FILTER (WHERE NOT e.explained),
       coalesce(any_value(c.customers), 0),
       coalesce(any_value(c.looked_up), 0),
       coalesce(any_value(c.weight), 0) + coalesce(any_value(x.weight), 0),
       coalesce(any_value(c.vip), 0),
       coalesce(any_value(k.customers), 0),
       coalesce(sum(e.record_count) FILTER (
         WHERE e.action IN {OUTBOUND}), 0),
       min(e.time), max(e.time)
FROM step_events e
LEFT JOIN per_customer c USING (employee_id)
LEFT JOIN search_extra x USING (employee_id)
LEFT JOIN contact k USING (employee_id)
WHERE e.in_step
GROUP BY e.employee_id
RETURNING events, outbound_records > 0  -- the step's counts and whether it sent (step_sends)
"""
