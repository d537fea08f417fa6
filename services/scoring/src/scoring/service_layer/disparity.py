"""The disparity report of a window: where the decisions and their outcomes are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from customs_kit.db import Database
from scoring.adapters.disparity import observations_lodged
from scoring.domain.disparity import DisparityReport, monitor
from scoring.service_layer.rules import RulesHolder


@dataclass(frozen=True)
class GetDisparityReport:
    """The report over declarations lodged in ``[lodged_from, lodged_before)``."""

    lodged_from: datetime
    lodged_before: datetime
    #: The score at or above which the risk model counts as selecting; 0 leaves it out.
    risk_model_threshold: float


async def disparity_report(
    query: GetDisparityReport, *, database: Database, rules: RulesHolder
) -> DisparityReport:
    """Every active criterion (and every one that selected in the window), the model, the whole."""
    async with database.unit_of_work(read_only=True) as uow:
        observations = await observations_lodged(
            uow.session, query.lodged_from, query.lodged_before, query.risk_model_threshold
        )
    snapshot = rules.snapshot
    active = snapshot.criteria.keys() if snapshot is not None else ()
    return monitor(observations, selectors=active)
