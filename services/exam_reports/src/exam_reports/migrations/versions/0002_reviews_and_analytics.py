"""Override requests, attachments and their content, intelligence notes, report approval time.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("attachment_id", sa.String(length=63), nullable=False),
        sa.Column("parent_kind", sa.String(length=32), nullable=False),
        sa.Column("parent_id", sa.String(length=63), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=500), nullable=False),
        sa.Column("uploaded_by_officer_id", sa.String(length=63), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["uploaded_by_officer_id"],
            ["officers.officer_id"],
            name=op.f("fk_attachments_uploaded_by_officer_id_officers"),
        ),
        sa.PrimaryKeyConstraint("attachment_id", name=op.f("pk_attachments")),
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_attachments_parent_kind_parent_id", ["parent_kind", "parent_id"], unique=False
        )

    op.create_table(
        "attachment_chunks",
        sa.Column("attachment_id", sa.String(length=63), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachments.attachment_id"],
            name=op.f("fk_attachment_chunks_attachment_id_attachments"),
        ),
        sa.PrimaryKeyConstraint("attachment_id", "sequence", name=op.f("pk_attachment_chunks")),
    )
    op.create_table(
        "overrides",
        sa.Column("override_id", sa.String(length=63), nullable=False),
        sa.Column("examination_id", sa.String(length=63), nullable=True),
        sa.Column("declaration_number", sa.String(length=35), nullable=False),
        sa.Column("declaration_version", sa.Integer(), nullable=False),
        sa.Column("office_id", sa.String(length=63), nullable=False),
        sa.Column("importer_number", sa.String(length=35), nullable=False),
        sa.Column("importer_name", sa.String(length=200), nullable=False),
        sa.Column("designated_channel", sa.String(length=16), nullable=False),
        sa.Column("designated_level", sa.String(length=32), nullable=False),
        sa.Column("requested_channel", sa.String(length=16), nullable=False),
        sa.Column("requested_level", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("requester_officer_id", sa.String(length=63), nullable=False),
        sa.Column("decided_by_officer_id", sa.String(length=63), nullable=True),
        sa.Column("decision_comment", sa.Text(), nullable=False),
        sa.Column("decide_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resulting_examination_id", sa.String(length=63), nullable=True),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decided_by_officer_id"],
            ["officers.officer_id"],
            name=op.f("fk_overrides_decided_by_officer_id_officers"),
        ),
        sa.ForeignKeyConstraint(
            ["examination_id"],
            ["examinations.examination_id"],
            name=op.f("fk_overrides_examination_id_examinations"),
        ),
        sa.ForeignKeyConstraint(
            ["office_id"], ["offices.office_id"], name=op.f("fk_overrides_office_id_offices")
        ),
        sa.ForeignKeyConstraint(
            ["requester_officer_id"],
            ["officers.officer_id"],
            name=op.f("fk_overrides_requester_officer_id_officers"),
        ),
        sa.ForeignKeyConstraint(
            ["resulting_examination_id"],
            ["examinations.examination_id"],
            name=op.f("fk_overrides_resulting_examination_id_examinations"),
        ),
        sa.PrimaryKeyConstraint("override_id", name=op.f("pk_overrides")),
    )
    with op.batch_alter_table("overrides", schema=None) as batch_op:
        batch_op.create_index(
            "ix_overrides_create_time_override_id", ["create_time", "override_id"], unique=False
        )
        batch_op.create_index(
            "ix_overrides_declaration_number_state", ["declaration_number", "state"], unique=False
        )
        batch_op.create_index(
            "ix_overrides_office_id_create_time", ["office_id", "create_time"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_overrides_requester_officer_id"), ["requester_officer_id"], unique=False
        )

    op.create_table(
        "intelligence_notes",
        sa.Column("note_id", sa.String(length=63), nullable=False),
        sa.Column("office_id", sa.String(length=63), nullable=False),
        sa.Column("topic", sa.String(length=48), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("declaration_numbers", sa.JSON(), nullable=False),
        sa.Column("trader_numbers", sa.JSON(), nullable=False),
        sa.Column("exam_report_id", sa.String(length=63), nullable=True),
        sa.Column("author_officer_id", sa.String(length=63), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_officer_id"],
            ["officers.officer_id"],
            name=op.f("fk_intelligence_notes_author_officer_id_officers"),
        ),
        sa.ForeignKeyConstraint(
            ["exam_report_id"],
            ["exam_reports.exam_report_id"],
            name=op.f("fk_intelligence_notes_exam_report_id_exam_reports"),
        ),
        sa.ForeignKeyConstraint(
            ["office_id"],
            ["offices.office_id"],
            name=op.f("fk_intelligence_notes_office_id_offices"),
        ),
        sa.PrimaryKeyConstraint("note_id", name=op.f("pk_intelligence_notes")),
    )
    with op.batch_alter_table("intelligence_notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_intelligence_notes_author_officer_id"),
            ["author_officer_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_intelligence_notes_create_time_note_id", ["create_time", "note_id"], unique=False
        )
        batch_op.create_index(
            "ix_intelligence_notes_office_id_create_time",
            ["office_id", "create_time"],
            unique=False,
        )

    op.create_table(
        "intelligence_note_subjects",
        sa.Column("note_id", sa.String(length=63), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=35), nullable=False),
        sa.ForeignKeyConstraint(
            ["note_id"],
            ["intelligence_notes.note_id"],
            name=op.f("fk_intelligence_note_subjects_note_id_intelligence_notes"),
        ),
        sa.PrimaryKeyConstraint(
            "note_id", "kind", "value", name=op.f("pk_intelligence_note_subjects")
        ),
    )
    with op.batch_alter_table("intelligence_note_subjects", schema=None) as batch_op:
        batch_op.create_index(
            "ix_intelligence_note_subjects_kind_value", ["kind", "value"], unique=False
        )

    with op.batch_alter_table("exam_reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approve_time", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_exam_reports_approve_time", ["approve_time"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("exam_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_exam_reports_approve_time")
        batch_op.drop_column("approve_time")

    with op.batch_alter_table("intelligence_note_subjects", schema=None) as batch_op:
        batch_op.drop_index("ix_intelligence_note_subjects_kind_value")

    op.drop_table("intelligence_note_subjects")
    with op.batch_alter_table("intelligence_notes", schema=None) as batch_op:
        batch_op.drop_index("ix_intelligence_notes_office_id_create_time")
        batch_op.drop_index("ix_intelligence_notes_create_time_note_id")
        batch_op.drop_index(batch_op.f("ix_intelligence_notes_author_officer_id"))

    op.drop_table("intelligence_notes")
    with op.batch_alter_table("overrides", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_overrides_requester_officer_id"))
        batch_op.drop_index("ix_overrides_office_id_create_time")
        batch_op.drop_index("ix_overrides_declaration_number_state")
        batch_op.drop_index("ix_overrides_create_time_override_id")

    op.drop_table("overrides")
    op.drop_table("attachment_chunks")
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index("ix_attachments_parent_kind_parent_id")

    op.drop_table("attachments")
