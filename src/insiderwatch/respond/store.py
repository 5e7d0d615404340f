"""Where response keeps what must never be recomputed away: deliveries (with dead
letters to replay) and containment actions with their trail of who did what and why.

SQLAlchemy Core over the operational store's engine (SQLite embedded, PostgreSQL in
production); the tables are in :mod:`insiderwatch.store.ops.response` (migrations 0002
and 0004: the throttle's open windows).
Rows only move forward in status; the trail (``containment_events``) is append-only.
"""

from __future__ import annotations

import datetime as dt

import msgspec
import sqlalchemy as sa

from insiderwatch.contract.records import Alert
from insiderwatch.errors import InsiderwatchError
from insiderwatch.respond.records import ContainEvent, Containment, Delivery, ThrottleWindow
from insiderwatch.store.ops.response import (
    containment_actions,
    containment_events,
    deliveries,
    throttle_windows,
)

_actions = containment_actions.c


class ResponseStore:
    """Reads and writes the response tables through one SQLAlchemy engine."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    # --- throttle windows ---------------------------------------------------------

    def throttle_windows(self, route: str) -> list[ThrottleWindow]:
        query = sa.select(throttle_windows).where(throttle_windows.c.route == route)
        with self.engine.connect() as con:
            return [
                ThrottleWindow(
                    employee_id=row.employee_id,
                    detector=row.detector,
                    start=row.window_start,
                    sent=row.sent,
                    held=msgspec.json.decode(row.held, type=list[Alert]),
                )
                for row in con.execute(query)
            ]

    def save_throttle_windows(
        self, route: str, changed: list[ThrottleWindow], closed: list[tuple[str, str]]
    ) -> None:
        """Replace the changed windows of ``route`` and drop the closed ones, at once."""
        c = throttle_windows.c
        with self.engine.begin() as con:
            for employee_id, detector in closed + [(w.employee_id, w.detector) for w in changed]:
                con.execute(
                    throttle_windows.delete().where(
                        (c.route == route)
                        & (c.employee_id == employee_id)
                        & (c.detector == detector)
                    )
                )
            if changed:
                con.execute(
                    throttle_windows.insert(),
                    [
                        {"route": route, "employee_id": w.employee_id, "detector": w.detector,
                         "window_start": w.start, "sent": w.sent,
                         "held": msgspec.json.encode(w.held)}
                        for w in changed
                    ],
                )  # fmt: skip

    # --- deliveries ---------------------------------------------------------------

    def save_delivery(self, delivery: Delivery) -> None:
        row = msgspec.structs.asdict(delivery)
        key = row.pop("delivery_id")
        with self.engine.begin() as con:
            where = deliveries.c.delivery_id == key
            if not con.execute(deliveries.update().where(where).values(**row)).rowcount:
                con.execute(deliveries.insert().values(delivery_id=key, **row))

    def known(self, delivery_ids: list[str]) -> set[str]:
        """Those of ``delivery_ids`` already recorded (in any state)."""
        query = sa.select(deliveries.c.delivery_id).where(
            deliveries.c.delivery_id.in_(delivery_ids)
        )
        with self.engine.connect() as con:
            return {row[0] for row in con.execute(query)}

    def deliveries(self, status: str | None = None, limit: int = 100) -> list[Delivery]:
        query = sa.select(deliveries).order_by(deliveries.c.created_at.desc()).limit(limit)
        if status:
            query = query.where(deliveries.c.status == status)
        with self.engine.connect() as con:
            return [Delivery(**row) for row in con.execute(query).mappings()]

    def delivery(self, delivery_id: str) -> Delivery:
        query = sa.select(deliveries).where(deliveries.c.delivery_id == delivery_id)
        with self.engine.connect() as con:
            row = con.execute(query).mappings().first()
        if row is None:
            raise InsiderwatchError(f"no delivery {delivery_id!r}")
        return Delivery(**row)

    # --- containment ---------------------------------------------------------------

    def has_action(self, action_id: str) -> bool:
        query = sa.select(_actions.action_id).where(_actions.action_id == action_id)
        with self.engine.connect() as con:
            return con.execute(query).first() is not None

    def due(self, now: dt.datetime) -> list[str]:
        """Pending actions whose approval window has closed."""
        query = sa.select(_actions.action_id).where(
            _actions.status == "pending", _actions.expires_at <= now
        )
        with self.engine.connect() as con:
            return [row[0] for row in con.execute(query)]

    def add_action(self, action: Containment, event: ContainEvent) -> None:
        row = msgspec.structs.asdict(action)
        for derived in ("approvers", "events"):
            row.pop(derived)
        with self.engine.begin() as con:
            con.execute(containment_actions.insert().values(**row))
            self._event(con, action.action_id, event)

    def move(
        self, action_id: str, status: str, event: ContainEvent, result: str | None = None
    ) -> None:
        """Set a new status and add the event that caused it, in one transaction."""
        values = {"status": status} if result is None else {"status": status, "result": result}
        with self.engine.begin() as con:
            where = _actions.action_id == action_id
            con.execute(containment_actions.update().where(where).values(**values))
            self._event(con, action_id, event)

    def note(self, action_id: str, event: ContainEvent) -> None:
        with self.engine.begin() as con:
            self._event(con, action_id, event)

    @staticmethod
    def _event(con: sa.Connection, action_id: str, event: ContainEvent) -> None:
        values = msgspec.structs.asdict(event)
        con.execute(containment_events.insert().values(action_id=action_id, **values))

    def actions(
        self, status: str | None = None, limit: int = 100, alert_ids: list[str] | None = None
    ) -> list[Containment]:
        query = sa.select(containment_actions).order_by(_actions.requested_at.desc()).limit(limit)
        if status:
            query = query.where(_actions.status == status)
        if alert_ids is not None:
            query = query.where(_actions.alert_id.in_(alert_ids))
        with self.engine.connect() as con:
            return [self._with_events(con, row) for row in list(con.execute(query).mappings())]

    def action(self, action_id: str) -> Containment:
        query = sa.select(containment_actions).where(_actions.action_id == action_id)
        with self.engine.connect() as con:
            row = con.execute(query).mappings().first()
            if row is None:
                raise InsiderwatchError(f"no containment action {action_id!r}")
            return self._with_events(con, row)

    @staticmethod
    def _with_events(con: sa.Connection, row) -> Containment:
        query = (
            sa.select(containment_events)
            .where(containment_events.c.action_id == row["action_id"])
            .order_by(containment_events.c.event_id)
        )
        events = [
            ContainEvent(at=e["at"], actor=e["actor"], event=e["event"], note=e["note"])
            for e in con.execute(query).mappings()
        ]
        approvers = sorted({e.actor for e in events if e.event == "approved"})
        return Containment(**row, approvers=approvers, events=events)
