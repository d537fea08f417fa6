"""Impact analyses of criterion revisions

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
        "impact_analyses",
        sa.Column("id", sa.String(length=63), nullable=False),
        sa.Column("criterion_id", sa.String(length=63), nullable=False),
        sa.Column("criterion_revision", sa.BigInteger(), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("declarations_replayed", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.BigInteger(), nullable=False),
        sa.Column("selections", sa.BigInteger(), nullable=False),
        sa.Column("scoring_criteria_revision", sa.BigInteger(), nullable=False),
        sa.Column("requested_by", sa.String(length=128), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("office_days", sa.Text(), nullable=False),
        sa.Column("capacity_exceedances", sa.Text(), nullable=False),
        sa.Column("overlaps", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["criterion_id"],
            ["criteria.id"],
            name=op.f("fk_impact_analyses_criterion_id_criteria"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_impact_analyses")),
    )
    op.create_index(
        "ix_impact_analyses_criterion_time",
        "impact_analyses",
        ["criterion_id", "create_time", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_impact_analyses_criterion_time", table_name="impact_analyses")
    op.drop_table("impact_analyses")
