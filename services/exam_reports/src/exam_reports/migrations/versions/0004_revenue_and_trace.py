"""The revenue an examination found, and the trace context each examination continues.

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
    with op.batch_alter_table("exam_reports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revenue_currency", sa.String(length=3), nullable=True))
        batch_op.add_column(sa.Column("revenue_units", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("revenue_nanos", sa.Integer(), nullable=True))
    with op.batch_alter_table("examinations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("traceparent", sa.String(length=55), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("examinations", schema=None) as batch_op:
        batch_op.drop_column("traceparent")
    with op.batch_alter_table("exam_reports", schema=None) as batch_op:
        batch_op.drop_column("revenue_nanos")
        batch_op.drop_column("revenue_units")
        batch_op.drop_column("revenue_currency")
