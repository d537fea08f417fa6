"""The risk model: imported history, outcomes of assessed declarations, trainings, versions

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


def upgrade() -> None:
    with op.batch_alter_table("assessments") as batch:
        batch.add_column(sa.Column("risk_model", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("risk_model_score", sa.Double(), nullable=True))
        batch.create_index(
            "ix_assessments_risk_model_lodgement_time", ["risk_model", "lodgement_time"]
        )
    op.create_table(
        "history_declarations",
        sa.Column("declaration_number", sa.String(length=35), nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("lodgement_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("declaration", sa.LargeBinary(), nullable=False),
        sa.Column("examined", sa.Boolean(), nullable=False),
        sa.Column("infringement_found", sa.Boolean(), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("revenue_found", sa.Double(), nullable=True),
        sa.Column("randomly_selected", sa.Boolean(), nullable=True),
        sa.Column("import_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "declaration_number", "version", name=op.f("pk_history_declarations")
        ),
    )
    op.create_index(
        "ix_history_declarations_lodgement_time", "history_declarations", ["lodgement_time"]
    )
    op.create_table(
        "declaration_outcomes",
        sa.Column("assessment_id", sa.String(length=63), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("infringement_found", sa.Boolean(), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("revenue_found", sa.Double(), nullable=True),
        sa.Column("randomly_selected", sa.Boolean(), nullable=False),
        sa.Column("outcome_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("assessment_id", "source", name=op.f("pk_declaration_outcomes")),
    )
    op.create_table(
        "risk_model_trainings",
        sa.Column("id", sa.String(length=63), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("progress_percent", sa.Double(), nullable=False),
        sa.Column("stage", sa.String(length=200), nullable=False),
        sa.Column("risk_model", sa.String(length=80), nullable=True),
        sa.Column("error_reason", sa.String(length=63), nullable=False),
        sa.Column("error_message", sa.String(length=2000), nullable=False),
        sa.Column("trainer", sa.String(length=255), nullable=False),
        sa.Column("validation_months", sa.Integer(), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_time", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_model_trainings")),
    )
    op.create_index("ix_risk_model_trainings_state", "risk_model_trainings", ["state"])
    op.create_table(
        "risk_model_versions",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("artifact", sa.LargeBinary(), nullable=False),
        sa.Column("card", sa.LargeBinary(), nullable=False),
        sa.Column("trainer", sa.String(length=255), nullable=False),
        sa.Column("training_id", sa.String(length=63), nullable=False),
        sa.Column("create_time", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_risk_model_versions")),
        sa.UniqueConstraint("sequence", name=op.f("uq_risk_model_versions_sequence")),
    )


def downgrade() -> None:
    op.drop_table("risk_model_versions")
    op.drop_index("ix_risk_model_trainings_state", table_name="risk_model_trainings")
    op.drop_table("risk_model_trainings")
    op.drop_table("declaration_outcomes")
    op.drop_index("ix_history_declarations_lodgement_time", table_name="history_declarations")
    op.drop_table("history_declarations")
    with op.batch_alter_table("assessments") as batch:
        batch.drop_index("ix_assessments_risk_model_lodgement_time")
        batch.drop_column("risk_model_score")
        batch.drop_column("risk_model")
