"""Containment by playbook: which actions an alert line calls for, in which mode, and the
approve / reject / expire / reinstate life of each, every step recorded with who and why.

Modes: ``auto`` runs at once; ``approve`` waits for one or two distinct approvers before
it expires; ``dry-run`` only records what would have been done. A service account, or an
alert on flows the peer group's learned routine explains, is never cut off automatically:
its disruptive actions are downgraded from auto to approve. Notify runs when the playbook
fires (its point is to tell people), except in dry-run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from insiderwatch.contract.records import Alert
from insiderwatch.errors import InsiderwatchError
from insiderwatch.privacy.hashing import HashKey
from insiderwatch.privacy.pseudonyms import pseudonym
from insiderwatch.respond.actions import RESPONSE_ACTIONS, ActionContext
from insiderwatch.respond.config import ActionSpec, Condition, Playbook, ResponseConfig
from insiderwatch.respond.delivery import Clock, utcnow
from insiderwatch.respond.notice import at_least, scrub
from insiderwatch.respond.records import ContainEvent, Containment, Subject
from insiderwatch.respond.sinks.base import DeliveryError
from insiderwatch.respond.store import ResponseStore

SYSTEM = "insiderwatch"


def matches_alert(when: Condition, alert: Alert) -> bool:
    """The conditions on the alert itself (the role is checked against the subject)."""
    return (
        (not when.severities or alert.severity in when.severities)
        and at_least(alert.severity, when.min_severity)
        and (not when.detectors or bool(set(when.detectors) & set(alert.detectors)))
        and alert.score >= when.min_score
    )


def _action_id(alert_id: str, playbook: str, action: str) -> str:
    return hashlib.sha256(f"{alert_id}\x00{playbook}\x00{action}".encode()).hexdigest()[:16]


class Contain:
    def __init__(
        self,
        config: ResponseConfig,
        store: ResponseStore,
        ctx: ActionContext,
        key: HashKey,
        clock: Clock = utcnow,
    ) -> None:
        self.config = config
        self.store = store
        self.ctx = ctx
        self.key = key
        self.clock = clock

    def _event(self, actor: str, event: str, note: str = "") -> ContainEvent:
        return ContainEvent(at=self.clock(), actor=actor, event=event, note=note)

    def consider(self, alert: Alert, subjects: Callable[[Alert], Subject]) -> list[Containment]:
        """The actions this alert line starts (none twice for the same alert). Who the
        alert is about is looked up only when a playbook's alert conditions hold."""
        started: list[Containment] = []
        subject: Subject | None = None
        for book in self.config.playbooks:
            if not matches_alert(book.when, alert):
                continue
            subject = subject or subjects(alert)
            if book.when.roles and subject.role not in book.when.roles:
                continue
            for spec in book.actions:
                action_id = _action_id(alert.alert_id, book.name, spec.type)
                if not self.store.has_action(action_id):
                    started.append(self._start(action_id, book, spec, alert, subject))
        return started

    def _mode(self, book: Playbook, spec: ActionSpec, subject: Subject) -> tuple[str, str]:
        """The mode to use and, when it was downgraded, why."""
        disruptive = RESPONSE_ACTIONS.get(spec.type).disruptive
        if not disruptive and book.mode == "approve":
            return "auto", "runs when the playbook fires: it cuts no one off"
        if book.mode == "auto" and disruptive and (subject.service_account or subject.routine):
            why = (
                "a service account"
                if subject.service_account
                else "flows its peer group does routinely"
            )
            return "approve", f"downgraded from auto: {why} is never suspended automatically"
        return book.mode, ""

    def _start(
        self, action_id: str, book: Playbook, spec: ActionSpec, alert: Alert, subject: Subject
    ) -> Containment:
        now = self.clock()
        mode, downgrade = self._mode(book, spec, subject)
        shown = alert.employee_id if book.reveal_staff else pseudonym(self.key, alert.employee_id)
        summary = scrub(alert.summary, alert.employee_id, shown)
        action = Containment(
            action_id=action_id,
            alert_id=alert.alert_id,
            revision=alert.revision,
            employee_id=alert.employee_id,
            employee=shown,
            playbook=book.name,
            action=spec.type,
            mode=mode,
            requested_mode=book.mode,
            status="dry_run" if mode == "dry-run" else "pending",
            approvals_needed=book.approvals if mode == "approve" else 0,
            reason=f"playbook {book.name}: {alert.severity} alert {alert.alert_id} (score {alert.score:.0f}): {summary}",
            requested_at=now,
            expires_at=now + book.expires_after if mode == "approve" else None,
        )
        note = "; ".join(x for x in (f"mode {mode}", downgrade) if x)
        self.store.add_action(action, self._event(f"playbook:{book.name}", "requested", note))
        if mode == "auto":
            self._execute(action, spec, f"playbook:{book.name}", alert)
        return self.store.action(action_id)

    def _execute(
        self, action: Containment, spec: ActionSpec, actor: str, alert: Alert | None
    ) -> None:
        handler = RESPONSE_ACTIONS.get(action.action)()
        try:
            result = handler.run(self.ctx, action, spec, alert)
        except DeliveryError as exc:
            self.store.move(
                action.action_id, "failed", self._event(actor, "failed", exc.message), exc.message
            )
            return
        self.store.move(action.action_id, "done", self._event(actor, "executed", result), result)

    def _pending(self, action_id: str) -> Containment:
        action = self.store.action(action_id)
        if action.status == "pending" and action.expires_at and self.clock() >= action.expires_at:
            self.store.move(action_id, "expired", self._event(SYSTEM, "expired"))
            action = self.store.action(action_id)
        if action.status != "pending":
            raise InsiderwatchError(
                f"containment action {action_id} is {action.status}, not pending"
            )
        return action

    def approve(self, action_id: str, approver: str, note: str = "") -> Containment:
        """Record an approval; the action runs when enough distinct people approved."""
        action = self._pending(action_id)
        if approver in action.approvers:
            raise InsiderwatchError(
                f"{approver} already approved {action_id}; a second approver must be someone else"
            )
        self.store.note(action_id, self._event(approver, "approved", note))
        if len(action.approvers) + 1 >= action.approvals_needed:
            spec = self._spec(action)
            self._execute(self.store.action(action_id), spec, approver, None)
        return self.store.action(action_id)

    def retry(self, action_id: str, who: str, note: str = "") -> Containment:
        """Run a failed action again (the identity provider was down, the user was
        missing and has been created ...); the new outcome joins the trail."""
        action = self.store.action(action_id)
        if action.status != "failed":
            raise InsiderwatchError(
                f"containment action {action_id} is {action.status}; only a failed action is retried"
            )
        self.store.note(action_id, self._event(who, "retried", note))
        self._execute(action, self._spec(action), who, None)
        return self.store.action(action_id)

    def reject(self, action_id: str, who: str, note: str = "") -> Containment:
        self._pending(action_id)
        self.store.move(action_id, "rejected", self._event(who, "rejected", note))
        return self.store.action(action_id)

    def reinstate(self, action_id: str, who: str, why: str) -> Containment:
        """Undo a done action (suspend: PATCH active=true); who and why are recorded."""
        action = self.store.action(action_id)
        if action.status != "done":
            raise InsiderwatchError(
                f"containment action {action_id} is {action.status}; only a done action can be reinstated"
            )
        if not why.strip():
            raise InsiderwatchError("reinstate needs a reason")
        handler = RESPONSE_ACTIONS.get(action.action)()
        try:
            result = handler.reverse(self.ctx, action)
        except DeliveryError as exc:
            self.store.note(action_id, self._event(who, "reinstate_failed", exc.message))
            raise InsiderwatchError(f"reinstate of {action_id} failed: {exc.message}") from None
        self.store.move(
            action_id, "reinstated", self._event(who, "reinstated", f"{why} ({result})")
        )
        return self.store.action(action_id)

    def expire_due(self) -> list[Containment]:
        """Mark pending actions past their expiry as expired; returns them."""
        out = []
        for action_id in self.store.due(self.clock()):
            self.store.move(action_id, "expired", self._event(SYSTEM, "expired"))
            out.append(self.store.action(action_id))
        return out

    def _spec(self, action: Containment) -> ActionSpec:
        try:
            book = self.config.playbook(action.playbook)
        except InsiderwatchError:
            return ActionSpec(type=action.action)  # type: ignore[arg-type]
        for spec in book.actions:
            if spec.type == action.action:
                return spec
        return ActionSpec(type=action.action)  # type: ignore[arg-type]
