"""The capacity downgrades of the decision behind each examination task.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Tasks opened before downgraded decisions were delivered had none; the
    # default only fills them, new rows always state their downgrades.
    with op.batch_alter_table("examinations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("capacity_downgrades", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("examinations", schema=None) as batch_op:
        batch_op.alter_column("capacity_downgrades", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("examinations", schema=None) as batch_op:
        batch_op.drop_column("capacity_downgrades")
