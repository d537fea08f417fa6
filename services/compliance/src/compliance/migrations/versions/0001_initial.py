"""Traders, trade statistics, verification outcomes, interventions, measurements

Revision ID: 0001
Revises:
Create Date: 2026-11-28
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
        "audit_outcomes",
        sa.Column("audit_case_id", sa.String(length=63), nullable=False),
        sa.Column("trader_id", sa.String(length=35), nullable=False),
        sa.Column("selection_basis", sa.String(length=32), nullable=False),
        sa.Column("compliant", sa.Boolean(), nullable=False),
        sa.Column("total_unpaid_duty", sa.Numeric(precision=38, scale=9), nullable=True),
        sa.Column("unpaid_duty_currency", sa.String(length=3), nullable=True),
        sa.Column("report_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("receive_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("audit_case_id", name=op.f("pk_audit_outcomes")),
    )
    op.create_index(
        op.f("ix_audit_outcomes_trader_id"), "audit_outcomes", ["trader_id"], unique=False
    )

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
        "compliance_interventions",
        sa.Column("intervention_id", sa.String(length=63), nullable=False),
        sa.Column("trader_id", sa.String(length=35), nullable=False),
        sa.Column("trader_role", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=32), nullable=False),
        sa.Column("areas", sa.String(length=64), nullable=False),
        sa.Column("error_pattern", sa.Text(), nullable=False),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("planned_meeting_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=255), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source_finding", sa.String(length=200), nullable=True),
        sa.Column("source_audit_case_id", sa.String(length=63), nullable=True),
        sa.PrimaryKeyConstraint("intervention_id", name=op.f("pk_compliance_interventions")),
        sa.UniqueConstraint(
            "source_finding", name=op.f("uq_compliance_interventions_source_finding")
        ),
    )
    op.create_index(
        op.f("ix_compliance_interventions_create_time"),
        "compliance_interventions",
        ["create_time"],
        unique=False,
    )
    op.create_index(
        op.f("ix_compliance_interventions_source_audit_case_id"),
        "compliance_interventions",
        ["source_audit_case_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_compliance_interventions_trader_id"),
        "compliance_interventions",
        ["trader_id"],
        unique=False,
    )

    op.create_table(
        "compliance_measurements",
        sa.Column("measurement_id", sa.String(length=63), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("areas", sa.String(length=64), nullable=False),
        sa.Column("sources", sa.String(length=64), nullable=False),
        sa.Column("hs_chapters", sa.Text(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("tolerance_level", sa.Float(), nullable=False),
        sa.Column("confidence_level", sa.Float(), nullable=False),
        sa.Column("min_sample_size", sa.Integer(), nullable=False),
        sa.Column("overall_sample_size", sa.BigInteger(), nullable=False),
        sa.Column("overall_compliant", sa.BigInteger(), nullable=False),
        sa.Column("overall_rate", sa.Float(), nullable=False),
        sa.Column("overall_lower_bound", sa.Float(), nullable=False),
        sa.Column("overall_upper_bound", sa.Float(), nullable=False),
        sa.Column("overall_assessment", sa.String(length=24), nullable=False),
        sa.Column("strata_count", sa.Integer(), nullable=False),
        sa.Column("strata_below_tolerance", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("publish_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("creator", sa.String(length=255), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("measurement_id", name=op.f("pk_compliance_measurements")),
    )
    op.create_index(
        op.f("ix_compliance_measurements_create_time"),
        "compliance_measurements",
        ["create_time"],
        unique=False,
    )

    op.create_table(
        "declaration_records",
        sa.Column("record_id", sa.String(length=63), nullable=False),
        sa.Column("declaration_number", sa.String(length=35), nullable=False),
        sa.Column("declaration_version", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.String(length=63), nullable=False),
        sa.Column("lodgement_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("importer_id", sa.String(length=35), nullable=False),
        sa.Column("exporter_id", sa.String(length=35), nullable=True),
        sa.Column("broker_id", sa.String(length=35), nullable=True),
        sa.Column("carrier_id", sa.String(length=35), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total_customs_value", sa.Numeric(precision=38, scale=9), nullable=False),
        sa.Column("total_duties", sa.Numeric(precision=38, scale=9), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("examination_level", sa.String(length=20), nullable=True),
        sa.Column("random_selection", sa.Boolean(), nullable=False),
        sa.Column("decide_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("is_current", sa.Boolean(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("record_id", name=op.f("pk_declaration_records")),
    )
    op.create_index(
        op.f("ix_declaration_records_broker_id"), "declaration_records", ["broker_id"], unique=False
    )
    op.create_index(
        op.f("ix_declaration_records_carrier_id"),
        "declaration_records",
        ["carrier_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_declaration_records_declaration_number"),
        "declaration_records",
        ["declaration_number"],
        unique=False,
    )
    op.create_index(
        op.f("ix_declaration_records_exporter_id"),
        "declaration_records",
        ["exporter_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_declaration_records_importer_id"),
        "declaration_records",
        ["importer_id"],
        unique=False,
    )
    op.create_index(
        "ix_declaration_records_lodgement_time_record_id",
        "declaration_records",
        ["lodgement_time", "record_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_declaration_records_office_id"), "declaration_records", ["office_id"], unique=False
    )
    op.create_index(
        "uq_declaration_records_current_number",
        "declaration_records",
        ["declaration_number"],
        unique=True,
        postgresql_where=sa.text("is_current"),
        sqlite_where=sa.text("is_current"),
    )

    op.create_table(
        "examination_outcomes",
        sa.Column("exam_report_id", sa.String(length=63), nullable=False),
        sa.Column("examination_id", sa.String(length=63), nullable=False),
        sa.Column("assessment_id", sa.String(length=63), nullable=True),
        sa.Column("declaration_number", sa.String(length=35), nullable=False),
        sa.Column("declaration_version", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.String(length=63), nullable=False),
        sa.Column("importer_id", sa.String(length=35), nullable=False),
        sa.Column("broker_id", sa.String(length=35), nullable=True),
        sa.Column("carrier_id", sa.String(length=35), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("examination_level", sa.String(length=20), nullable=True),
        sa.Column("random_selection", sa.Boolean(), nullable=False),
        sa.Column("discrepancy_found", sa.Boolean(), nullable=False),
        sa.Column("noncompliant_areas", sa.String(length=64), nullable=False),
        sa.Column("penalty_recommended", sa.Boolean(), nullable=False),
        sa.Column("merchandise_seized", sa.Boolean(), nullable=False),
        sa.Column("approve_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("receive_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("exam_report_id", name=op.f("pk_examination_outcomes")),
    )
    op.create_index(
        op.f("ix_examination_outcomes_declaration_number"),
        "examination_outcomes",
        ["declaration_number"],
        unique=False,
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
        "traders",
        sa.Column("trader_id", sa.String(length=35), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("importer", sa.Boolean(), nullable=False),
        sa.Column("exporter", sa.Boolean(), nullable=False),
        sa.Column("broker", sa.Boolean(), nullable=False),
        sa.Column("carrier", sa.Boolean(), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("tier", sa.String(length=16), nullable=False),
        sa.Column("tier_reason", sa.Text(), nullable=False),
        sa.Column("approved_trader_status", sa.String(length=16), nullable=False),
        sa.Column("approved_trader_application", sa.String(length=100), nullable=False),
        sa.Column("approved_benefits", sa.String(length=200), nullable=False),
        sa.Column("next_reevaluation_date", sa.Date(), nullable=True),
        sa.Column("first_declaration_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("profile_revision", sa.BigInteger(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("trader_id", name=op.f("pk_traders")),
    )
    op.create_index(op.f("ix_traders_tier"), "traders", ["tier"], unique=False)

    op.create_table(
        "audit_findings",
        sa.Column("finding", sa.String(length=200), nullable=False),
        sa.Column("audit_case_id", sa.String(length=63), nullable=False),
        sa.Column("discrepancy_types", sa.String(length=400), nullable=False),
        sa.Column("misclassification", sa.Boolean(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("unpaid_duty", sa.Numeric(precision=38, scale=9), nullable=True),
        sa.Column("unpaid_duty_currency", sa.String(length=3), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_case_id"],
            ["audit_outcomes.audit_case_id"],
            name=op.f("fk_audit_findings_audit_case_id_audit_outcomes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("finding", name=op.f("pk_audit_findings")),
    )
    op.create_index(
        op.f("ix_audit_findings_audit_case_id"), "audit_findings", ["audit_case_id"], unique=False
    )

    op.create_table(
        "audited_declarations",
        sa.Column("audit_case_id", sa.String(length=63), nullable=False),
        sa.Column("declaration_number", sa.String(length=35), nullable=False),
        sa.Column("noncompliant_areas", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_case_id"],
            ["audit_outcomes.audit_case_id"],
            name=op.f("fk_audited_declarations_audit_case_id_audit_outcomes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "audit_case_id", "declaration_number", name=op.f("pk_audited_declarations")
        ),
    )
    op.create_index(
        op.f("ix_audited_declarations_declaration_number"),
        "audited_declarations",
        ["declaration_number"],
        unique=False,
    )

    op.create_table(
        "compliance_rates",
        sa.Column("measurement_id", sa.String(length=63), nullable=False),
        sa.Column("stratum", sa.String(length=100), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("sample_size", sa.BigInteger(), nullable=False),
        sa.Column("compliant", sa.BigInteger(), nullable=False),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.Column("lower_bound", sa.Float(), nullable=False),
        sa.Column("upper_bound", sa.Float(), nullable=False),
        sa.Column("assessment", sa.String(length=24), nullable=False),
        sa.ForeignKeyConstraint(
            ["measurement_id"],
            ["compliance_measurements.measurement_id"],
            name=op.f("fk_compliance_rates_measurement_id_compliance_measurements"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("measurement_id", "stratum", name=op.f("pk_compliance_rates")),
    )
    op.create_index(
        "ix_compliance_rates_order",
        "compliance_rates",
        ["measurement_id", "lower_bound", "stratum"],
        unique=False,
    )

    op.create_table(
        "declaration_record_items",
        sa.Column("record_id", sa.String(length=63), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("item_number", sa.Integer(), nullable=False),
        sa.Column("hs_code", sa.String(length=10), nullable=False),
        sa.Column("origin_country", sa.String(length=2), nullable=False),
        sa.Column("customs_value", sa.Numeric(precision=38, scale=9), nullable=False),
        sa.Column("duties", sa.Numeric(precision=38, scale=9), nullable=False),
        sa.Column("tax_rate", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["declaration_records.record_id"],
            name=op.f("fk_declaration_record_items_record_id_declaration_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("record_id", "position", name=op.f("pk_declaration_record_items")),
    )
    op.create_index(
        op.f("ix_declaration_record_items_hs_code"),
        "declaration_record_items",
        ["hs_code"],
        unique=False,
    )

    op.create_table(
        "examination_discrepancies",
        sa.Column("exam_report_id", sa.String(length=63), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("item_number", sa.Integer(), nullable=True),
        sa.Column("found_hs_code", sa.String(length=10), nullable=False),
        sa.Column("found_origin_country", sa.String(length=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["exam_report_id"],
            ["examination_outcomes.exam_report_id"],
            name=op.f("fk_examination_discrepancies_exam_report_id_examination_outcomes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "exam_report_id", "position", name=op.f("pk_examination_discrepancies")
        ),
    )
    op.create_table(
        "audit_finding_declarations",
        sa.Column("finding", sa.String(length=200), nullable=False),
        sa.Column("declaration_number", sa.String(length=35), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding"],
            ["audit_findings.finding"],
            name=op.f("fk_audit_finding_declarations_finding_audit_findings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "finding", "declaration_number", name=op.f("pk_audit_finding_declarations")
        ),
    )
    op.create_index(
        op.f("ix_audit_finding_declarations_declaration_number"),
        "audit_finding_declarations",
        ["declaration_number"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("audit_finding_declarations")
    op.drop_table("examination_discrepancies")
    op.drop_table("declaration_record_items")
    op.drop_table("compliance_rates")
    op.drop_table("audited_declarations")
    op.drop_table("audit_findings")
    op.drop_table("traders")
    op.drop_table("outbox_events")
    op.drop_table("inbox_events")
    op.drop_table("idempotency_keys")
    op.drop_table("examination_outcomes")
    op.drop_table("declaration_records")
    op.drop_table("compliance_measurements")
    op.drop_table("compliance_interventions")
    op.drop_table("change_feed")
    op.drop_table("audit_outcomes")
