"""The console's work: which detectors each alert came from (the queue filters on them
and groups noisy ones), indexes for keyset pages of the queue at any size, cases with an
assignee, notes and attached evidence, and suppressions proposed from a dismissal.

Revision ID: console_work
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "console_work"
down_revision = "throttle_windows"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)
ID = sa.String(128)
NAME = sa.String(64)


def upgrade() -> None:
    op.add_column(
        "alerts", sa.Column("detectors", sa.String(400), nullable=False, server_default="")
    )
    op.create_table(
        "alert_detectors",
        sa.Column("alert_id", ID, sa.ForeignKey("alerts.alert_id"), primary_key=True),
        sa.Column("detector", NAME, primary_key=True),
    )
    op.create_index("alert_detectors_detector", "alert_detectors", ["detector", "alert_id"])
    op.create_index("alerts_score_id", "alerts", ["score", "alert_id"])
    op.create_index("alerts_detected_id", "alerts", ["detected_at", "alert_id"])
    op.create_index("alerts_state_detectors", "alerts", ["state", "detectors", "severity"])
    op.create_index("alerts_assignee", "alerts", ["assignee"])
    _backfill_detectors()
    op.add_column("cases", sa.Column("assignee", NAME))
    op.create_table(
        "case_notes",
        sa.Column("note_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "case_id", sa.Integer, sa.ForeignKey("cases.case_id"), nullable=False, index=True
        ),
        sa.Column("author", NAME, nullable=False),
        sa.Column("at", UTC_TIME, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_table(
        "case_evidence",
        sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.case_id"), primary_key=True),
        sa.Column("event_id", ID, primary_key=True),
        sa.Column("alert_id", ID, nullable=False),
        sa.Column("added_by", NAME, nullable=False),
        sa.Column("added_at", UTC_TIME, nullable=False),
        sa.Column("why", sa.Text, nullable=False),
    )
    op.create_table(
        "suppression_proposals",
        sa.Column("proposal_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", ID, sa.ForeignKey("alerts.alert_id"), nullable=False, index=True),
        sa.Column("employee_id", ID, nullable=False),
        sa.Column("detector", NAME, nullable=False),
        sa.Column("until", sa.Date, nullable=False),
        sa.Column("close_reason", sa.String(32), nullable=False),
        sa.Column("why", sa.Text, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("proposed_by", NAME, nullable=False),
        sa.Column("proposed_at", UTC_TIME, nullable=False),
        sa.Column("decided_by", NAME),
        sa.Column("decided_at", UTC_TIME),
        sa.Column("preview", sa.Text, nullable=False),
        sa.CheckConstraint(
            "status IN ('proposed', 'applied', 'withdrawn')", name="suppression_proposals_status"
        ),
    )


def _backfill_detectors() -> None:
    """Alerts recorded before this revision: detectors from their current latest line."""
    con = op.get_bind()
    rows = con.execute(
        sa.text(
            "SELECT l.alert_id, l.line FROM alert_lines l JOIN alerts a "
            "ON a.alert_id = l.alert_id AND a.revision = l.revision "
            "WHERE l.superseded_at IS NULL"
        )
    ).all()
    for alert_id, line in rows:
        detectors = sorted(set(json.loads(line).get("detectors", [])))
        con.execute(
            sa.text("UPDATE alerts SET detectors = :d WHERE alert_id = :a"),
            {"d": "+".join(detectors), "a": alert_id},
        )
        for detector in detectors:
            con.execute(
                sa.text("INSERT INTO alert_detectors (alert_id, detector) VALUES (:a, :d)"),
                {"a": alert_id, "d": detector},
            )


def downgrade() -> None:
    op.drop_table("suppression_proposals")
    op.drop_table("case_evidence")
    op.drop_table("case_notes")
    op.drop_column("cases", "assignee")
    op.drop_index("alerts_assignee", "alerts")
    op.drop_index("alerts_state_detectors", "alerts")
    op.drop_index("alerts_detected_id", "alerts")
    op.drop_index("alerts_score_id", "alerts")
    op.drop_index("alert_detectors_detector", "alert_detectors")
    op.drop_table("alert_detectors")
    op.drop_column("alerts", "detectors")
