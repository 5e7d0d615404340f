"""No alert storms: at most N messages per (route, employee, detector) in a window.

Time is the alerts' own event time (``detected_at``), so a replay of the same alert
history is throttled exactly as it was live. Lines over the limit are held; when a later
line arrives after the window (or the responder flushes), the held lines leave as one
storm notice.

With a store (the operational store, in the service) the open windows are kept there
and read back at start: a restart in the middle of a storm does not send its first
messages again, and the lines it was holding still leave as one storm notice.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from insiderwatch.contract.records import Alert
from insiderwatch.respond.config import Throttle
from insiderwatch.respond.records import ThrottleWindow

_Key = tuple[str, str]  # (employee_id, first detector)


class WindowStore(Protocol):
    def throttle_windows(self, route: str) -> list[ThrottleWindow]: ...

    def save_throttle_windows(
        self, route: str, changed: list[ThrottleWindow], closed: list[_Key]
    ) -> None: ...


class Throttler:
    def __init__(
        self, rule: Throttle | None, store: WindowStore | None = None, route: str = ""
    ) -> None:
        self.rule, self.store, self.route = rule, store, route
        self._windows: dict[_Key, ThrottleWindow] = {}
        if rule is not None and store is not None:
            for w in store.throttle_windows(route):
                self._windows[(w.employee_id, w.detector)] = w

    def offer(self, alert: Alert) -> tuple[bool, list[list[Alert]]]:
        """Whether to send ``alert`` now, and storms whose window this line closed."""
        if self.rule is None:
            return True, []
        closed, storms = self._close_before(alert.detected_at)
        key = (alert.employee_id, alert.detectors[0] if alert.detectors else "")
        window = self._windows.setdefault(key, ThrottleWindow(
            employee_id=key[0], detector=key[1], start=alert.detected_at))  # fmt: skip
        send = window.sent < self.rule.max_messages
        if send:
            window.sent += 1
        else:
            window.held.append(alert)
        self._save([window], [k for k in closed if k != key])
        return send, storms

    def _close_before(self, now: dt.datetime) -> tuple[list[_Key], list[list[Alert]]]:
        assert self.rule is not None
        closed, storms = [], []
        for key, window in list(self._windows.items()):
            if now - window.start >= self.rule.window:
                del self._windows[key]
                closed.append(key)
                if window.held:
                    storms.append(window.held)
        return closed, storms

    def flush(self) -> list[list[Alert]]:
        """Every held storm, now (shutdown, or the end of a replay). The windows stay
        open, so what follows in them is still counted against the limit."""
        held = [w for w in self._windows.values() if w.held]
        storms = [w.held for w in held]
        for window in held:
            window.held = []
        self._save(held, [])
        return storms

    def _save(self, changed: list[ThrottleWindow], closed: list[_Key]) -> None:
        if self.store is not None and (changed or closed):
            self.store.save_throttle_windows(self.route, changed, closed)
