"""Records of breach response: the scope of what an insider exposed, the notices to the
people affected, and the deadlines regulators set.

``report/`` produces them and the console will read them, so they are plain data: a
scope row never holds a contact detail, only the customer id the company's own customer
system resolves at notice time.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

import msgspec

from insiderwatch.contract.records import Count, FieldCategory, Id, _doc

Exposure = Literal["viewed", "taken_out"]
Recipient = Literal["authority", "individuals", "media", "register"]
# Whether an obligation applies to this breach: `required`, `not_required` (its condition
# is not met, e.g. fewer residents than the threshold), or `check` (needs a human call,
# e.g. an authority's threshold that depends on facts outside the log).
Applies = Literal["required", "not_required", "check"]

# Actions of the contract that move data out of the tool the employee was looking at;
# everything else that shows customers (view, search, update) is a view. A destination on
# any event means it went somewhere too.
TAKEN_OUT_ACTIONS: tuple[str, ...] = ("export", "print", "copy", "message", "download")


class ScopeRow(msgspec.Struct, kw_only=True, frozen=True):
    """One customer whose data the employees in scope exposed (scope.parquet)."""

    customer_id: Id
    fields: Annotated[list[FieldCategory], _doc("Every field category exposed.")]
    fields_taken_out: Annotated[
        list[FieldCategory], _doc("The categories that left the tool (or turned up in a leak).")
    ]
    exposure: Annotated[Exposure, _doc("taken_out when any field was, else viewed.")]
    first_access: dt.datetime
    last_access: dt.datetime
    event_ids: list[str]
    channels: Annotated[list[str], _doc("screen, or where the data went (destination).")]
    leaked: Annotated[bool, _doc("In a leak file attributed to the employee: proof.")] = False
    jurisdiction: Annotated[
        str, _doc("Country or subdivision (ISO 3166) from the customer system; '' unknown.")
    ] = ""


class FieldCount(msgspec.Struct, kw_only=True, frozen=True):
    viewed: Annotated[Count, _doc("Customers with this exposed but never taken out.")] = 0
    taken_out: Count = 0


class Timeline(msgspec.Struct, kw_only=True, frozen=True):
    first_access: Annotated[
        dt.datetime | None, _doc("First access in scope (the first malicious access).")
    ] = None
    last_access: dt.datetime | None = None
    detected_at: Annotated[dt.datetime | None, _doc("First alert on the employees.")] = None
    alert_ids: list[str] = []
    contained_at: Annotated[dt.datetime | None, _doc("When access was cut, if known.")] = None


class LeakProof(msgspec.Struct, kw_only=True, frozen=True):
    file: str
    customers_matched: Count
    customers_in_scope: Annotated[Count, _doc("Matched customers the employees had seen.")]
    customers_not_seen: Annotated[Count, _doc("Matched customers none of them saw.")]


class ScopeSummary(msgspec.Struct, kw_only=True, frozen=True):
    """summary.json: what the scope covers and its counts."""

    employees: list[Id]
    window_from: dt.datetime | None = None
    window_to: dt.datetime | None = None
    alert_id: str | None = None
    include_explained: bool = False
    customers: Count
    customers_taken_out: Count
    customers_viewed_only: Count
    events: Annotated[Count, _doc("Events in scope (each showed at least one customer).")]
    events_explained_excluded: Annotated[Count, _doc("Left out as explained by a reason.")] = 0
    customers_explained_only: Annotated[
        Count,
        _doc("Customers shown only in explained access (what --include-explained adds)."),
    ] = 0
    events_never_explained: Annotated[
        Count, _doc("Events detection has not yet judged; counted as unexplained.")
    ] = 0
    by_field: dict[str, FieldCount]
    by_jurisdiction: dict[str, FieldCount]
    by_channel: Annotated[dict[str, Count], _doc("Customers per channel.")]
    timeline: Timeline
    leak: LeakProof | None = None
    generated_at: dt.datetime


class Notice(msgspec.Struct, kw_only=True, frozen=True):
    """One customer's notice, as rendered (a row of the mail-merge CSV)."""

    customer_id: Id
    locale: str
    template: str
    to_name: str
    to_email: str
    to_address: str = ""
    subject: str
    body: str
    fields_exposed: list[FieldCategory]
    fields_not_exposed: list[FieldCategory]
    exposure: Exposure


class DeadlineRow(msgspec.Struct, kw_only=True, frozen=True):
    """One obligation of one jurisdiction: whom to tell, by when, and on what basis."""

    jurisdiction: str
    name: str
    recipient: Recipient
    to: Annotated[str, _doc("The authority or audience, e.g. 'CNIL' or 'affected residents'.")]
    applies: Applies
    due: Annotated[dt.datetime | None, _doc("None: no fixed period (see `when`).")] = None
    when: Annotated[str, _doc("The rule in words, e.g. 'within 72 hours of awareness'.")]
    citation: str
    customers: Count
    why: Annotated[str, _doc("Why it applies or not (threshold, risk).")] = ""


class RegisterEntry(msgspec.Struct, kw_only=True, frozen=True):
    """The breach register entry GDPR Art. 33(5) asks for: facts, effects, remedial action."""

    breach_id: str
    recorded_at: dt.datetime
    aware_at: dt.datetime
    period_from: dt.datetime | None
    period_to: dt.datetime | None
    detected_at: dt.datetime | None
    contained_at: dt.datetime | None
    employees: list[Id]
    nature: str
    categories_of_data: list[FieldCategory]
    categories_taken_out: list[FieldCategory]
    data_subjects: Count
    data_subjects_taken_out: Count
    records: Annotated[Count, _doc("Access events in scope.")]
    jurisdictions: dict[str, Count]
    likely_consequences: str
    measures: list[str]
    high_risk: bool
    notifications: Annotated[list[str], _doc("Obligations that apply: to whom, by when, basis.")]
