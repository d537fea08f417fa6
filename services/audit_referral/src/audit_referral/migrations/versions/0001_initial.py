"""Referrals, audit cases and findings, with the kit's tables

Revision ID: 0001
Revises:
Create Date: 2025-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_cases",
        sa.Column("id", sa.String(length=63), nullable=False),
        sa.Column("trader", sa.String(length=35), nullable=False),
        sa.Column("trader_display_name", sa.String(length=200), nullable=False),
        sa.Column("selection_basis", sa.String(length=32), nullable=False),
        sa.Column("campaign", sa.String(length=200), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("declarations", sa.JSON(), nullable=False),
        sa.Column("audit_period_start_date", sa.Date(), nullable=False),
        sa.Column("audit_period_end_date", sa.Date(), nullable=False),
        sa.Column("announced", sa.Boolean(), nullable=False),
        sa.Column("notice_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("planned_start_date", sa.Date(), nullable=False),
        sa.Column("lead_auditor", sa.String(length=255), nullable=False),
        sa.Column("team", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("stage_history", sa.JSON(), nullable=False),
        sa.Column("pre_audit_questions", sa.JSON(), nullable=False),
        sa.Column("pre_audit_response_due_date", sa.Date(), nullable=True),
        sa.Column("pre_audit_answers", sa.JSON(), nullable=False),
        sa.Column("opening_conference", sa.JSON(), nullable=True),
        sa.Column("premises_tour_notes", sa.Text(), nullable=False),
        sa.Column("exit_conference", sa.JSON(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("corrective_action_plan", sa.Text(), nullable=False),
        sa.Column("duties_collected", sa.JSON(), nullable=True),
        sa.Column("closing_note", sa.Text(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_cases")),
    )
    op.create_index(
        "ix_audit_cases_create_time_id", "audit_cases", ["create_time", "id"], unique=False
    )
    op.create_index("ix_audit_cases_trader", "audit_cases", ["trader"], unique=False)

    op.create_table(
        "change_feed",
        sa.Column(
            "revision",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=63), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("revision", name=op.f("pk_change_feed")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_change_feed_kind_key_revision", "change_feed", ["kind", "key", "revision"], unique=False
    )

    op.create_table(
        "idempotency_keys",
        sa.Column("method", sa.String(length=255), nullable=False),
        sa.Column("request_id", sa.String(length=128), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("response", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("method", "request_id", name="pk_idempotency_keys"),
    )
    op.create_table(
        "inbox_events",
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=63), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name="pk_inbox_events"),
    )
    op.create_table(
        "outbox_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("destination", sa.String(length=63), nullable=False),
        sa.Column("method", sa.String(length=255), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("traceparent", sa.String(length=55), nullable=True),
        sa.Column("tracestate", sa.String(length=512), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_events_event_id")),
    )
    op.create_index(
        "ix_outbox_events_pending",
        "outbox_events",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("delivered_at IS NULL"),
        sqlite_where=sa.text("delivered_at IS NULL"),
    )

    op.create_table(
        "audit_findings",
        sa.Column("id", sa.String(length=63), nullable=False),
        sa.Column("audit_case_id", sa.String(length=63), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("declarations", sa.JSON(), nullable=False),
        sa.Column("unpaid_duty_currency", sa.String(length=3), nullable=False),
        sa.Column("unpaid_duty_units", sa.BigInteger(), nullable=False),
        sa.Column("unpaid_duty_nanos", sa.Integer(), nullable=False),
        sa.Column("intent", sa.String(length=32), nullable=False),
        sa.Column("trader_commits_to_correct", sa.Boolean(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("penalty_currency", sa.String(length=3), nullable=True),
        sa.Column("penalty_units", sa.BigInteger(), nullable=True),
        sa.Column("penalty_nanos", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.String(length=255), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_case_id"],
            ["audit_cases.id"],
            name=op.f("fk_audit_findings_audit_case_id_audit_cases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_findings")),
    )
    op.create_index(
        "ix_audit_findings_case_create_time_id",
        "audit_findings",
        ["audit_case_id", "create_time", "id"],
        unique=False,
    )
    op.create_index(
        "ix_audit_findings_create_time_id", "audit_findings", ["create_time", "id"], unique=False
    )

    op.create_table(
        "referrals",
        sa.Column("id", sa.String(length=63), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("trader", sa.String(length=35), nullable=False),
        sa.Column("trader_display_name", sa.String(length=200), nullable=False),
        sa.Column("declarations", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("revenue_at_risk_currency", sa.String(length=3), nullable=True),
        sa.Column("revenue_at_risk_units", sa.BigInteger(), nullable=True),
        sa.Column("revenue_at_risk_nanos", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("audit_case_id", sa.String(length=63), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=255), nullable=False),
        sa.Column("decide_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("source_event_id", sa.String(length=64), nullable=True),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_case_id"],
            ["audit_cases.id"],
            name=op.f("fk_referrals_audit_case_id_audit_cases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
        sa.UniqueConstraint("source_event_id", name=op.f("uq_referrals_source_event_id")),
    )
    op.create_index("ix_referrals_audit_case_id", "referrals", ["audit_case_id"], unique=False)
    op.create_index(
        "ix_referrals_queue", "referrals", ["priority", "create_time", "id"], unique=False
    )
    op.create_index(
        "ix_referrals_state_queue",
        "referrals",
        ["state", "priority", "create_time", "id"],
        unique=False,
    )
    op.create_index("ix_referrals_trader", "referrals", ["trader"], unique=False)

    op.create_table(
        "audit_finding_discrepancy_types",
        sa.Column("finding_id", sa.String(length=63), nullable=False),
        sa.Column("discrepancy_type", sa.String(length=48), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["audit_findings.id"],
            name=op.f("fk_audit_finding_discrepancy_types_finding_id_audit_findings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "finding_id", "discrepancy_type", name=op.f("pk_audit_finding_discrepancy_types")
        ),
    )
    op.create_index(
        op.f("ix_audit_finding_discrepancy_types_discrepancy_type"),
        "audit_finding_discrepancy_types",
        ["discrepancy_type"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_audit_finding_discrepancy_types_discrepancy_type"),
        table_name="audit_finding_discrepancy_types",
    )

    op.drop_table("audit_finding_discrepancy_types")
    op.drop_index("ix_referrals_trader", table_name="referrals")
    op.drop_index("ix_referrals_state_queue", table_name="referrals")
    op.drop_index("ix_referrals_queue", table_name="referrals")
    op.drop_index("ix_referrals_audit_case_id", table_name="referrals")

    op.drop_table("referrals")
    op.drop_index("ix_audit_findings_create_time_id", table_name="audit_findings")
    op.drop_index("ix_audit_findings_case_create_time_id", table_name="audit_findings")

    op.drop_table("audit_findings")
    op.drop_index(
        "ix_outbox_events_pending",
        table_name="outbox_events",
        postgresql_where=sa.text("delivered_at IS NULL"),
        sqlite_where=sa.text("delivered_at IS NULL"),
    )

    op.drop_table("outbox_events")
    op.drop_table("inbox_events")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_change_feed_kind_key_revision", table_name="change_feed")

    op.drop_table("change_feed")
    op.drop_index("ix_audit_cases_trader", table_name="audit_cases")
    op.drop_index("ix_audit_cases_create_time_id", table_name="audit_cases")

    op.drop_table("audit_cases")
