"""Interchange contract v1: the typed records every stage exchanges.

These msgspec Structs are the single source of truth for the contract. The Arrow
schemas, the ingest validation and the JSON Schema export are all derived from them
(see :mod:`insiderwatch.contract.tables`), so a column added here shows up everywhere.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, ClassVar, Literal

import msgspec

CONTRACT_VERSION = "1"

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
Score = Annotated[float, msgspec.Meta(ge=0, le=100)]

Action = Literal[
    "login", "search", "view", "update", "export", "print", "copy", "message", "download"
]
FieldCategory = Literal["name", "email", "phone", "address", "payment", "orders", "notes"]
Severity = Literal["low", "medium", "high", "critical"]

ACTIONS: tuple[str, ...] = Action.__args__  # type: ignore[attr-defined]
FIELD_CATEGORIES: tuple[str, ...] = FieldCategory.__args__  # type: ignore[attr-defined]
SEVERITIES: tuple[str, ...] = Severity.__args__  # type: ignore[attr-defined]

# Where an export/copy/message/download went. `external:` and `cloud:` carry a domain or
# service name so that detectors can tell a partner domain from a webmail one.
DESTINATION_PATTERN = r"^(local|usb|printer|personal_email|external:[^\s:]+|cloud:[^\s:]+)$"
Destination = Annotated[str, msgspec.Meta(pattern=DESTINATION_PATTERN)]


def _doc(text: str, **extra: str) -> msgspec.Meta:
    return msgspec.Meta(description=text, extra=extra or None)


class Record(msgspec.Struct, kw_only=True, frozen=True, forbid_unknown_fields=False):
    """Base of every contract record. Subclasses declare their table and key."""

    table: ClassVar[str]
    key: ClassVar[tuple[str, ...]]
    doc: ClassVar[str]


# --- context tables ---------------------------------------------------------------


class Employee(Record, kw_only=True):
    table = "employees"
    key = ("employee_id",)
    doc = "One row per workforce identity (employee, contractor, service account)."

    employee_id: Annotated[Id, _doc("Stable id, used everywhere else.")]
    display_name: Annotated[str, _doc("Name shown to authorised investigators.")] = ""
    surname: Annotated[str, _doc("For relationship checks.")] = ""
    role: Annotated[str, _doc("Job function, e.g. cs_agent, seller_support, fraud_investigator.")]
    team: Annotated[str, _doc("Team or queue.")] = ""
    site: Annotated[str, _doc("Office / country.")] = ""
    manager_id: Annotated[Id | None, _doc("The employee's manager.")] = None
    hired_on: Annotated[dt.date, _doc("First working day.")]
    departs_on: Annotated[dt.date | None, _doc("Known end date; empty if none.")] = None
    home_postcode: Annotated[str | None, _doc("For neighbour / household checks.")] = None


class Customer(Record, kw_only=True):
    table = "customers"
    key = ("customer_id",)
    doc = (
        "One row per customer account (from the CRM). Email and phone are normalised and "
        "kept only as keyed hashes once ingested."
    )

    customer_id: Annotated[Id, _doc("Customer account id.")]
    surname: Annotated[str, _doc("For relationship checks.")] = ""
    postcode: Annotated[str, _doc("Postal code.")] = ""
    email: Annotated[str | None, _doc("Raw email; stored as a keyed hash.", pii="email")] = None
    phone: Annotated[
        str | None, _doc("Raw phone, any formatting; stored as a keyed hash.", pii="phone")
    ] = None
    is_vip: Annotated[bool, _doc("Celebrity, executive, journalist ...")] = False


class Case(Record, kw_only=True):
    table = "cases"
    # A case appears on several rows when it is reassigned; each row is one assignment.
    key = ("case_id", "employee_id", "opened_at")
    doc = "Work items that justify access (support tickets, disputes, investigations)."

    case_id: Annotated[Id, _doc("Case / ticket id.")]
    customer_id: Annotated[Id, _doc("Customer the case is about.")]
    employee_id: Annotated[Id, _doc("Assignee.")]
    opened_at: Annotated[dt.datetime, _doc("When the assignment started (UTC).")]
    closed_at: Annotated[dt.datetime | None, _doc("Empty while open.")] = None
    channel: Annotated[str, _doc("phone, chat, email, internal ...")] = ""


class Order(Record, kw_only=True):
    table = "orders"
    key = ("order_id",)
    doc = "Optional customer-seller relations (who may serve whom in seller support)."

    order_id: Annotated[Id, _doc("Order id.")]
    customer_id: Annotated[Id, _doc("Buyer.")]
    seller_id: Annotated[Id, _doc("Seller.")]
    ordered_at: Annotated[dt.datetime, _doc("Order time (UTC).")]


class Canary(Record, kw_only=True):
    table = "canaries"
    key = ("customer_id",)
    doc = "Optional decoy customer records planted by the security team."

    customer_id: Annotated[Id, _doc("Decoy customer id.")]
    note: Annotated[str, _doc("Where and why it was planted.")] = ""


# --- events -----------------------------------------------------------------------


class AccessEvent(Record, kw_only=True):
    table = "access"
    key = ("event_id",)
    doc = "One row per access by a workforce identity to customer data."

    event_id: Annotated[Id, _doc("Unique; re-ingesting the same event_id never double counts.")]
    time: Annotated[dt.datetime, _doc("Event time, ISO 8601 with Z or offset (naive = UTC).")]
    employee_id: Annotated[Id, _doc("Who accessed; must exist in employees.")]
    action: Annotated[Action, _doc("What was done.")]
    customer_ids: Annotated[
        list[Id], _doc("Customers whose data was shown; in CSV a ';'-separated string.")
    ] = []
    fields: Annotated[list[FieldCategory], _doc("Data categories exposed.")] = []
    record_count: Annotated[
        Annotated[int, msgspec.Meta(ge=0)] | None,
        _doc("Rows shown; defaults to the number of customer_ids, else unknown (null)."),
    ] = None
    app: Annotated[str, _doc("Tool used.")] = ""
    case_id: Annotated[Id | None, _doc("Justification the tool captured, if any.")] = None
    src_ip: Annotated[str, _doc("Source IP address.")] = ""
    device_id: Annotated[str, _doc("Device identifier.")] = ""
    destination: Annotated[
        Destination | None, _doc("For export/copy/message/download: where the data went.")
    ] = None


# --- outputs (produced by detection and attribution) -------------------------------


Points = Annotated[float, msgspec.Meta(ge=0)]


class Finding(msgspec.Struct, kw_only=True, frozen=True):
    """One detector's observation about one employee: what moved, by how much, over what
    window, and the evidence. Findings are the input of the risk engine and of alerts."""

    finding_id: Annotated[Id, _doc("Hash of detector, employee and the finding's own key.")]
    detector: Annotated[Id, _doc("Detector id (the catalogue is in docs/detections.md).")]
    detector_version: Annotated[
        str,
        _doc(
            "Content hash of the detector's query and configuration: a changed detector "
            "has a new version and its stored findings are recomputed."
        ),
    ]
    employee_id: Annotated[Id, _doc("Who the finding is about.")]
    detected_at: Annotated[
        dt.datetime, _doc("Event time of the latest event the finding used (its evidence).")
    ]
    window_start: Annotated[dt.datetime, _doc("Event time of its earliest evidence.")]
    severity: Annotated[Severity, _doc("The detector's own judgement of this finding.")]
    critical: Annotated[bool, _doc("Opens an alert on its own, whatever the score.")] = False
    points: Annotated[Points, _doc("What it adds to the employee's risk before decay.")]
    reason: Annotated[str, _doc("The detector's sentence, for a case file.")]
    event_ids: Annotated[list[str], _doc("Evidence: events at or before detected_at.")]
    customer_ids: Annotated[list[str], _doc("Customers in the evidence.")] = []
    measure: Annotated[
        str | None, _doc("The baseline measure that moved (an employee_days column), if any.")
    ] = None
    observed: Annotated[float | None, _doc("Its value when the finding fired.")] = None
    threshold: Annotated[float | None, _doc("The line it crossed.")] = None
    own_usual: Annotated[float | None, _doc("The employee's own usual value (median).")] = None
    peer_usual: Annotated[float | None, _doc("The peer group's high quantile.")] = None
    suppressed_by: Annotated[str | None, _doc("Why it brings no points, if suppressed.")] = None

    def __post_init__(self) -> None:
        if self.window_start > self.detected_at:
            raise ValueError("window_start is later than detected_at")


class Alert(msgspec.Struct, kw_only=True, frozen=True):
    """One line of alerts.jsonl, the alert history: an alert as it stood when it opened
    (revision 0) or changed (score, severity, evidence). The current state of an alert is
    its last line."""

    alert_id: Annotated[
        Id,
        _doc(
            "Stable for the employee's episode across replays: a keyed hash (the "
            "deployment's hashing key) of employee and opening time."
        ),
    ]
    revision: Annotated[int, msgspec.Meta(ge=0), _doc("0 when it opened, then 1, 2, ...")]
    employee_id: Annotated[Id, _doc("Whose episode it is.")]
    score: Annotated[Score, _doc("Peak risk score (0-100) of the episode so far.")]
    severity: Annotated[Severity, _doc("From the score; critical with any critical finding.")]
    detected_at: Annotated[
        dt.datetime,
        _doc(
            "Event time of the latest event this line needed; never earlier than its "
            "evidence (a line citing later evidence is rejected)."
        ),
    ]
    opened_at: Annotated[dt.datetime, _doc("When the alert opened (detected_at of revision 0).")]
    first_seen: Annotated[dt.datetime, _doc("Earliest evidence.")]
    last_seen: Annotated[dt.datetime, _doc("Latest evidence; never later than detected_at.")]
    summary: Annotated[str, _doc("The episode in one sentence, built from its findings.")]
    detectors: Annotated[list[str], _doc("Detectors that contributed, in order of first finding.")]
    reasons: Annotated[list[str], _doc("One line per detector, repeats aggregated.")]
    event_ids: Annotated[list[str], _doc("Evidence so far (union of the findings').")]
    customer_ids: Annotated[list[str], _doc("Customers in the evidence so far.")]
    finding_ids: Annotated[list[str], _doc("The findings this line is built from.")]

    def __post_init__(self) -> None:
        if self.last_seen > self.detected_at:
            raise ValueError(
                f"evidence at {self.last_seen.isoformat()} is later than detected_at "
                f"{self.detected_at.isoformat()}"
            )
        if self.first_seen > self.last_seen:
            raise ValueError("first_seen is later than last_seen")
        if self.opened_at > self.detected_at:
            raise ValueError("opened_at is later than detected_at")


Share = Annotated[float, msgspec.Meta(ge=0, le=1)]
Count = Annotated[int, msgspec.Meta(ge=0)]


class Suspect(msgspec.Struct, kw_only=True, frozen=True):
    """One employee who could have leaked (part of) a list found outside."""

    rank: Annotated[int, msgspec.Meta(ge=1), _doc("1 = most likely.")]
    employee_id: Id
    score: Annotated[
        Score,
        _doc(
            "Calibrated probability (%) that this employee leaked part of the list, from "
            "their margin (see docs/attribution.md)."
        ),
    ]
    leaker: Annotated[
        bool,
        _doc(
            "Named leaker: beats the null and every outside source by the margin and "
            "explains the minimum share (ranked first)."
        ),
    ] = False
    margin: Annotated[
        float,
        _doc("Log-likelihood margin (nats) over the best outside source or the null."),
    ] = 0.0
    matched_customers: Annotated[
        list[str], _doc("Leaked customers whose leaked details this employee saw before found_at.")
    ]
    explains: Annotated[
        list[str],
        _doc("For a leaker: the leaked customers no higher-ranked leaker had seen."),
    ] = []
    canaries: Annotated[list[str], _doc("Canaries found in the leak that this employee held.")] = []
    coverage: Annotated[Share, _doc("Share of the matched leak this employee saw.")] = 0.0
    exclusivity: Annotated[
        Share, _doc("Share of this employee's matched customers that no other employee saw.")
    ] = 0.0
    reach: Annotated[
        Count, _doc("Distinct customers whose leaked kind of details they saw (approximate).")
    ] = 0
    first_exposure: dt.datetime | None = None
    last_exposure: dt.datetime | None = None
    explanation: Annotated[str, _doc("Plain-language reasons, for a case file.")]


class LeakRows(msgspec.Struct, kw_only=True, frozen=True):
    """What became of the rows of a leaked list."""

    read: Count
    junk: Annotated[Count, _doc("No usable email, phone or name with postcode.")]
    duplicates: Count
    matched_one: Count
    matched_several: Annotated[Count, _doc("Matched more than one customer (shared phone ...).")]
    matched_none: Count
    junk_reasons: Annotated[dict[str, int], _doc("Junk rows by field:reason.")] = {}
    junk_locations: Annotated[
        list[str], _doc("The first junk rows as file:row:field reason (never their content).")
    ] = []


OutsideKind = Literal["seller", "partner", "processor", "breach", "public"]


class OutsideSource(msgspec.Struct, kw_only=True, frozen=True):
    """A source outside the staff that holds some of a leaked list's customers."""

    rank: Annotated[int, msgspec.Meta(ge=1), _doc("1 = fits best.")]
    source: Annotated[Id, _doc("Seller id, or the name of a list or configured source.")]
    kind: OutsideKind
    score: Annotated[Score, _doc("Calibrated probability (%) that the list came from it.")]
    named: Annotated[bool, _doc("Part of the union that explains the list.")] = False
    margin: Annotated[float, _doc("Log-likelihood margin (nats) over the best employee or null.")]
    size: Annotated[Count, _doc("Customers this source holds.")]
    matched: Annotated[Count, _doc("Matched customers of the list it holds.")]
    explains: Annotated[Count, _doc("For a named source: the customers it explains.")] = 0
    coverage: Annotated[Share, _doc("Share of the matched leak it holds.")]
    explanation: str


