"""The stored decisions a batch of new lodgements may be re-lodgements of."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from customs.scoring.v1 import assessment_pb2
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from scoring.adapters.codec import level_from_proto
from scoring.adapters.orm import AssessmentRow
from scoring.domain.consignments import PriorDecision, consignment_key
from scoring.domain.declaration import Declaration
from scoring.domain.rules import Channel


async def prior_decisions(
    session: AsyncSession, declarations: Sequence[Declaration], window: timedelta
) -> list[PriorDecision]:
    """Decisions on the same declaration numbers or consignments, lodged in the window.

    One query for the batch, on the consignment and declaration-number indexes;
    the caller tells which are re-lodgements of which declaration.
    """
    if not declarations:
        return []
    numbers = {declaration.declaration_number for declaration in declarations}
    consignments = {consignment_key(declaration) for declaration in declarations}
    earliest = min(declaration.lodgement_time for declaration in declarations) - window
    rows = await session.execute(
        select(
            AssessmentRow.id,
            AssessmentRow.declaration_number,
            AssessmentRow.version,
            AssessmentRow.consignment,
            AssessmentRow.declarant_id,
            AssessmentRow.importer_id,
            AssessmentRow.lodgement_time,
            AssessmentRow.channel,
            AssessmentRow.decision,
        ).where(
            or_(
                AssessmentRow.declaration_number.in_(numbers),
                AssessmentRow.consignment.in_(consignments),
            ),
            AssessmentRow.lodgement_time >= earliest,
        )
    )
    return [
        PriorDecision(
            assessment=f"assessments/{row.id}",
            declaration_number=row.declaration_number,
            version=row.version,
            consignment=row.consignment or f"declaration:{row.declaration_number}",
            declarant_id=row.declarant_id or "",
            importer_id=row.importer_id,
            lodgement_time=row.lodgement_time,
            channel=Channel(row.channel),
            examination_level=level_from_proto(
                assessment_pb2.Assessment.FromString(row.decision).examination_level
            ),
        )
        for row in rows
    ]
