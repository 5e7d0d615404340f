"""No alert storms: at most N messages per (route, employee, detector) in a window.

Time is the alerts' own event time (``detected_at``), so a replay of the same alert
history is throttled exactly as it was live. Lines over the limit are held; when a later
line arrives after the window (or the responder flushes), the held lines leave as one
storm notice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from insiderwatch.contract.records import Alert
from insiderwatch.respond.config import Throttle


@dataclass
class _Window:
    start: dt.datetime
    sent: int = 0
    held: list[Alert] = field(default_factory=list)


class Throttler:
    def __init__(self, rule: Throttle | None) -> None:
        self.rule = rule
        self._windows: dict[tuple[str, str], _Window] = {}

    def offer(self, alert: Alert) -> tuple[bool, list[list[Alert]]]:
        """Whether to send ``alert`` now, and storms whose window this line closed."""
        if self.rule is None:
            return True, []
        storms = self._close_before(alert.detected_at)
        key = (alert.employee_id, alert.detectors[0] if alert.detectors else "")
        window = self._windows.setdefault(key, _Window(alert.detected_at))
        if window.sent < self.rule.max_messages:
            window.sent += 1
            return True, storms
        window.held.append(alert)
        return False, storms

    def _close_before(self, now: dt.datetime) -> list[list[Alert]]:
        assert self.rule is not None
        storms = []
        for key, window in list(self._windows.items()):
            if now - window.start >= self.rule.window:
                del self._windows[key]
                if window.held:
                    storms.append(window.held)
        return storms

    def flush(self) -> list[list[Alert]]:
        """Every held storm, now (shutdown, or the end of a replay)."""
        storms = [w.held for w in self._windows.values() if w.held]
        for window in self._windows.values():
            window.held = []
        return storms
