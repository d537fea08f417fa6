"""Idempotency keys are scoped to the caller as well as the method

A request id is chosen by the client, so another caller sending the same id
must get a result of its own, not the first caller's stored response. Keys
stored before this revision belong to no caller (``""``): they answer no
retry afterwards and expire with the retention window.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: SQLite rebuilds the table to change its primary key.
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(
            sa.Column("caller", sa.String(length=255), nullable=False, server_default="")
        )
        batch.drop_constraint("pk_idempotency_keys", type_="primary")
        batch.create_primary_key("pk_idempotency_keys", ["method", "caller", "request_id"])
        batch.alter_column("caller", server_default=None)


def downgrade() -> None:
    # Keys of different callers under one (method, request_id) cannot all stay.
    op.execute("DELETE FROM idempotency_keys WHERE caller <> ''")
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_constraint("pk_idempotency_keys", type_="primary")
        batch.create_primary_key("pk_idempotency_keys", ["method", "request_id"])
        batch.drop_column("caller")
