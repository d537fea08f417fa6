"""Idempotency keys are scoped to the caller as well as the method

A request id is chosen by the client, so another caller sending the same id
must get a result of its own, not the first caller's stored response. Keys
stored before this revision belong to no caller (``""``): they answer no
retry afterwards and expire with the retention window.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from collections.abc import Sequence

from customs_kit.kit_schema import scope_idempotency_keys_to_callers, unscope_idempotency_keys

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    scope_idempotency_keys_to_callers()


def downgrade() -> None:
    unscope_idempotency_keys()
