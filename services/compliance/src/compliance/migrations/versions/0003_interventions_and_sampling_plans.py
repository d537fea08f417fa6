"""The compliance-intervention workflow (meeting, outcome) and sampling plans

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: SQLite rebuilds the table where it cannot ALTER it in place.
    with op.batch_alter_table("compliance_interventions") as batch:
        batch.add_column(sa.Column("meeting_time", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("meeting_attendees", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("meeting_summary", sa.Text(), nullable=True))
        batch.add_column(sa.Column("corrective_plan", sa.Text(), nullable=True))
        batch.add_column(sa.Column("follow_up_date", sa.Date(), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(length=16), nullable=True))
        batch.add_column(sa.Column("closing_note", sa.Text(), nullable=True))
    op.create_table(
        "sampling_plans",
        sa.Column("plan_id", sa.String(length=63), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("base_first_day", sa.Date(), nullable=False),
        sa.Column("base_last_day", sa.Date(), nullable=False),
        sa.Column("margin_of_error", sa.Float(), nullable=True),
        sa.Column("total_sample_size", sa.BigInteger(), nullable=True),
        sa.Column("confidence_level", sa.Float(), nullable=False),
        sa.Column("prior_compliance_rate", sa.Float(), nullable=False),
        sa.Column("expected_margin_of_error", sa.Float(), nullable=False),
        sa.Column("creator", sa.String(length=255), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("plan_id", name=op.f("pk_sampling_plans")),
    )
    op.create_index(
        "ix_sampling_plans_create_time_plan_id",
        "sampling_plans",
        ["create_time", "plan_id"],
        unique=False,
    )
    op.create_table(
        "sampling_plan_strata",
        sa.Column("plan_id", sa.String(length=63), nullable=False),
        sa.Column("stratum", sa.String(length=100), nullable=False),
        sa.Column("population_size", sa.BigInteger(), nullable=False),
        sa.Column("expected_compliance_rate", sa.Float(), nullable=False),
        sa.Column("standard_deviation", sa.Float(), nullable=False),
        sa.Column("sample_size", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["sampling_plans.plan_id"],
            name=op.f("fk_sampling_plan_strata_plan_id_sampling_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("plan_id", "stratum", name=op.f("pk_sampling_plan_strata")),
    )


def downgrade() -> None:
    op.drop_table("sampling_plan_strata")
    op.drop_table("sampling_plans")
    with op.batch_alter_table("compliance_interventions") as batch:
        batch.drop_column("closing_note")
        batch.drop_column("outcome")
        batch.drop_column("follow_up_date")
        batch.drop_column("corrective_plan")
        batch.drop_column("meeting_summary")
        batch.drop_column("meeting_attendees")
        batch.drop_column("meeting_time")
