"""Watching the active risk model: a recommendation to retrain when it stops performing.

A background task of the service measures the ACTIVE version over the last
``window`` (scoring's figures: precision on the random arm and score drift)
every ``interval`` and, when
:attr:`~criteria.domain.risk_models.RiskModelPerformance.retrain_recommended`
holds, opens a PENDING ``RECOMMENDATION_KIND_RETRAIN_RISK_MODEL`` for it,
once while it is pending. It then appears where the committee looks: the
recommendation queue and the oversight report's pending recommendations.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import structlog

from criteria.adapters.repositories import PerformanceRepository
from criteria.adapters.risk_models import RiskModelRepository
from criteria.domain.recommendations import Recommendation, retrain_recommendation
from criteria.service_layer.ports import RiskModelSources
from customs_kit.background import StoppableLoop
from customs_kit.db import Database, utcnow, wait_for_signal
from customs_kit.errors import Unavailable

_log = structlog.get_logger(__name__)


async def check_active_risk_model(
    database: Database, sources: RiskModelSources, window: timedelta
) -> Recommendation | None:
    """Opens a retrain recommendation for the active version if it calls for one.

    Returns the recommendation opened, or ``None`` (no active version, it
    performs, or one is already pending).
    """
    async with database.unit_of_work(read_only=True) as uow:
        active = await RiskModelRepository(uow.session).active()
    if active is None:
        return None
    now = utcnow()
    performance = await sources.performance(active.name, active.score_threshold, now - window, now)
    proposal = retrain_recommendation(str(uuid.uuid4()), active.name, performance, window, now)
    if proposal is None:
        return None
    async with database.unit_of_work() as uow:
        results = PerformanceRepository(uow.session)
        if await results.retrain_pending(active.name):
            return None
        await results.add_recommendation(proposal)
        await uow.commit()
    _log.info(
        "risk_model_retrain_recommended",
        recommendation=proposal.name,
        risk_model=active.name,
        rationale=proposal.rationale,
    )
    return proposal


class RiskModelMonitor(StoppableLoop):
    """Runs :func:`check_active_risk_model` every ``interval`` seconds."""

    def __init__(
        self,
        database: Database,
        sources: RiskModelSources,
        *,
        interval: float,
        window: timedelta,
    ) -> None:
        super().__init__("criteria-risk-model-monitor")
        self._database = database
        self._sources = sources
        self._interval = interval
        self._window = window

    async def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                await check_active_risk_model(self._database, self._sources, self._window)
            except Unavailable as error:
                # Scoring is down or busy: measured again at the next interval.
                _log.warning("risk_model_check_unavailable", error=error.message)
            except Exception:
                _log.exception("risk_model_check_failed")
            await wait_for_signal(self.stopping, self._interval)
