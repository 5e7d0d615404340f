"""Detection settings: how access is explained, what counts as leaving the company, risk
scoring, and per-detector parameters.

Everything has a default that suits a retailer's support organisation; a TOML file
(``insiderwatch detect --rules-config FILE``) overrides any part. Times are minutes or
hours as named, so a file reads without units.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Any

import msgspec
import yaml

from insiderwatch.detect.ranges import (
    AtLeastOne,
    Count,
    HourOfDay,
    HoursInDay,
    NonNegative,
    Positive,
    Quantile,
    Score,
    Share,
    check_order,
    explain_error,
)
from insiderwatch.errors import ConfigError, Location

# A rule file's rule is the detector rule:<its id> (detect/rules.py).
RULE_PREFIX = "rule:"


class Explanation(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """When a case or a policy makes an access legitimate."""

    # Slack before a case opens: set it when agents look customers up before the ticket
    # exists. An access is then judged with cases opened up to that long after it, so
    # live findings on the newest accesses may be withdrawn when the step is re-run.
    slack_before_minutes: Count = 0
    # Agents finish notes after the case is closed.
    slack_after_minutes: Count = 60
    # The customer rings back after the case was closed.
    callback_hours: Count = 48
    # Supervisors review their reports' cases, often the day after.
    supervisor_after_hours: Count = 24
    # Investigating peer groups are learned (see detect/casework.py): a group whose staff
    # routinely view customers other than the case's own under their own case ids. A case
    # id such a group captured explains every customer looked at under it.
    investigation_min_staff: AtLeastOne = 2  # of the group doing so in the baseline window
    investigation_share: Share = 0.5  # of the group's case-linked views being of others
    # An investigating group's view of a customer its own explained search returned
    # within this many hours follows the investigation.
    drilldown_hours: Count = 24
    # A targeted access that opens again, the same day and with no more fields, customers
    # an explained access showed the employee earlier (detect/followup.py): a debugging
    # session opening one account four times spends no more than its first opening.
    followup: bool = True
    # An investigating group's case scope (detect/casescope.py), learned from its peers:
    # per case and day, customers no search of theirs returned up to this quantile of the
    # peers' counts; field sets shown of other customers under cases by at least
    # investigation_min_staff of them and in at least this share of such views. A group
    # with fewer case-days of such views in the baseline window is not limited.
    case_scope_quantile: Quantile = 0.99
    case_scope_min_share: Share = 0.01
    case_scope_min_case_days: Count = 20
    # Roles (or teams; a trailing '*' matches a prefix) to treat as investigating from the
    # first day, besides the learned groups. Empty by default.
    investigation_roles: list[str] = []
    # A team's portfolio (sellers whose buyers it serves) is learned from its past cases:
    # sellers at least portfolio_lift times more common among the team's cases than among
    # all cases, in at least portfolio_min_cases of them. Roles listed in portfolio_roles
    # need no lift (every seller with enough of their team's cases). Empty by default.
    portfolio_roles: list[str] = []
    portfolio_min_cases: AtLeastOne = 5
    portfolio_lift: Positive = 1.5  # a team serving half the sellers has 2
    portfolio_history_days: AtLeastOne = 60
    # Role policies: identities whose every access is explained by what they are; their
    # volume is still watched against their own baseline. None by default: service
    # accounts and analysts are explained by their learned routine (see ``Routine``).
    policy_roles: list[str] = []
    # (role, app) pairs allowed bulk, customer-less queries, e.g. {analyst = ["bi"]}.
    policy_apps: dict[str, list[str]] = {}


class Destinations(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Where data may go without leaving the company's control."""

    internal: list[str] = msgspec.field(default_factory=lambda: ["local", "printer"])
    # The contract's kinds that always leave the company's control: sending there is
    # never a mere "new data flow".
    outside: list[str] = msgspec.field(default_factory=lambda: ["usb", "personal_email"])
    # cloud:/external: targets the company owns or has contracts with; '*' ends a prefix.
    # Empty by default: a destination a peer group sends to routinely is learned (see
    # ``Routine``); list here only what should be trusted from the first day.
    allowed: list[str] = []


