"""The investigation console: server-side login sessions (revocable) and failed logins,
kept so that login rate limiting survives a restart.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)
NAME = sa.String(64)
DIGEST = sa.String(64)


def upgrade() -> None:
    op.create_table(
        "console_sessions",
        sa.Column("session_hash", DIGEST, primary_key=True),
        sa.Column("user_name", NAME, nullable=False, index=True),
        sa.Column("csrf_token", DIGEST, nullable=False),
        sa.Column("address_hash", DIGEST, nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("last_seen_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("revoked_at", UTC_TIME),
    )
    op.create_table(
        "login_failures",
        sa.Column("failure_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("account_hash", DIGEST, nullable=False, index=True),
        sa.Column("address_hash", DIGEST, nullable=False, index=True),
        sa.Column("at", UTC_TIME, nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("login_failures")
    op.drop_table("console_sessions")
