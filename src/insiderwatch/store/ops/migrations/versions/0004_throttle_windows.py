"""Response: the throttle's open windows, kept across restarts.

Revision ID: throttle_windows
"""

import sqlalchemy as sa
from alembic import op

revision = "throttle_windows"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "response_throttle_windows",
        sa.Column("route", sa.String(200), primary_key=True),
        sa.Column("employee_id", sa.String(128), primary_key=True),
        sa.Column("detector", sa.String(200), primary_key=True),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent", sa.Integer, nullable=False),
        sa.Column("held", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("response_throttle_windows")
