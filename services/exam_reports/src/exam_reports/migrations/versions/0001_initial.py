"""Offices, facilities, officers, shifts, examinations, exam reports, and the kit's tables.

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
        "offices",
        sa.Column("office_id", sa.String(length=63), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("office_id", name=op.f("pk_offices")),
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
        "examination_facilities",
        sa.Column("office_id", sa.String(length=63), nullable=False),
        sa.Column("facility_id", sa.String(length=63), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.String(length=500), nullable=False),
        sa.Column("capabilities", sa.JSON(), nullable=False),
        sa.Column("daily_capacities", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["offices.office_id"],
            name=op.f("fk_examination_facilities_office_id_offices"),
        ),
        sa.PrimaryKeyConstraint("office_id", "facility_id", name=op.f("pk_examination_facilities")),
    )
    op.create_table(
        "officers",
        sa.Column("officer_id", sa.String(length=63), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("badge_number", sa.String(length=32), nullable=False),
        sa.Column("office_id", sa.String(length=63), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.office_id"], name=op.f("fk_officers_office_id_offices")
        ),
        sa.PrimaryKeyConstraint("officer_id", name=op.f("pk_officers")),
        sa.UniqueConstraint("subject", name=op.f("uq_officers_subject")),
    )
    op.create_index(op.f("ix_officers_office_id"), "officers", ["office_id"], unique=False)

    op.create_table(
        "examinations",
        sa.Column("examination_id", sa.String(length=63), nullable=False),
        sa.Column("source_event_id", sa.String(length=64), nullable=True),
        sa.Column("declaration_number", sa.String(length=35), nullable=False),
        sa.Column("declaration_version", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.String(length=63), nullable=False),
        sa.Column("assessment", sa.String(length=128), nullable=False),
        sa.Column("importer_number", sa.String(length=35), nullable=False),
        sa.Column("importer_name", sa.String(length=200), nullable=False),
        sa.Column("broker_number", sa.String(length=35), nullable=True),
        sa.Column("broker_name", sa.String(length=200), nullable=True),
        sa.Column("carrier_number", sa.String(length=35), nullable=True),
        sa.Column("carrier_name", sa.String(length=200), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("examination_level", sa.String(length=32), nullable=False),
        sa.Column("documents_to_check", sa.JSON(), nullable=False),
        sa.Column("examiner_instructions", sa.JSON(), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("matched_criteria", sa.JSON(), nullable=False),
        sa.Column("random_selection", sa.Boolean(), nullable=False),
        sa.Column("override", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("assigned_officer_id", sa.String(length=63), nullable=True),
        sa.Column("facility", sa.String(length=200), nullable=False),
        sa.Column("assignments", sa.JSON(), nullable=False),
        sa.Column("exam_report_id", sa.String(length=63), nullable=True),
        sa.Column("decide_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("complete_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_officer_id"],
            ["officers.officer_id"],
            name=op.f("fk_examinations_assigned_officer_id_officers"),
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.office_id"], name=op.f("fk_examinations_office_id_offices")
        ),
        sa.PrimaryKeyConstraint("examination_id", name=op.f("pk_examinations")),
        sa.UniqueConstraint("source_event_id", name=op.f("uq_examinations_source_event_id")),
    )
    op.create_index(
        "ix_examinations_assigned_officer_id_state",
        "examinations",
        ["assigned_officer_id", "state"],
        unique=False,
    )
    op.create_index(
        "ix_examinations_decide_time_examination_id",
        "examinations",
        ["decide_time", "examination_id"],
        unique=False,
    )
    op.create_index(
        "ix_examinations_declaration_number_declaration_version",
        "examinations",
        ["declaration_number", "declaration_version"],
        unique=False,
    )
    op.create_index(
        "ix_examinations_office_id_decide_time",
        "examinations",
        ["office_id", "decide_time"],
        unique=False,
    )

    op.create_table(
        "shifts",
        sa.Column("shift_id", sa.String(length=63), nullable=False),
        sa.Column("officer_id", sa.String(length=63), nullable=False),
        sa.Column("office_id", sa.String(length=63), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.office_id"], name=op.f("fk_shifts_office_id_offices")
        ),
        sa.ForeignKeyConstraint(
            ["officer_id"], ["officers.officer_id"], name=op.f("fk_shifts_officer_id_officers")
        ),
        sa.PrimaryKeyConstraint("shift_id", name=op.f("pk_shifts")),
    )
    op.create_index(
        "ix_shifts_office_id_end_time", "shifts", ["office_id", "end_time"], unique=False
    )
    op.create_index(
        "ix_shifts_officer_id_start_time", "shifts", ["officer_id", "start_time"], unique=False
    )

    op.create_table(
        "exam_reports",
        sa.Column("exam_report_id", sa.String(length=63), nullable=False),
        sa.Column("examination_id", sa.String(length=63), nullable=False),
        sa.Column("author_officer_id", sa.String(length=63), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("declaration_number", sa.String(length=35), nullable=False),
        sa.Column("customs_office_id", sa.String(length=63), nullable=False),
        sa.Column("importer_name", sa.String(length=200), nullable=False),
        sa.Column("importer_number", sa.String(length=35), nullable=False),
        sa.Column("broker_name", sa.String(length=200), nullable=False),
        sa.Column("broker_number", sa.String(length=35), nullable=False),
        sa.Column("inspecting_officer_id", sa.String(length=63), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=True),
        sa.Column("other_reason", sa.Text(), nullable=False),
        sa.Column("override_id", sa.String(length=63), nullable=False),
        sa.Column("examination_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("discrepancy_found", sa.Boolean(), nullable=True),
        sa.Column("discrepancy_detail", sa.Text(), nullable=False),
        sa.Column("discrepancies", sa.JSON(), nullable=False),
        sa.Column("penalty_recommended", sa.Boolean(), nullable=True),
        sa.Column("merchandise_seized", sa.Boolean(), nullable=True),
        sa.Column("seizure_case_number", sa.String(length=35), nullable=False),
        sa.Column("carrier", sa.JSON(), nullable=False),
        sa.Column("driver", sa.JSON(), nullable=False),
        sa.Column("intelligence_information", sa.Text(), nullable=False),
        sa.Column("attachments", sa.JSON(), nullable=False),
        sa.Column("post_clearance_audit_recommended", sa.Boolean(), nullable=False),
        sa.Column("officer_signature", sa.JSON(), nullable=True),
        sa.Column("supervisor_signature", sa.JSON(), nullable=True),
        sa.Column("corrections", sa.JSON(), nullable=False),
        sa.Column("submission_count", sa.Integer(), nullable=False),
        sa.Column("submit_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submission_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_officer_id"],
            ["officers.officer_id"],
            name=op.f("fk_exam_reports_author_officer_id_officers"),
        ),
        sa.ForeignKeyConstraint(
            ["examination_id"],
            ["examinations.examination_id"],
            name=op.f("fk_exam_reports_examination_id_examinations"),
        ),
        sa.PrimaryKeyConstraint("exam_report_id", name=op.f("pk_exam_reports")),
    )
    op.create_index(
        op.f("ix_exam_reports_author_officer_id"),
        "exam_reports",
        ["author_officer_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_exam_reports_examination_id"), "exam_reports", ["examination_id"], unique=False
    )
    op.create_index(
        "ix_exam_reports_update_time_exam_report_id",
        "exam_reports",
        ["update_time", "exam_report_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_exam_reports_update_time_exam_report_id", table_name="exam_reports")
    op.drop_index(op.f("ix_exam_reports_examination_id"), table_name="exam_reports")
    op.drop_index(op.f("ix_exam_reports_author_officer_id"), table_name="exam_reports")

    op.drop_table("exam_reports")
    op.drop_index("ix_shifts_officer_id_start_time", table_name="shifts")
    op.drop_index("ix_shifts_office_id_end_time", table_name="shifts")

    op.drop_table("shifts")
    op.drop_index("ix_examinations_office_id_decide_time", table_name="examinations")
    op.drop_index(
        "ix_examinations_declaration_number_declaration_version", table_name="examinations"
    )
    op.drop_index("ix_examinations_decide_time_examination_id", table_name="examinations")
    op.drop_index("ix_examinations_assigned_officer_id_state", table_name="examinations")

    op.drop_table("examinations")
    op.drop_index(op.f("ix_officers_office_id"), table_name="officers")

    op.drop_table("officers")
    op.drop_table("examination_facilities")
    op.drop_index(
        "ix_outbox_events_pending",
        table_name="outbox_events",
        postgresql_where=sa.text("delivered_at IS NULL"),
        sqlite_where=sa.text("delivered_at IS NULL"),
    )

    op.drop_table("outbox_events")
    op.drop_table("offices")
    op.drop_table("inbox_events")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_change_feed_kind_key_revision", table_name="change_feed")

    op.drop_table("change_feed")
