"""Outbox dead letters and the resource each event belongs to

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from collections.abc import Sequence

from customs_kit.kit_schema import add_outbox_dead_letters, remove_outbox_dead_letters

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    add_outbox_dead_letters()


def downgrade() -> None:
    remove_outbox_dead_letters()
