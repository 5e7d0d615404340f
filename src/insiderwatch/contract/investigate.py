"""Records an investigator reads: an employee's timeline of accesses with their cases."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from insiderwatch.contract.records import _doc
from insiderwatch.contract.workflow import StaffIdentity

# Beside an explanation's reason name: the sentence the reason registry gives it.
MEANING_DOC = (
    "What the reason means, in a sentence (the reason registry); '(no description)' for "
    "a reason this version does not know."
)


class TimelineEntry(msgspec.Struct, kw_only=True, frozen=True):
    event_id: str
    time: dt.datetime
    action: str
    customer_ids: list[str]
    fields: list[str]
    record_count: Annotated[int | None, _doc("None: the log gave no row count.")]
    app: str | None
    case_id: Annotated[str | None, _doc("The justification the tool captured.")]
    destination: str | None
    src_ip: str | None
    device_id: str | None
    open_cases: Annotated[
        list[str], _doc("Cases of this employee open for these customers at that time.")
    ]
    explanation: Annotated[
        str | None, _doc("The reason detection gave it; None: nothing (or not judged yet).")
    ] = None
    explanation_meaning: Annotated[str | None, _doc(MEANING_DOC)] = None

    def as_dict(self) -> dict:
        d = msgspec.structs.asdict(self)
        d["time"] = self.time.isoformat()
        return d


class EmployeeTimeline(msgspec.Struct, kw_only=True, frozen=True):
    employee_id: str
    entries: list[TimelineEntry]
    other_names: Annotated[
        list[str],
        _doc("When there are no entries: ids the person may be kept under (source:name)."),
    ] = []


class DayActivity(msgspec.Struct, kw_only=True, frozen=True):
    """One day of an employee's access: how much a case or routine explained, how much not."""

    day: dt.date
    explained: int
    unexplained: int


class RiskPoint(msgspec.Struct, kw_only=True, frozen=True):
    """The risk score as an alert line recorded it."""

    at: dt.datetime
    score: float
    alert_id: str


class PeerActivity(msgspec.Struct, kw_only=True, frozen=True):
    employee: Annotated[str, _doc("As shown: the pseudonym.")]
    events: int
    unexplained: int
    is_subject: bool = False


class EmployeeProfile(msgspec.Struct, kw_only=True, frozen=True):
    """What the console's employee page shows: risk over time, when they work (hour x
    weekday), explained vs unexplained access per day, their peer group, their timeline."""

    employee: Annotated[str, _doc("As shown: the pseudonym.")]
    role: str
    peer_group: str | None
    risk: list[RiskPoint]
    heat: Annotated[list[list[int]], _doc("7 x 24 accesses: [weekday (Monday 0)][UTC hour].")]
    days: list[DayActivity]
    peers: Annotated[list[PeerActivity], _doc("The peer group, busiest first.")]
    timeline: list[TimelineEntry]


class CustomerAccess(msgspec.Struct, kw_only=True, frozen=True):
    """One access to a customer's data, as a data-access request or complaint needs it."""

    event_id: str
    time: dt.datetime
    employee: Annotated[str, _doc("As shown: the pseudonym.")]
    app: str | None
    action: str
    fields: list[str]
    explanation: Annotated[
        str | None, _doc("The case or routine that explains it; None: nothing does.")
    ]
    explanation_meaning: Annotated[str | None, _doc(MEANING_DOC)] = None


class CustomerFile(msgspec.Struct, kw_only=True, frozen=True):
    """Who looked at a customer's data and why."""

    customer_id: str
    accesses: list[CustomerAccess]
    total: Annotated[int, _doc("Accesses in all (the list may stop at a limit).")]
    unexplained: int


class EmployeePage(msgspec.Struct, kw_only=True, frozen=True):
    """An employee as one console user may see them: the figures, and who they are only
    under that user's approved unmasking."""

    profile: EmployeeProfile
    identity: StaffIdentity
