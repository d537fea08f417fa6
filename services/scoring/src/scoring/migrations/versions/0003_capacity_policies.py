"""Capacity policy changes and the examinations selected per office and day

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "capacity_policy_changes",
        sa.Column("revision", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("policy", sa.LargeBinary(), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("revision", name=op.f("pk_capacity_policy_changes")),
    )
    op.create_index(
        "ix_capacity_policy_changes_name_revision",
        "capacity_policy_changes",
        ["name", "revision"],
    )
    op.create_table(
        "examination_selections",
        sa.Column("assessment_id", sa.String(length=63), nullable=False),
        sa.Column("office_code", sa.String(length=63), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("examination_level", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("assessment_id", name=op.f("pk_examination_selections")),
    )
    op.create_index(
        "ix_examination_selections_office_code_day",
        "examination_selections",
        ["office_code", "day"],
    )


def downgrade() -> None:
    op.drop_index("ix_examination_selections_office_code_day", table_name="examination_selections")
    op.drop_table("examination_selections")
    op.drop_index("ix_capacity_policy_changes_name_revision", table_name="capacity_policy_changes")
    op.drop_table("capacity_policy_changes")
