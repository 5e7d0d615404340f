"""The one entry point of response: ``Responder.handle(alert_lines)``.

The live detection loop and a replay of an alert history call the same method with the
history lines in order; each line is routed (severity, detectors) and throttled to its
sinks, and checked against the playbooks. A line handed over again (at-least-once
publishing, a restart) is neither sent nor contained twice. Sending happens in the deliverer's thread, so
``handle`` returns as soon as the notices are queued and the containment recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import msgspec

from insiderwatch.contract.records import Alert
from insiderwatch.privacy.hashing import HashKey
from insiderwatch.respond.actions import ActionContext
from insiderwatch.respond.config import ResponseConfig, Route
from insiderwatch.respond.contain import Contain
from insiderwatch.respond.delivery import Clock, Deliverer, delivery_id, utcnow
from insiderwatch.respond.notice import Notice, alert_notice, at_least, storm_notice
from insiderwatch.respond.records import Containment, Subject
from insiderwatch.respond.sinks.base import SINKS, Sink
from insiderwatch.respond.store import ResponseStore
from insiderwatch.respond.throttle import Throttler

SubjectLookup = Callable[[Alert], Subject]


def unknown_subject(alert: Alert) -> Subject:
    """Without a directory: no role, not known as a service account or routine."""
    return Subject(employee_id=alert.employee_id)


@dataclass
class Handled:
    """What one ``handle`` call did."""

    lines: int = 0
    notices: int = 0
    held: int = 0
    storms: int = 0
    containment: list[Containment] = field(default_factory=list)


def _routed(route: Route, alert: Alert) -> bool:
    return at_least(alert.severity, route.min_severity) and (
        not route.detectors or bool(set(route.detectors) & set(alert.detectors))
    )


class Responder:
    def __init__(
        self,
        config: ResponseConfig,
        key: HashKey,
        store: ResponseStore,
        subjects: SubjectLookup = unknown_subject,
        clock: Clock = utcnow,
    ) -> None:
        self.config = config
        self.key = key
        self.subjects = subjects
        built: dict[str, Sink] = {
            name: SINKS.get(cfg.type)(name, cfg) for name, cfg in config.sinks.items()
        }
        self.deliverer = Deliverer(built, store, clock)
        self.throttlers = {
            route.name: Throttler(route.throttle, store, route.name) for route in config.routes
        }
        ctx = ActionContext(config=config, notify=self._notify)
        self.contain = Contain(config, store, ctx, key, clock)

    def start(self) -> None:
        self.deliverer.start()

    def handle(self, alert_lines: Iterable[Alert]) -> Handled:
        done = Handled()
        for alert in alert_lines:
            done.lines += 1
            for route in self.config.routes:
                if _routed(route, alert):
                    self._route(route, alert, done)
            done.containment += self.contain.consider(alert, self.subjects)
        self.contain.expire_due()
        return done

    def _route(self, route: Route, alert: Alert, done: Handled) -> None:
        notice = alert_notice(alert, self.key, route.reveal_staff)
        if self._already_sent(route, notice):
            return  # the same line again (at-least-once publishing): sent once only
        send, storms = self.throttlers[route.name].offer(alert)
        for storm in storms:
            self._submit(route, storm_notice(storm, self.key, route.reveal_staff))
            done.storms += 1
        if send:
            self._submit(route, notice)
            done.notices += 1
        else:
            done.held += 1

    def _already_sent(self, route: Route, notice: Notice) -> bool:
        ids = [delivery_id(notice.notice_id, route.name, sink) for sink in route.sinks]
        return len(self.deliverer.store.known(ids)) == len(ids)

    def _submit(self, route: Route, notice: Notice) -> None:
        for sink in route.sinks:
            self.deliverer.submit(notice, route.name, sink)

    def _notify(self, alert: Alert, action: Containment, sink_names: list[str]) -> str:
        book = self.config.playbook(action.playbook)
        base = alert_notice(alert, self.key, book.reveal_staff)
        pending = [
            a.action
            for a in self.contain.store.actions(status="pending")
            if a.alert_id == alert.alert_id and a.playbook == book.name and a.action != "notify"
        ]
        waiting = f"; waiting for approval: {', '.join(pending)}" if pending else ""
        notice = msgspec.structs.replace(
            base,
            notice_id=f"{base.notice_id}-{action.action_id}",
            kind="containment",
            title=f"Playbook {book.name} fired for {base.employee} ({alert.severity}){waiting}",
        )
        for sink in sink_names:
            self.deliverer.submit(notice, f"playbook:{book.name}", sink)
        return f"notified {', '.join(sink_names)}"

    def flush(self) -> int:
        """Send every storm still held back (end of a replay); returns how many."""
        count = 0
        for route in self.config.routes:
            for storm in self.throttlers[route.name].flush():
                self._submit(route, storm_notice(storm, self.key, route.reveal_staff))
                count += 1
        return count

    def drain(self) -> None:
        """Wait until every queued notice was delivered or became a dead letter."""
        self.deliverer.drain()

    def close(self) -> None:
        self.flush()
        self.deliverer.close()

    def __enter__(self) -> Responder:
        self.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.close()


__all__ = ["Handled", "Responder", "SubjectLookup", "unknown_subject"]
