"""Sampling plans: computed once from the declarations of a base period, then read."""

from __future__ import annotations

import uuid
from datetime import datetime

import structlog

from compliance.adapters.repositories import (
    MeasurementRepository,
    RecordRepository,
    SamplingPlanRepository,
    StatisticsScope,
)
from compliance.domain.sampling import (
    SamplingParameters,
    SamplingPlan,
    plan_sampling,
    sampling_plan_name,
)
from compliance.service_layer.paging import Page, page_of, page_request, time_position
from customs_kit.db import Database
from customs_kit.errors import NotFound
from customs_kit.pagination import PageTokens
from customs_kit.uow import UnitOfWork

_log = structlog.get_logger(__name__)

SAMPLING_PLAN = "sampling plan"


async def create_plan(
    uow: UnitOfWork, parameters: SamplingParameters, creator: str, now: datetime
) -> SamplingPlan:
    """Computes and stores a plan (inside the caller's idempotent unit of work).

    The strata sizes are the current declarations of the base period; each
    stratum's expected rate is its rate in the newest measurement by the same
    dimension that measured it. Raises ``FailedPrecondition``
    (``EMPTY_POPULATION``) if the base period has no declarations.
    """
    populations = await RecordRepository(uow.session).stratum_sizes(
        StatisticsScope(parameters.base_period), parameters.dimension
    )
    rates = await MeasurementRepository(uow.session).latest_rates(parameters.dimension)
    plan = plan_sampling(uuid.uuid4().hex, parameters, populations, rates, creator, now)
    await SamplingPlanRepository(uow.session).add(plan)
    _log.info(
        "sampling_plan_created",
        sampling_plan=plan.name,
        dimension=parameters.dimension.value,
        strata=len(plan.allocation.strata),
        planned_sample_size=plan.allocation.planned_sample_size,
        expected_margin_of_error=plan.allocation.expected_margin_of_error,
    )
    return plan


async def get_plan(database: Database, plan_id: str) -> SamplingPlan:
    """One plan; raises ``NotFound`` if there is none."""
    async with database.unit_of_work(read_only=True) as uow:
        found = await SamplingPlanRepository(uow.session).get(plan_id)
    if found is None:
        raise NotFound(SAMPLING_PLAN, sampling_plan_name(plan_id))
    return found


async def list_plans(
    database: Database, tokens: PageTokens, page_size: int, page_token: str
) -> Page[SamplingPlan]:
    """One page of plans, newest first."""
    request = page_request(tokens, "samplingPlans", {}, page_size, page_token)
    async with database.unit_of_work(read_only=True) as uow:
        rows = await SamplingPlanRepository(uow.session).find(
            time_position(request.after), request.size + 1
        )
    return page_of(tokens, request, rows, lambda plan: [plan.create_time.isoformat(), plan.plan_id])
