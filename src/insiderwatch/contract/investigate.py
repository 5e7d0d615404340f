"""Records an investigator reads: an employee's timeline of accesses with their cases."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from insiderwatch.contract.records import _doc


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
