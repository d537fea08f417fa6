"""Examination outcomes keep when the goods were examined

A tablet working offline syncs its reports later; periods must count an
examination when it was carried out, not when its report was approved. Rows
stored before this revision take their approval time, the best they know.

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
    op.add_column(
        "examination_outcomes",
        sa.Column("examine_time", sa.DateTime(timezone=True), nullable=True),
    )
    op.execute("UPDATE examination_outcomes SET examine_time = approve_time")
    with op.batch_alter_table("examination_outcomes") as batch:
        batch.alter_column("examine_time", nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("examination_outcomes") as batch:
        batch.drop_column("examine_time")
