"""Unmasking: requests to see who is behind a staff pseudonym, and their decisions.

Revision ID: unmasking
"""

import sqlalchemy as sa
from alembic import op

revision = "unmasking"
down_revision = "console_queue_index"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)
NAME = sa.String(64)
STATES = "'requested', 'approved', 'rejected', 'expired', 'revoked'"


def upgrade() -> None:
    op.create_table(
        "unmask_requests",
        sa.Column("request_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("requester", NAME, nullable=False),
        sa.Column("pseudonym", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("requested_at", UTC_TIME, nullable=False),
        sa.Column("approver", NAME),
        sa.Column("decided_at", UTC_TIME),
        sa.Column("decision_why", sa.Text, nullable=False),
        sa.Column("expires_at", UTC_TIME),
        sa.Column("revoked_by", NAME),
        sa.Column("revoked_at", UTC_TIME),
        sa.CheckConstraint(f"state IN ({STATES})", name="unmask_requests_state"),
        # A reason is what makes an unmasking defensible; a blank one is refused here too.
        sa.CheckConstraint("length(trim(reason)) > 0", name="unmask_requests_reason"),
        sa.CheckConstraint(
            "approver IS NULL OR approver <> requester", name="unmask_requests_not_own"
        ),
    )
    op.create_index("unmask_requests_grant", "unmask_requests", ["requester", "pseudonym", "state"])


def downgrade() -> None:
    op.drop_table("unmask_requests")
