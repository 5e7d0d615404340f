"""The first operational schema: alerts and their history, triage workflow, cases,
users, API tokens, the append-only audit log.

Revision ID: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)
ID = sa.String(128)
NAME = sa.String(64)
ALERT_STATES = "'new', 'triaging', 'escalated', 'closed'"
CLOSE_REASONS = (
    "'true_positive', 'known_business_reason', 'data_quality', "
    "'expected_role_behaviour', 'duplicate', 'other'"
)
CASE_STATES = "'new', 'investigating', 'confirmed', 'dismissed', 'closed'"
ROLES = "'admin', 'analyst', 'investigator', 'privacy_officer', 'auditor'"
# History that must never change once written: refused by a trigger on each backend.
APPEND_ONLY = ("audit_log", "transitions")


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("case_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_by", NAME, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.CheckConstraint(f"state IN ({CASE_STATES})", name="cases_state"),
    )
    op.create_table(
        "alerts",
        sa.Column("alert_id", ID, primary_key=True),
        sa.Column("employee_id", ID, nullable=False, index=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("score", sa.Float, nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("opened_at", UTC_TIME, nullable=False),
        sa.Column("detected_at", UTC_TIME, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("state_since", UTC_TIME, nullable=False),
        sa.Column("assignee", NAME),
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.case_id")),
        sa.Column("close_reason", sa.String(32)),
        sa.CheckConstraint(f"state IN ({ALERT_STATES})", name="alerts_state"),
        sa.CheckConstraint(
            f"close_reason IS NULL OR close_reason IN ({CLOSE_REASONS})",
            name="alerts_close_reason",
        ),
    )
    op.create_index("alerts_state_score", "alerts", ["state", "score"])
    op.create_table(
        "alert_lines",
        sa.Column("alert_id", ID, sa.ForeignKey("alerts.alert_id"), primary_key=True),
        sa.Column("revision", sa.Integer, primary_key=True),
        sa.Column("line_hash", sa.String(64), primary_key=True),
        sa.Column("detected_at", UTC_TIME, nullable=False),
        sa.Column("line", sa.Text, nullable=False),
        sa.Column("superseded_at", UTC_TIME),
    )
    current = sa.text("superseded_at IS NULL")
    op.create_index(
        "alert_lines_current",
        "alert_lines",
        ["alert_id", "revision"],
        unique=True,
        sqlite_where=current,
        postgresql_where=current,
    )
    op.create_table(
        "transitions",
        sa.Column("transition_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(8), nullable=False),
        sa.Column("subject_id", ID, nullable=False),
        sa.Column("from_state", sa.String(16)),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("actor", NAME, nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("why", sa.Text, nullable=False),
        sa.Column("close_reason", sa.String(32)),
        sa.Column("case_id", sa.Integer),
        sa.CheckConstraint("subject IN ('alert', 'case')", name="transitions_subject"),
    )
    op.create_index("transitions_subject_id", "transitions", ["subject", "subject_id"])
    op.create_table(
        "assignments",
        sa.Column("assignment_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", ID, sa.ForeignKey("alerts.alert_id"), nullable=False, index=True),
        sa.Column("assignee", NAME),
        sa.Column("actor", NAME, nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("why", sa.Text, nullable=False),
    )
    op.create_table(
        "notes",
        sa.Column("note_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", ID, sa.ForeignKey("alerts.alert_id"), nullable=False, index=True),
        sa.Column("author", NAME, nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("user_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", NAME, nullable=False, unique=True),
        sa.Column("role", sa.String(32), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("disabled_at", UTC_TIME),
        sa.CheckConstraint(f"role IN ({ROLES})", name="users_role"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("owner", NAME, nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("last_used_at", UTC_TIME),
        sa.Column("revoked_at", UTC_TIME),
        sa.CheckConstraint("kind IN ('source', 'user')", name="api_tokens_kind"),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("actor", NAME, nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("subject_kind", sa.String(32), nullable=False),
        sa.Column("subject_id", ID, nullable=False),
        sa.Column("why", sa.Text, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "sync_rejects",
        sa.Column("reject_id", sa.String(64), primary_key=True),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("location", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("line", sa.Text, nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
    )
    for table in APPEND_ONLY:
        _refuse_changes(table)


def _refuse_changes(table: str) -> None:
    """UPDATE and DELETE (and TRUNCATE on PostgreSQL) of the table raise an error."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""CREATE FUNCTION {table}_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION '{table} is append-only: % refused', TG_OP; END $$"""
        )
        op.execute(
            f"""CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"""
        )
        op.execute(
            f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                FOR EACH STATEMENT EXECUTE FUNCTION {table}_append_only()"""
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"""CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table}
                BEGIN SELECT RAISE(ABORT, '{table} is append-only: {verb} refused'); END"""
        )


def downgrade() -> None:
    for table in (
        "sync_rejects",
        "audit_log",
        "api_tokens",
        "users",
        "notes",
        "assignments",
        "transitions",
        "alert_lines",
        "alerts",
        "cases",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP FUNCTION {table}_append_only()")
