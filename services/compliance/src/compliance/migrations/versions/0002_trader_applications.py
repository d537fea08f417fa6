"""Approved-trader applications and their reviews

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

# Frozen here rather than imported: a migration must not change when the code does.
_OPEN_APPLICATION = "state IN ('ACTIVE', 'AGREEMENT_PENDING', 'SUBMITTED', 'UNDER_REVIEW')"


def upgrade() -> None:
    op.create_table(
        "trader_applications",
        sa.Column("application_id", sa.String(length=63), nullable=False),
        sa.Column("trader_id", sa.String(length=35), nullable=False),
        sa.Column("requested_benefits", sa.String(length=200), nullable=False),
        sa.Column("statement", sa.Text(), nullable=False),
        sa.Column("contact", sa.String(length=500), nullable=False),
        sa.Column("receive_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("agreement_reference", sa.String(length=64), nullable=True),
        sa.Column("agreement_benefits", sa.String(length=200), nullable=True),
        sa.Column("agreement_effective_date", sa.Date(), nullable=True),
        sa.Column("agreement_signed_by", sa.String(length=255), nullable=True),
        sa.Column("agreement_sign_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_reevaluation_date", sa.Date(), nullable=True),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("decided_by", sa.String(length=255), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["trader_id"],
            ["traders.trader_id"],
            name=op.f("fk_trader_applications_trader_id_traders"),
        ),
        sa.PrimaryKeyConstraint("application_id", name=op.f("pk_trader_applications")),
    )
    op.create_index(
        op.f("ix_trader_applications_next_reevaluation_date"),
        "trader_applications",
        ["next_reevaluation_date"],
        unique=False,
    )
    op.create_index(
        "ix_trader_applications_receive_time_application_id",
        "trader_applications",
        ["receive_time", "application_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_trader_applications_state"), "trader_applications", ["state"], unique=False
    )
    op.create_index(
        op.f("ix_trader_applications_trader_id"),
        "trader_applications",
        ["trader_id"],
        unique=False,
    )
    op.create_index(
        "uq_trader_applications_open_trader",
        "trader_applications",
        ["trader_id"],
        unique=True,
        postgresql_where=sa.text(_OPEN_APPLICATION),
        sqlite_where=sa.text(_OPEN_APPLICATION),
    )
    op.create_table(
        "trader_application_reviews",
        sa.Column("application_id", sa.String(length=63), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("record_keeping", sa.String(length=16), nullable=False),
        sa.Column("security", sa.String(length=16), nullable=False),
        sa.Column("employee_background_checks", sa.String(length=16), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("rate_sample_size", sa.BigInteger(), nullable=False),
        sa.Column("rate_compliant", sa.BigInteger(), nullable=False),
        sa.Column("rate", sa.Float(), nullable=False),
        sa.Column("rate_lower_bound", sa.Float(), nullable=False),
        sa.Column("rate_upper_bound", sa.Float(), nullable=False),
        sa.Column("rate_assessment", sa.String(length=24), nullable=False),
        sa.Column("reviewer", sa.String(length=255), nullable=False),
        sa.Column("review_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("next_reevaluation_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["trader_applications.application_id"],
            name=op.f("fk_trader_application_reviews_application_id_trader_applications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "application_id", "position", name=op.f("pk_trader_application_reviews")
        ),
    )


def downgrade() -> None:
    op.drop_table("trader_application_reviews")
    op.drop_table("trader_applications")
