"""Where response keeps what must never be recomputed away: deliveries (with dead
letters to replay) and containment actions with their audit trail.

SQLAlchemy Core over the operational store's engine (SQLite embedded, PostgreSQL in
production). Rows are only added or moved forward in status; the trail of every
containment action (``containment_events``) is append-only.
"""

from __future__ import annotations

import datetime as dt

import msgspec
import sqlalchemy as sa

from insiderwatch.errors import InsiderwatchError
from insiderwatch.respond.records import ContainEvent, Containment, Delivery

metadata = sa.MetaData()
_TS = sa.DateTime(timezone=True)

deliveries = sa.Table(
    "response_deliveries",
    metadata,
    sa.Column("delivery_id", sa.String(64), primary_key=True),
    sa.Column("notice_id", sa.String(64), nullable=False, index=True),
    sa.Column("route", sa.String(200), nullable=False),
    sa.Column("sink", sa.String(200), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("tries", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text, nullable=False, default=""),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.Column("notice", sa.LargeBinary, nullable=False),
)

containment_actions = sa.Table(
    "containment_actions",
    metadata,
    sa.Column("action_id", sa.String(64), primary_key=True),
    sa.Column("alert_id", sa.String(256), nullable=False, index=True),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("employee_id", sa.String(256), nullable=False),
    sa.Column("employee", sa.String(256), nullable=False),
    sa.Column("playbook", sa.String(200), nullable=False),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("mode", sa.String(16), nullable=False),
    sa.Column("requested_mode", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, index=True),
    sa.Column("approvals_needed", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("requested_at", _TS, nullable=False),
    sa.Column("expires_at", _TS),
    sa.Column("result", sa.Text, nullable=False, default=""),
)

containment_events = sa.Table(
    "containment_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "action_id",
        sa.String(64),
        sa.ForeignKey("containment_actions.action_id"),
        nullable=False,
        index=True,
    ),
    sa.Column("at", _TS, nullable=False),
    sa.Column("actor", sa.String(256), nullable=False),
    sa.Column("event", sa.String(40), nullable=False),
    sa.Column("note", sa.Text, nullable=False, default=""),
)


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands timezone-aware columns back naive; they were written in UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=dt.UTC)
    return value


class ResponseStore:
    """Reads and writes the response tables through one SQLAlchemy engine."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    # --- deliveries ---------------------------------------------------------------

    def save_delivery(self, delivery: Delivery) -> None:
        row = msgspec.structs.asdict(delivery)
        with self.engine.begin() as con:
            updated = con.execute(
                deliveries.update()
                .where(deliveries.c.delivery_id == delivery.delivery_id)
                .values(**{k: v for k, v in row.items() if k != "delivery_id"})
            ).rowcount
            if not updated:
                con.execute(deliveries.insert().values(**row))

    def deliveries(self, status: str | None = None, limit: int = 100) -> list[Delivery]:
        query = sa.select(deliveries).order_by(deliveries.c.created_at.desc()).limit(limit)
        if status:
            query = query.where(deliveries.c.status == status)
        with self.engine.connect() as con:
            return [_delivery(row) for row in con.execute(query).mappings()]

    def delivery(self, delivery_id: str) -> Delivery:
        query = sa.select(deliveries).where(deliveries.c.delivery_id == delivery_id)
        with self.engine.connect() as con:
            row = con.execute(query).mappings().first()
        if row is None:
            raise InsiderwatchError(f"no delivery {delivery_id!r}")
        return _delivery(row)

    # --- containment ---------------------------------------------------------------

    def has_action(self, action_id: str) -> bool:
        query = sa.select(containment_actions.c.action_id).where(
            containment_actions.c.action_id == action_id
        )
        with self.engine.connect() as con:
            return con.execute(query).first() is not None

    def add_action(self, action: Containment, event: ContainEvent) -> None:
        row = msgspec.structs.asdict(action)
        for derived in ("approvers", "events"):
            row.pop(derived)
        with self.engine.begin() as con:
            con.execute(containment_actions.insert().values(**row))
            con.execute(
                containment_events.insert().values(
                    action_id=action.action_id, **msgspec.structs.asdict(event)
                )
            )

    def move(
        self, action_id: str, status: str, event: ContainEvent, result: str | None = None
    ) -> None:
        """Set a new status and add the event that caused it, in one transaction."""
        values = {"status": status}
        if result is not None:
            values["result"] = result
        with self.engine.begin() as con:
            con.execute(
                containment_actions.update()
                .where(containment_actions.c.action_id == action_id)
                .values(**values)
            )
            con.execute(
                containment_events.insert().values(
                    action_id=action_id, **msgspec.structs.asdict(event)
                )
            )

    def note(self, action_id: str, event: ContainEvent) -> None:
        with self.engine.begin() as con:
            con.execute(
                containment_events.insert().values(
                    action_id=action_id, **msgspec.structs.asdict(event)
                )
            )

    def actions(self, status: str | None = None, limit: int = 100) -> list[Containment]:
        query = (
            sa.select(containment_actions)
            .order_by(containment_actions.c.requested_at.desc())
            .limit(limit)
        )
        if status:
            query = query.where(containment_actions.c.status == status)
        with self.engine.connect() as con:
            rows = list(con.execute(query).mappings())
            return [self._with_events(con, row) for row in rows]

    def action(self, action_id: str) -> Containment:
        query = sa.select(containment_actions).where(containment_actions.c.action_id == action_id)
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
            .order_by(containment_events.c.id)
        )
        events = [
            ContainEvent(at=_utc(e["at"]), actor=e["actor"], event=e["event"], note=e["note"])
            for e in con.execute(query).mappings()
        ]
        approvers = sorted({e.actor for e in events if e.event == "approved"})
        values = dict(row)
        for ts in ("requested_at", "expires_at"):
            values[ts] = _utc(values[ts])
        return Containment(**values, approvers=approvers, events=events)


def _delivery(row) -> Delivery:
    values = dict(row)
    values["created_at"] = _utc(values["created_at"])
    values["updated_at"] = _utc(values["updated_at"])
    return Delivery(**values)


def create_tables(engine: sa.Engine) -> None:
    """Create the response tables where they are missing."""
    metadata.create_all(engine)
