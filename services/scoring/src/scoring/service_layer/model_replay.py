"""Replaying a model version over stored assessments, and measuring the one that scored them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from customs_kit.db import Database
from scoring.adapters.risk_models import decisions_lodged, scored_with
from scoring.domain.model_replay import ModelPerformance, ModelReplay, measure
from scoring.service_layer.risk_scoring import RiskModelHolder
from scoring.service_layer.training import get_model_version

#: Declarations scored together in one pass over the trees.
_SCORE_BATCH = 2_000


@dataclass(frozen=True)
class SimulateModel:
    """Replay ``risk_model`` at ``threshold`` over the window, selections sent to ``channel``."""

    risk_model: str
    threshold: float
    channel: str
    lodged_from: datetime
    lodged_before: datetime


async def simulate_model(
    command: SimulateModel, *, database: Database, risk_models: RiskModelHolder
) -> ModelReplay:
    """The replay; raises ``NotFound`` for an unknown version."""
    version = await get_model_version(command.risk_model, database=database)
    model = await risk_models.version(database, version.name, version.digest)
    async with database.unit_of_work(read_only=True) as uow:
        decisions = await decisions_lodged(uow.session, command.lodged_from, command.lodged_before)
    replay = ModelReplay()
    for start in range(0, len(decisions), _SCORE_BATCH):
        batch = decisions[start : start + _SCORE_BATCH]
        scores = model.score_many([decision.declaration for decision in batch])
        for decision, score in zip(batch, scores, strict=True):
            declaration = decision.declaration
            replay.add(
                declaration.office_code,
                declaration.lodgement_time.date().isoformat(),
                decision.channel,
                score,
                command.threshold,
                command.channel,
            )
    return replay


async def model_performance(
    risk_model: str,
    threshold: float,
    lodged_from: datetime,
    lodged_before: datetime,
    *,
    database: Database,
) -> ModelPerformance:
    """The version's precision on the random arm and its drift; raises ``NotFound``."""
    version = await get_model_version(risk_model, database=database)
    async with database.unit_of_work(read_only=True) as uow:
        scored = await scored_with(uow.session, risk_model, lodged_from, lodged_before)
    return measure(
        version.card,
        threshold,
        [row.score for row in scored],
        [(row.score, row.infringement) for row in scored if row.randomly_examined],
    )
