"""Referrals keep the trace context of the event that opened them

The audit report's events continue the trace of the decision (or
examination) that referred the trader, so one declaration can be followed
from lodgement to audit finding. Referrals stored before this revision have
none: their reports start a trace of their own, as before.

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
    with op.batch_alter_table("referrals") as batch:
        batch.add_column(sa.Column("traceparent", sa.String(length=55), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("referrals") as batch:
        batch.drop_column("traceparent")
