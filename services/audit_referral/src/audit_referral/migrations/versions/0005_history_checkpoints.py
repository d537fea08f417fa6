"""Signed checkpoints of other services' histories, append-only

Criteria and exam_reports sign the head of their hash-chained histories and
send it here, outside their own databases, so that a rewrite of a chain by
whoever can write its database is caught. The database itself refuses to
change or remove a kept checkpoint.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from customs_kit.kit_schema import drop_append_only_table, make_append_only

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "history_checkpoints",
        sa.Column("source", sa.String(length=63), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("head_hash", sa.String(length=64), nullable=False),
        sa.Column("sign_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("record_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", "sequence", name="pk_history_checkpoints"),
    )
    make_append_only("history_checkpoints")


def downgrade() -> None:
    drop_append_only_table("history_checkpoints")
