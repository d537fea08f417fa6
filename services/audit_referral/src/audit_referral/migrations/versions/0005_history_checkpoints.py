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

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_POSTGRESQL_APPEND_ONLY = (
    """
    CREATE FUNCTION history_checkpoints_append_only() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION 'history_checkpoints is append-only';
    END;
    $$ LANGUAGE plpgsql
    """,
    """
    CREATE TRIGGER history_checkpoints_append_only
    BEFORE UPDATE OR DELETE ON history_checkpoints
    FOR EACH ROW EXECUTE FUNCTION history_checkpoints_append_only()
    """,
)
_SQLITE_APPEND_ONLY = tuple(
    f"""
    CREATE TRIGGER history_checkpoints_no_{action.lower()}
    BEFORE {action} ON history_checkpoints
    BEGIN SELECT RAISE(ABORT, 'history_checkpoints is append-only'); END
    """
    for action in ("UPDATE", "DELETE")
)


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
    dialect = op.get_bind().dialect.name
    for statement in _POSTGRESQL_APPEND_ONLY if dialect == "postgresql" else _SQLITE_APPEND_ONLY:
        op.execute(statement)


def downgrade() -> None:
    op.drop_table("history_checkpoints")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION history_checkpoints_append_only()")
