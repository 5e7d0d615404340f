"""The outgoing message: one alert history line (or a storm of them) made fit to leave.

Every sink formats a :class:`Notice`, never an alert straight from detection, so the
privacy rules live in one place: staff appear as their keyed pseudonym unless the route
says otherwise, and no customer email or phone number can leave in any text field (the
detectors never put one there; this is the second lock).
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal

import msgspec
import phonenumbers

from insiderwatch.contract.records import Alert, Severity
from insiderwatch.privacy.hashing import HashKey
from insiderwatch.privacy.pseudonyms import pseudonym

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
REDACTED = "[redacted]"
# Numbers written without a country code are read as this region's; a valid number of
# any region written with one is found too. Dates, times and counts are not valid numbers.
PHONE_REGION = "GB"


class Notice(msgspec.Struct, kw_only=True, frozen=True):
    """What a sink sends. ``alert`` is the alert line with the staff member shown as
    ``employee``; a storm notice carries the latest folded line and how many it folds."""

    notice_id: str
    kind: Literal["alert", "storm", "containment"]
    severity: Severity
    employee: str
    title: str
    text: str
    alert: Alert
    folded: int = 0
    alert_ids: list[str] = []


def scrub(text: str, employee_id: str, shown_as: str) -> str:
    """``text`` with the employee id replaced by how they are shown, and anything shaped
    like an email or phone number redacted."""
    if shown_as != employee_id:
        text = text.replace(employee_id, shown_as)
    text = _EMAIL.sub(REDACTED, text)
    found = phonenumbers.PhoneNumberMatcher(text, PHONE_REGION, phonenumbers.Leniency.VALID)
    for match in reversed(list(found)):
        text = text[: match.start] + REDACTED + text[match.end :]
    return text


def shown_alert(alert: Alert, key: HashKey, reveal: bool = False) -> Alert:
    """The alert line as it may leave: the employee as their pseudonym (unless
    ``reveal``), also in the summary and reasons, emails and phones redacted."""
    who = alert.employee_id if reveal else pseudonym(key, alert.employee_id)
    return msgspec.structs.replace(
        alert,
        employee_id=who,
        summary=scrub(alert.summary, alert.employee_id, who),
        reasons=[scrub(r, alert.employee_id, who) for r in alert.reasons],
    )


def _id(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:24]


def alert_notice(alert: Alert, key: HashKey, reveal: bool = False) -> Notice:
    shown = shown_alert(alert, key, reveal)
    verb = "opened" if alert.revision == 0 else f"changed (revision {alert.revision})"
    return Notice(
        notice_id=_id(alert.alert_id, str(alert.revision), shown.employee_id),
        kind="alert",
        severity=alert.severity,
        employee=shown.employee_id,
        title=f"{alert.severity.capitalize()} alert {verb}: {shown.employee_id}, "
        f"score {alert.score:.0f}",
        text=shown.summary or "; ".join(shown.reasons),
        alert=shown,
        alert_ids=[alert.alert_id],
    )


def storm_notice(lines: list[Alert], key: HashKey, reveal: bool = False) -> Notice:
    """One message standing for ``lines`` held back by the throttle (same employee and
    detector): the worst severity, the latest line, how many there were."""
    latest = max(lines, key=lambda a: (a.detected_at, a.revision))
    worst = max(lines, key=lambda a: _RANK[a.severity]).severity
    shown = shown_alert(latest, key, reveal)
    ids = sorted({a.alert_id for a in lines})
    first = min(a.detected_at for a in lines)
    return Notice(
        notice_id=_id("storm", *(f"{a.alert_id}/{a.revision}" for a in lines)),
        kind="storm",
        severity=worst,
        employee=shown.employee_id,
        title=f"{len(lines)} more alert updates for {shown.employee_id} held back (up to {worst})",
        text=f"{len(lines)} alert lines on {len(ids)} alert(s) between "
        f"{first:%Y-%m-%d %H:%M} and {latest.detected_at:%Y-%m-%d %H:%M} UTC; latest: "
        f"{shown.summary}",
        alert=shown,
        folded=len(lines),
        alert_ids=ids,
    )


_RANK = {"low": 0, "medium": 1, "high": 2, "critical": 3}


def at_least(severity: str, floor: str) -> bool:
    return _RANK[severity] >= _RANK[floor]
