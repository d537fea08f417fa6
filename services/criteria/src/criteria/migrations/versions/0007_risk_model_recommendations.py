"""Recommendations about the active risk model, not only about criteria

A proposal to retrain the risk model concerns a model version, not a
criterion: its criterion is null and ``risk_model`` names the version.
Recommendations stored before this revision are all about a criterion.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("recommendations") as batch:
        batch.alter_column("criterion_id", existing_type=sa.String(length=63), nullable=True)
        batch.add_column(
            sa.Column("risk_model", sa.String(length=80), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("recommendations") as batch:
        batch.drop_column("risk_model")
        batch.alter_column("criterion_id", existing_type=sa.String(length=63), nullable=False)