class Verdict(msgspec.Struct, kw_only=True, frozen=True):
    """Who the list came from, as far as the evidence allows."""

    kind: Annotated[
        Literal["employee", "outside", "none"],
        _doc("employee: a leaker is named; outside: an outside source, no employee; none."),
    ]
    sources: Annotated[list[str], _doc("Named leakers, or the best outside source.")] = []
    probability: Annotated[
        Score,
        _doc(
            "Calibrated probability (%) that the first named source is one; for none, "
            "that no employee listed leaked."
        ),
    ]
    summary: Annotated[str, _doc("One sentence for the case file.")]


class SuspectReport(msgspec.Struct, kw_only=True, frozen=True):
    """suspects.json: ranked best first."""

    leak_file: str
    found_at: dt.datetime | None = None
    generated_at: dt.datetime
    rows: LeakRows
    customers_matched: Count
    canaries_found: list[str] = []
    unexplained_customers: Annotated[
        list[str], _doc("Matched customers that none of the leakers saw (noise or unseen).")
    ] = []
    suspects: list[Suspect]
    outside_sources: Annotated[
        list[OutsideSource], _doc("Sellers, partners, lists ... holding leaked customers.")
    ] = []
    verdict: Verdict | None = None


INPUT_RECORDS: tuple[type[Record], ...] = (Employee, Customer, Case, Order, Canary, AccessEvent)
OUTPUT_RECORDS: tuple[type[msgspec.Struct], ...] = (Finding, Alert, SuspectReport)