class ReviewedFlow(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """One routine flow of a reviewed policy file (``insiderwatch calibrate --out``)."""

    group: str  # a peer group (role:team family) or 'self:<employee_id>' for a machine
    app: str
    action: str
    destination: str = ""  # '' when the action sends nothing anywhere
    max_records: Count  # wider accesses are not routine
    hours: list[HourOfDay] = msgspec.field(default_factory=lambda: list(range(24)))  # UTC
    fields: list[str] = []
    # The sets of fields one access may show together (each, or part of one); none: any
    # of the fields above in any combination.
    field_sets: list[list[str]] = []
    evidence: str = ""


class Routine(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """What most of a peer group does regularly is explained by that routine.

    A flow (app, action, destination) is routine for a peer group when at least
    ``min_employees`` distinct staff and ``min_share`` of the group's active staff did it
    (each on ``min_days`` days) in the baseline window, on ``regular_share`` of the group's
    days, within the breadth, hours and fields they usually use. One insider can never make
    a routine of his own.
    """

    enabled: bool = True
    min_employees: AtLeastOne = 3
    min_share: Share = 0.5
    regular_share: Share = 0.2  # of the group's days with activity: about weekly
    min_days: AtLeastOne = 1  # days each of them must have done it
    learning_days: Count = 7  # days of a group's history before anything is routine for it
    # Routine breadth: this factor times the given quantile of the doers' widest daily access.
    breadth_quantile: Quantile = 0.9
    breadth_factor: Positive = 4.0
    min_hour_days: AtLeastOne = (
        2  # an hour is the group's once it worked in it on this many employee-days
    )
    # Identities active in this many distinct hours of a typical day are machines (service
    # accounts): each learns its own routine, as a group of one.
    machine_min_hours: HoursInDay = 18
    # ... or active on this share of the calendar days of at least this many days of history,
    # and never signed in: a nightly job runs on weekends and holidays too, and so may
    # staff on a seven-day rota, but they sign in.
    machine_min_day_share: Share = 0.95
    machine_min_span_days: AtLeastOne = 14
    # An identity that never logs in, where most identities in the window do, needs only
    # learning_days of that history: no person sits behind it, whatever it does.
    machine_without_login: bool = True
    # Staff of a peer group smaller than min_employees take the learned habits (look-up
    # allowance, investigating) of the group whose mix of (app, action) accesses theirs
    # resembles at least this closely (cosine): most of what they do is what it does.
    min_similarity: Share = 0.8
    # A reviewed policy file (YAML, from `insiderwatch calibrate --out`): when set, its flows
    # are the routine and nothing is learned; a flow removed from it explains nothing.
    policy_file: str | None = None
    reviewed: list[ReviewedFlow] = []  # read from policy_file at load


class Allowance(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """The few case-less look-ups a peer group's staff make are explained up to the
    group's usual amount over the baseline window (see detect/allowance.py); the group
    qualifies by the routine's ``min_employees``, ``min_days`` and ``learning_days``."""

    enabled: bool = True
    # Of the staff's totals of look-ups (customers shown) over the window, and of their
    # look-ups per access of work: an employee whose own total, explained or not, passes
    # both the group's 90th percentile and that pace for their work is unusual, and every
    # further look-up of theirs is left to the detectors.
    quantile: Quantile = 0.9
    # In a small group, what min_employees of it reached (the cap on the quantile, so one
    # or two can't raise it) is near its median, which half the group passes by chance
    # when look-ups are rare. Each member may also spend the line chance draws around the
    # usual total of their *colleagues* (never their own history): their lower median
    # plus this many dispersion-scaled standard deviations, never above the colleagues'
    # quantile. 2.33: a 1-in-100 excess for someone doing the group's usual.
    chance_z: NonNegative = 2.33
    # Explain only the kinds of look-up (app, action, field set) at least min_employees
    # of the group's staff make (with a case or without); other kinds still spend it.
    by_kind: bool = True
    # Staff of the group who made a kind of look-up in the window before it is the
    # group's: two, so one insider's own habit never becomes the group's.
    kind_min_staff: AtLeastOne = 2
    # Let an employee's allowance grow with their own work (accesses to data that are not
    # case-less look-ups) at the group's pace of look-ups per such access: the busiest
    # counter agent is not past the usual for being busy.
    per_work: bool = True


class RelationshipBook(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Where most of a peer group's staff come back, case-less, to customers of their own
    that no colleague comes back to (a relationship desk), each one's customers returned to
    on ``min_days`` days explain later look-ups of them (``book:relationship``; a desk's
    shared client, in the book of each member who comes back to them, ``book:desk``; see
    detect/groupbook.py). Switched on and off on its own: ``[book] enabled`` is the
    customer book's alone."""

    enabled: bool = True
    min_days: AtLeastOne = 2  # separate earlier days with a case-less look-up of the customer
    # A member keeps a book when they made at least min_lookups case-less look-ups (one per
    # customer and day) in the window, at least keeper_share of them of customers of
    # their own. A third, not half: a client called about monthly is seen twice only
    # after weeks, so a desk with large books has fewer own returns than one-off look-ups
    # for most of its first month (a contact centre's agents have next to none).
    min_lookups: AtLeastOne = 5
    keeper_share: Share = 0.3
    # Keepers a group needs, at least min_staff and this share of its staff with
    # case-less look-ups: one insider, or a pair, never makes a group one.
    min_staff: AtLeastOne = 3
    group_share: Share = 0.5


class Book(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Customers an employee served under a case in the baseline window are their book:
    later targeted look-ups of them need no case (``book``, see detect/book.py), and a
    leaver may export them to where the peer group (or another group of their role)
    routinely sends its work (``handover``, see detect/handover.py). ``relationship``: the
    books of staff who serve their customers without cases."""

    enabled: bool = True
    handover_days: AtLeastOne = 28  # before a known departure date
    relationship: RelationshipBook = RelationshipBook()


class PublicFigures(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Customers whose records many staff of several groups open with no case, none of
    whom served them under one, are public figures (see detect/public.py), as are those
    the context flags VIP: the vip detector judges case-less look-ups of either kind.
    ``enabled = false`` keeps the flagged ones only."""

    enabled: bool = True
    # Strangers (case-less, never under a case, no service account) a customer needs in
    # the baseline window, in at least min_groups peer groups: one snoop, or a team's
    # pair, is not a crowd.
    min_staff: AtLeastOne = 3
    min_groups: AtLeastOne = 2
    # ... and their attention (days each looked the customer up, added up) above this
    # quantile of all customers looked up with no case: what the busiest callers of a
    # large contact centre get is ordinary, not fame.
    quantile: Quantile = 0.999
    # A figure served under cases by more staff than this quantile of every customer
    # anyone served is in frequent contact with the company: case-less look-ups of them
    # come from work too (a transferred call, a late case), so the vip detector weighs one
    # bar/served of a look-up of a figure nobody serves so often.
    contact_quantile: Quantile = 0.99


class Risk(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """How findings become a score and alerts (see docs/detections.md for the formula)."""

    half_life_days: Positive = 7.0
    scale: Positive = 40.0  # points at which the score reaches 63 (1 - 1/e)
    alert_score: Score = 50.0
    # An alert stays open, absorbing new findings, until the score decays below this.
    rearm_score: Score = 20.0
    departing_weight: Positive = 1.5  # findings in the weeks before departs_on
    departing_window_days: Count = 28

    def __post_init__(self) -> None:
        check_order(self, "rearm_score", "alert_score",
                    "an open alert ends when the score decays below rearm_score, so above "
                    "alert_score it would end while the score still alerts and the next "
                    "finding would open another", equal=True)  # fmt: skip


class Suppression(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    """Silence a detector (or all, '*') for an employee until a date, with a reason."""

    employee_id: str
    detector: str = "*"
    until: dt.date
    reason: str
    author: str = ""


class DetectionConfig(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=True):
    baseline_days: AtLeastOne = 28
    explanation: Explanation = Explanation()
    destinations: Destinations = Destinations()
    risk: Risk = Risk()
    routine: Routine = Routine()
    allowance: Allowance = Allowance()
    book: Book = Book()
    public_figures: PublicFigures = PublicFigures()
    # A look-up returning at most this many customers concerns particular people: only a
    # business reason explains it (never routine), and VIP, relationship and sensitivity
    # weigh it in full. Broader accesses weigh 1/breadth of that (one VIP in a 1,000-row
    # export is not snooping on her).
    targeted_max_customers: AtLeastOne = 3
    suppressions: list[Suppression] = []
    # Per-detector parameters, validated by each detector's own Config model.
    detectors: dict[str, dict[str, Any]] = {}
    # Extra rule files (Sigma or native YAML) or folders of them.
    rule_paths: list[str] = []
    disabled: list[str] = []

    def detector_config(self, detector) -> Any:
        raw = self.detectors.get(detector.id, {})
        return convert_settings(raw, detector.Config, None, f"detectors.{detector.id}")


def convert_settings(raw: Any, struct: type, file: Path | str | None, prefix: str = "") -> Any:
    """``raw`` settings as ``struct``, every number checked against its declared range
    (:mod:`~insiderwatch.detect.ranges`); a problem is a ConfigError naming the file and
    the setting (``prefix`` and its path within ``raw``)."""
    try:
        return msgspec.convert(raw, struct, strict=False)
    except msgspec.ValidationError as exc:
        setting, problem = explain_error(exc, struct, raw)
        field = ".".join(part for part in (prefix, setting) if part) or None
        where = str(file) if file is not None else None
        raise ConfigError(problem, Location(file=where, field=field)) from None


def check_detector_settings(cfg: DetectionConfig, file: Path | str | None) -> None:
    """Every enabled, registered detector's ``[detectors.<id>]`` settings converted once,
    at load, so a value outside its range stops the run before any step. A disabled
    detector's settings are never read (catalog.history_config), nor are a rule's (rules
    come from rule files, read later). An id that names neither a registered detector (a
    plug-in's included, once installed) nor a rule, in ``[detectors]`` or ``disabled``, is
    an error: a misspelt id would otherwise leave its detector at the defaults, or on."""
    from insiderwatch.detect.base import DETECTORS  # base imports this module

    known = dict(DETECTORS)
    where = str(file) if file is not None else None
    named = [(f"detectors.{det_id}", det_id) for det_id in cfg.detectors]
    named += [(f"disabled[{i}]", det_id) for i, det_id in enumerate(cfg.disabled)]
    for field, det_id in named:
        if det_id not in known and not det_id.startswith(RULE_PREFIX):
            raise ConfigError(
                f"no detector is called {det_id!r} (rules are {RULE_PREFIX}<id>); "
                f"the detectors are {', '.join(sorted(known))}",
                Location(file=where, field=field),
            )
    for det_id, raw in cfg.detectors.items():
        if det_id in known and det_id not in cfg.disabled:
            convert_settings(raw, known[det_id].Config, file, f"detectors.{det_id}")


def load_detection_config(path: Path | None) -> DetectionConfig:
    if path is None:
        return DetectionConfig()
    try:
        raw = tomllib.loads(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    cfg = convert_settings(raw, DetectionConfig, path)
    check_detector_settings(cfg, path)
    if cfg.routine.policy_file is None:
        return cfg
    policy = Path(path).parent / cfg.routine.policy_file
    routine = msgspec.structs.replace(cfg.routine, reviewed=load_policy_file(policy))
    return msgspec.structs.replace(cfg, routine=routine)


def load_policy_file(path: Path) -> list[ReviewedFlow]:
    """The reviewed routine flows of a policy file; its contents join the configuration's
    fingerprint, so editing the file re-runs detection."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    flows = (raw or {}).get("flows") if isinstance(raw, dict) else None
    if not isinstance(flows, list):
        raise ConfigError(f"{path}: expected a mapping with a list under 'flows'")
    out = []
    for i, flow in enumerate(flows):  # 0-based, as msgspec names the paths inside a flow
        out.append(convert_settings(flow, ReviewedFlow, path, f"flows[{i}]"))
    return out
