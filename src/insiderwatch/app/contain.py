"""Use cases over containment: check a playbook file, list and show actions, approve,
reject and reinstate them; and who an alert is about, read from the analytics store."""

from __future__ import annotations

from pathlib import Path

from insiderwatch.app.deployment import Deployment
from insiderwatch.app.response import open_responder, response_store
from insiderwatch.contract.records import Alert
from insiderwatch.detect.explain import PEER_GROUP
from insiderwatch.respond.config import ResponseConfig, load_config
from insiderwatch.respond.records import Containment, Subject
from insiderwatch.store.duckdb_store import Store


def check_playbooks(path: Path) -> ResponseConfig:
    """The response file, validated (raises with every problem located)."""
    return load_config(path)


def list_actions(
    deployment: Deployment, status: str | None = None, limit: int = 50
) -> list[Containment]:
    return response_store(deployment).actions(status=status, limit=limit)


def show_action(deployment: Deployment, action_id: str) -> Containment:
    return response_store(deployment).action(action_id)


def approve_action(deployment: Deployment, action_id: str, who: str, note: str = "") -> Containment:
    with open_responder(deployment) as responder:
        return responder.contain.approve(action_id, who, note)


def retry_action(deployment: Deployment, action_id: str, who: str, note: str = "") -> Containment:
    with open_responder(deployment) as responder:
        return responder.contain.retry(action_id, who, note)


def reject_action(deployment: Deployment, action_id: str, who: str, note: str = "") -> Containment:
    with open_responder(deployment) as responder:
        return responder.contain.reject(action_id, who, note)


def reinstate_action(deployment: Deployment, action_id: str, who: str, why: str) -> Containment:
    with open_responder(deployment) as responder:
        return responder.contain.reinstate(action_id, who, why)


# The peer group is the one detection forms (detect/explain.PEER_GROUP), so a group's
# learned routine can be found for one employee.
_SUBJECT_SQL = f"""
WITH emp AS (
  SELECT e.employee_id, e.role, {PEER_GROUP} AS grp
  FROM employees e WHERE e.employee_id = $id
),
latest AS (SELECT max(day) AS day FROM routine_flows)
SELECT emp.role,
  EXISTS (SELECT 1 FROM routine_flows r, latest
          WHERE r.day = latest.day AND r.machine AND r.grp = 'self:' || $id) AS machine,
  EXISTS (SELECT 1 FROM access a, routine_flows r, latest
          WHERE a.employee_id = $id AND list_contains($events, a.event_id)
            AND r.day = latest.day AND r.app = coalesce(a.app, '') AND r.action = a.action
            AND r.destination = coalesce(a.destination, '')
            AND (r.grp = emp.grp OR r.grp = 'self:' || $id)) AS routine
FROM emp
"""


class StoreSubjects:
    """Who an alert is about, from the analytics store: the role from the roster; a
    service account when learned routine found the identity to be a machine; routine
    when an evidence event's flow (app, action, destination) is routine for the group."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def __call__(self, alert: Alert) -> Subject:
        if not (self.store.has_table("employees") and self.store.has_table("routine_flows")):
            role = self._role(alert.employee_id)
            return Subject(employee_id=alert.employee_id, role=role)
        row = self.store.con.execute(
            _SUBJECT_SQL, {"id": alert.employee_id, "events": alert.event_ids}
        ).fetchone()
        if row is None:
            return Subject(employee_id=alert.employee_id)
        role, machine, routine = row
        return Subject(
            employee_id=alert.employee_id,
            role=role or "",
            service_account=bool(machine),
            routine=bool(routine),
        )

    def _role(self, employee_id: str) -> str:
        if not self.store.has_table("employees"):
            return ""
        row = self.store.con.execute(
            "SELECT role FROM employees WHERE employee_id = $id", {"id": employee_id}
        ).fetchone()
        return row[0] if row else ""
