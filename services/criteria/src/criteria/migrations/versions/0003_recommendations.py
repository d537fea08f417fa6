"""Recommendations from criterion performance

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recommendations",
        sa.Column("id", sa.String(length=63), nullable=False),
        sa.Column("criterion_id", sa.String(length=63), nullable=False),
        sa.Column("criterion_revision", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("state", sa.String(length=48), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("trader_id", sa.String(length=35), nullable=False),
        sa.Column("consecutive_negative_results", sa.Integer(), nullable=False),
        sa.Column("discrepancies", sa.Integer(), nullable=False),
        sa.Column("declaration_numbers", sa.Text(), nullable=False),
        sa.Column("suggested_selection_percent", sa.Double(), nullable=True),
        sa.Column("suggested_treatment", sa.LargeBinary(), nullable=True),
        sa.Column("decided_by", sa.String(length=128), nullable=False),
        sa.Column("decision_reason", sa.Text(), nullable=False),
        sa.Column("decide_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resulting_criterion_revision", sa.BigInteger(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["criterion_id"],
            ["criteria.id"],
            name=op.f("fk_recommendations_criterion_id_criteria"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recommendations")),
    )
    op.create_index(
        "ix_recommendations_create_time",
        "recommendations",
        ["create_time", "id"],
        unique=False,
    )
    op.create_index(
        "ix_recommendations_criterion_state",
        "recommendations",
        ["criterion_id", "state", "kind"],
        unique=False,
    )
    # The performance figures read a criterion's examinations by time, and the
    # trader rule a criterion's examinations of one importer.
    op.create_index(
        "ix_examination_outcomes_examine_time",
        "examination_outcomes",
        ["examine_time"],
        unique=False,
    )
    op.create_index(
        "ix_examination_outcomes_importer_id",
        "examination_outcomes",
        ["importer_id"],
        unique=False,
    )
    op.create_index(
        "ix_history_entries_change_time",
        "history_entries",
        ["change_time"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_history_entries_change_time", table_name="history_entries")
    op.drop_index("ix_examination_outcomes_importer_id", table_name="examination_outcomes")
    op.drop_index("ix_examination_outcomes_examine_time", table_name="examination_outcomes")
    op.drop_index("ix_recommendations_criterion_state", table_name="recommendations")
    op.drop_index("ix_recommendations_create_time", table_name="recommendations")
    op.drop_table("recommendations")
