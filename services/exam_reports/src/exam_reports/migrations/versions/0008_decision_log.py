"""The hash-chained, append-only log of override decisions and report approvals

Every override approved or rejected and every report approved is a link of a
hash chain whose head is signed and kept by audit_referral, so that whoever
can write this database can neither edit a decision nor rewrite the log
unseen. The database itself refuses to change or remove an entry.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from customs_kit.kit_schema import drop_append_only_table, make_append_only

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "decision_log",
        sa.Column("sequence", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("resource", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("decide_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("previous_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("sequence", name=op.f("pk_decision_log")),
    )
    make_append_only("decision_log")


def downgrade() -> None:
    drop_append_only_table("decision_log")
