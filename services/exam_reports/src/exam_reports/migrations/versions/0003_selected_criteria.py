"""The criterion hits (criterion, revision, item) that selected each examination.

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
    # Examinations opened before scoring sent its hits have none to report;
    # the default only fills them, new rows always state their hits.
    with op.batch_alter_table("examinations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("selected_criteria", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("examinations", schema=None) as batch_op:
        batch_op.alter_column("selected_criteria", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("examinations", schema=None) as batch_op:
        batch_op.drop_column("selected_criteria")
