"""Outbox dead letters and the resource each event belongs to

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

_PENDING = "delivered_at IS NULL AND dead_lettered_at IS NULL"
_DEAD = "dead_lettered_at IS NOT NULL"


def upgrade() -> None:
    op.add_column(
        "outbox_events", sa.Column("dead_lettered_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("outbox_events", sa.Column("resource", sa.String(length=255), nullable=True))
    # The relay's scan leaves dead letters out, like delivered events.
    op.drop_index("ix_outbox_events_pending", table_name="outbox_events")
    op.create_index(
        "ix_outbox_events_pending",
        "outbox_events",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text(_PENDING),
        sqlite_where=sa.text(_PENDING),
    )
    op.create_index(
        "ix_outbox_events_dead_lettered",
        "outbox_events",
        ["id"],
        unique=False,
        postgresql_where=sa.text(_DEAD),
        sqlite_where=sa.text(_DEAD),
    )
    op.create_index("ix_outbox_events_resource", "outbox_events", ["resource"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_outbox_events_resource", table_name="outbox_events")
    op.drop_index("ix_outbox_events_dead_lettered", table_name="outbox_events")
    op.drop_index("ix_outbox_events_pending", table_name="outbox_events")
    op.create_index(
        "ix_outbox_events_pending",
        "outbox_events",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("delivered_at IS NULL"),
        sqlite_where=sa.text("delivered_at IS NULL"),
    )
    with op.batch_alter_table("outbox_events") as batch:
        batch.drop_column("resource")
        batch.drop_column("dead_lettered_at")
