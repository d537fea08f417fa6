"""Assessments keep the consignment they cover, to find re-lodgements of it

A re-lodgement (a new version, or a new declaration for the same transport
document or container by the same declarant or importer) keeps the highest
channel decided on the consignment; finding the earlier decisions needs the
consignment as an indexed column. Assessments stored before have none: they
are found by declaration number only.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("assessments") as batch:
        batch.add_column(sa.Column("consignment", sa.String(length=120), nullable=True))
        batch.create_index(
            "ix_assessments_consignment_lodgement_time", ["consignment", "lodgement_time"]
        )


def downgrade() -> None:
    with op.batch_alter_table("assessments") as batch:
        batch.drop_index("ix_assessments_consignment_lodgement_time")
        batch.drop_column("consignment")
