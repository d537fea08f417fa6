"""The assessments of a window with their outcomes, as the disparity monitor counts them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from scoring.adapters.codec import assessment_from_record
from scoring.adapters.orm import AssessmentRow, DeclarationOutcomeRow
from scoring.domain.disparity import Observation, observation_selectors
from scoring.domain.rules import Channel

_SELECTED = (Channel.YELLOW, Channel.RED)


async def observations_lodged(
    session: AsyncSession,
    lodged_from: datetime,
    lodged_before: datetime,
    risk_model_threshold: float,
) -> list[Observation]:
    """The latest version of every declaration lodged in the window, with its outcome.

    The latest version is the one whose decision stands; a re-lodged version
    is counted once. ``risk_model_threshold`` 0 leaves the risk model out.
    """
    outcomes = (
        select(
            DeclarationOutcomeRow.assessment_id,
            func.max(cast(DeclarationOutcomeRow.infringement_found, Integer)).label("found"),
            func.max(cast(DeclarationOutcomeRow.randomly_selected, Integer)).label("random"),
        )
        .group_by(DeclarationOutcomeRow.assessment_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            AssessmentRow.id,
            AssessmentRow.declaration_number,
            AssessmentRow.declaration,
            AssessmentRow.decision,
            AssessmentRow.risk_model_score,
            outcomes.c.found,
            outcomes.c.random,
        )
        .outerjoin(outcomes, outcomes.c.assessment_id == AssessmentRow.id)
        .where(
            AssessmentRow.lodgement_time >= lodged_from,
            AssessmentRow.lodgement_time < lodged_before,
        )
        .order_by(AssessmentRow.declaration_number, AssessmentRow.version.desc())
    )
    observations: list[Observation] = []
    previous: str | None = None
    for assessment_id, number, content, record, score, found, random in rows:
        if number == previous:
            continue
        previous = number
        assessment = assessment_from_record(assessment_id, content, record)
        decision = assessment.decision
        observations.append(
            Observation(
                declaration=assessment.declaration,
                approved_trader=decision.importer_approved_trader,
                selected_by=observation_selectors(
                    {hit.criterion for hit in decision.selected_hits},
                    channel_selected=decision.channel in _SELECTED,
                    risk_model_selected=(
                        risk_model_threshold > 0
                        and score is not None
                        and score >= risk_model_threshold
                    ),
                ),
                infringement=None if found is None else bool(found),
                random_examined=bool(random),
            )
        )
    return observations
