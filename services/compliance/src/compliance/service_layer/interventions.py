"""Reading informed-compliance interventions."""

from __future__ import annotations

from datetime import datetime

from compliance.adapters.repositories import InterventionFilter, InterventionRepository
from compliance.domain.interventions import INTERVENTION_NAME_PREFIX, ComplianceIntervention
from compliance.service_layer.paging import Page, page_of, page_request, stale_token
from customs_kit.db import Database
from customs_kit.errors import NotFound
from customs_kit.pagination import PageTokens

INTERVENTION = "compliance intervention"


async def get_intervention(database: Database, intervention_id: str) -> ComplianceIntervention:
    """One intervention; raises ``NotFound`` if there is none."""
    async with database.unit_of_work() as uow:
        found = await InterventionRepository(uow.session).get(intervention_id)
    if found is None:
        raise NotFound(INTERVENTION, f"{INTERVENTION_NAME_PREFIX}{intervention_id}")
    return found


async def list_interventions(
    database: Database,
    tokens: PageTokens,
    where: InterventionFilter,
    page_size: int,
    page_token: str,
) -> Page[ComplianceIntervention]:
    """One page of interventions matching ``where``, newest first."""
    request = page_request(
        tokens,
        "complianceInterventions",
        {"trader": where.trader_id, "states": sorted(where.states), "role": where.trader_role},
        page_size,
        page_token,
    )
    after = None
    if request.after is not None:
        try:
            time, intervention_id = request.after
            after = (datetime.fromisoformat(str(time)), str(intervention_id))
        except (ValueError, TypeError):
            raise stale_token() from None
    async with database.unit_of_work() as uow:
        rows = await InterventionRepository(uow.session).find(where, after, request.size + 1)
    return page_of(
        tokens, request, rows, lambda found: [found.create_time.isoformat(), found.intervention_id]
    )
