"""Random examination rate changes

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
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
        "random_examination_rate_changes",
        sa.Column("revision", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("office_code", sa.String(length=63), nullable=False),
        sa.Column("procedure_code", sa.String(length=4), nullable=False),
        sa.Column("removed", sa.Boolean(), nullable=False),
        sa.Column("document_review_percent", sa.Double(), nullable=False),
        sa.Column("physical_examination_percent", sa.Double(), nullable=False),
        sa.Column("physical_examination_level", sa.String(length=32), nullable=False),
        sa.Column("approved_trader_document_review_percent", sa.Double(), nullable=False),
        sa.Column("approved_trader_physical_examination_percent", sa.Double(), nullable=False),
        sa.Column("updated_by", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.String(length=1000), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("revision", name=op.f("pk_random_examination_rate_changes")),
    )
    op.create_index(
        "ix_random_examination_rate_changes_office_code_procedure_code",
        "random_examination_rate_changes",
        ["office_code", "procedure_code", "revision"],
    )


def downgrade() -> None:
    op.drop_index(
        "ix_random_examination_rate_changes_office_code_procedure_code",
        table_name="random_examination_rate_changes",
    )
    op.drop_table("random_examination_rate_changes")
