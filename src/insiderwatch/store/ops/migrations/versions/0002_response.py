"""Response: deliveries of alert notices, containment actions and their trail.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)
ID = sa.String(128)
NAME = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "response_deliveries",
        sa.Column("delivery_id", sa.String(64), primary_key=True),
        sa.Column("notice_id", sa.String(128), nullable=False, index=True),
        sa.Column("route", sa.String(200), nullable=False),
        sa.Column("sink", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("tries", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("notice", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "containment_actions",
        sa.Column("action_id", sa.String(64), primary_key=True),
        sa.Column("alert_id", ID, nullable=False, index=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("employee_id", ID, nullable=False),
        sa.Column("employee", ID, nullable=False),
        sa.Column("playbook", sa.String(200), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("requested_mode", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("approvals_needed", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("requested_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME),
        sa.Column("result", sa.Text, nullable=False),
    )
    op.create_table(
        "containment_events",
        sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "action_id",
            sa.String(64),
            sa.ForeignKey("containment_actions.action_id"),
            nullable=False,
            index=True,
        ),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("actor", NAME, nullable=False),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    _refuse_changes("containment_events")


def _refuse_changes(table: str) -> None:
    """The trail of a containment action is append-only, as the audit log is (0001)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION '{table} is append-only: % refused', TG_OP; END $$"""
        )
        op.execute(
            f"""CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"""
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"""CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table}
                BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"""
        )


def downgrade() -> None:
    for table in ("containment_events", "containment_actions", "response_deliveries"):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION containment_events_append_only()")
