"""Assessments, the rules journal and the kit's tables

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
        "assessments",
        sa.Column("id", sa.String(length=63), nullable=False),
        sa.Column("declaration_number", sa.String(length=35), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("office_code", sa.String(length=63), nullable=False),
        sa.Column("importer_id", sa.String(length=35), nullable=False),
        sa.Column("declarant_id", sa.String(length=35), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("lodgement_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("criteria_revision", sa.BigInteger(), nullable=False),
        sa.Column("declaration", sa.LargeBinary(), nullable=False),
        sa.Column("decision", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
        sa.UniqueConstraint(
            "declaration_number", "version", name="uq_assessments_declaration_number_version"
        ),
    )
    op.create_index("ix_assessments_declarant_id", "assessments", ["declarant_id"])
    op.create_index("ix_assessments_importer_id", "assessments", ["importer_id"])
    op.create_index("ix_assessments_lodgement_time_id", "assessments", ["lodgement_time", "id"])
    op.create_index(
        "ix_assessments_office_code_lodgement_time",
        "assessments",
        ["office_code", "lodgement_time"],
    )
    op.create_table(
        "rules_journal",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("record_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key", "revision", name=op.f("pk_rules_journal")),
    )
    op.create_index("ix_rules_journal_revision", "rules_journal", ["revision"])
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
    op.create_index("ix_change_feed_kind_key_revision", "change_feed", ["kind", "key", "revision"])
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
        postgresql_where=sa.text("delivered_at IS NULL"),
        sqlite_where=sa.text("delivered_at IS NULL"),
    )


def downgrade() -> None:
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
    op.drop_index("ix_rules_journal_revision", table_name="rules_journal")
    op.drop_table("rules_journal")
    op.drop_index("ix_assessments_office_code_lodgement_time", table_name="assessments")
    op.drop_index("ix_assessments_lodgement_time_id", table_name="assessments")
    op.drop_index("ix_assessments_importer_id", table_name="assessments")
    op.drop_index("ix_assessments_declarant_id", table_name="assessments")
    op.drop_table("assessments")
