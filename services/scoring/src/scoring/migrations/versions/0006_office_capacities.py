"""The office capacity limits exam_reports streamed (their revision is in watch_positions)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "office_capacities",
        sa.Column("office_code", sa.String(length=63), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("office_code", name=op.f("pk_office_capacities")),
    )


def downgrade() -> None:
    op.drop_table("office_capacities")
