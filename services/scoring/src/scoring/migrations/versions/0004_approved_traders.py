"""The approved traders compliance streamed, and the stream revision they are as of

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "approved_traders",
        sa.Column("trader_id", sa.String(length=35), nullable=False),
        sa.PrimaryKeyConstraint("trader_id", name=op.f("pk_approved_traders")),
    )
    op.create_table(
        "watch_positions",
        sa.Column("watch", sa.String(length=63), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("update_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("watch", name=op.f("pk_watch_positions")),
    )


def downgrade() -> None:
    op.drop_table("watch_positions")
    op.drop_table("approved_traders")
