"""The queue's noisy-detector count reads only an index: (state, detectors, severity)
extended with score and detected_at, so counting 100,000 new alerts per detector set never
visits the table. The state and assignee filters get an index per order (score, time), so
"unassigned, newest first" reads 50 rows from an index instead of sorting every
unassigned alert. Statistics are gathered once here (the planner needs them to prefer
the keyset indexes); ``OpsStore.refresh_statistics`` keeps them current on SQLite.

Revision ID: console_queue_index
"""

from alembic import op

revision = "console_queue_index"
down_revision = "console_work"
branch_labels = None
depends_on = None


ORDERED = {
    "alerts_state_detected": ["state", "detected_at", "alert_id"],
    "alerts_assignee_score": ["assignee", "score", "alert_id"],
    "alerts_assignee_detected": ["assignee", "detected_at", "alert_id"],
}


def upgrade() -> None:
    op.drop_index("alerts_state_detectors", "alerts")
    op.create_index(
        "alerts_noisy", "alerts", ["state", "detectors", "severity", "score", "detected_at"]
    )
    op.drop_index("alerts_assignee", "alerts")
    for name, columns in ORDERED.items():
        op.create_index(name, "alerts", columns)
    op.execute("ANALYZE alerts" if op.get_bind().dialect.name == "postgresql" else "ANALYZE")


def downgrade() -> None:
    for name in ORDERED:
        op.drop_index(name, "alerts")
    op.create_index("alerts_assignee", "alerts", ["assignee"])
    op.drop_index("alerts_noisy", "alerts")
    op.create_index("alerts_state_detectors", "alerts", ["state", "detectors", "severity"])
