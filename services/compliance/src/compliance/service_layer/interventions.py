"""Informed-compliance interventions: opened, met, closed or cancelled.

Every change runs inside the caller's idempotent unit of work, so a retried
request (or a request relayed again from another service's outbox) returns
the first response instead of opening a second intervention.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from compliance.adapters.repositories import (
    InterventionFilter,
    InterventionRepository,
    OutcomeRepository,
    TraderRepository,
)
from compliance.domain.intervention_effects import (
    EffectVerdict,
    ExaminedDeclaration,
    InterventionEffect,
    KindEffect,
    measure_effect,
    pooled_by_kind,
)
from compliance.domain.interventions import (
    ComplianceIntervention,
    InterventionMeeting,
    InterventionOutcome,
    InterventionRequest,
    checked_meeting,
    intervention_name,
    open_intervention,
)
from compliance.domain.traders import trader_name
from compliance.service_layer.paging import Page, page_of, page_request, time_position
from compliance.service_layer.traders import TRADER
from customs_kit.db import Database
from customs_kit.errors import NotFound
from customs_kit.pagination import PageTokens
from customs_kit.uow import UnitOfWork

_log = structlog.get_logger(__name__)

INTERVENTION = "compliance intervention"


async def create_intervention(
    uow: UnitOfWork, request: InterventionRequest, owner: str, now: datetime
) -> ComplianceIntervention:
    """Opens a PLANNED intervention; raises ``NotFound`` for an unknown trader."""
    if await TraderRepository(uow.session).get(request.trader_id) is None:
        raise NotFound(TRADER, trader_name(request.trader_id))
    intervention = open_intervention(uuid.uuid4().hex, request, owner, now)
    await InterventionRepository(uow.session).add(intervention, None)
    _log.info(
        "compliance_intervention_opened",
        compliance_intervention=intervention.name,
        trader=trader_name(request.trader_id),
        trigger=request.trigger.value,
        owner=owner,
    )
    return intervention


async def _current(uow: UnitOfWork, intervention_id: str, etag: str) -> ComplianceIntervention:
    """The intervention as the caller read it: ``NotFound`` if none, ``Aborted`` if stale."""
    intervention = await InterventionRepository(uow.session).get(intervention_id)
    if intervention is None:
        raise NotFound(INTERVENTION, intervention_name(intervention_id))
    intervention.check_etag(etag)
    return intervention


async def _stored(
    uow: UnitOfWork, before: ComplianceIntervention, after: ComplianceIntervention
) -> ComplianceIntervention:
    await InterventionRepository(uow.session).save(after)
    _log.info(
        "compliance_intervention_changed",
        compliance_intervention=after.name,
        trader=trader_name(after.trader_id),
        state=after.state.value,
        previous_state=before.state.value,
    )
    return after


async def record_meeting(
    uow: UnitOfWork, intervention_id: str, etag: str, meeting: InterventionMeeting, now: datetime
) -> ComplianceIntervention:
    """Records the meeting and its corrective plan; the intervention is followed up."""
    checked = checked_meeting(meeting, now)
    intervention = await _current(uow, intervention_id, etag)
    return await _stored(uow, intervention, intervention.record_meeting(checked, now))


async def close_intervention(
    uow: UnitOfWork,
    intervention_id: str,
    etag: str,
    outcome: InterventionOutcome,
    closing_note: str,
    now: datetime,
) -> ComplianceIntervention:
    """Closes a followed-up intervention with its outcome."""
    intervention = await _current(uow, intervention_id, etag)
    return await _stored(uow, intervention, intervention.close(outcome, closing_note, now))


async def cancel_intervention(
    uow: UnitOfWork, intervention_id: str, etag: str, reason: str, now: datetime
) -> ComplianceIntervention:
    """Cancels an intervention before its meeting."""
    intervention = await _current(uow, intervention_id, etag)
    return await _stored(uow, intervention, intervention.cancel(reason, now))


async def get_intervention(database: Database, intervention_id: str) -> ComplianceIntervention:
    """One intervention; raises ``NotFound`` if there is none."""
    async with database.unit_of_work(read_only=True) as uow:
        found = await InterventionRepository(uow.session).get(intervention_id)
    if found is None:
        raise NotFound(INTERVENTION, intervention_name(intervention_id))
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
    async with database.unit_of_work(read_only=True) as uow:
        rows = await InterventionRepository(uow.session).find(
            where, time_position(request.after), request.size + 1
        )
    return page_of(
        tokens, request, rows, lambda found: [found.create_time.isoformat(), found.intervention_id]
    )


async def intervention_effect(
    database: Database, intervention_id: str, window: timedelta, now: datetime
) -> InterventionEffect:
    """The measured effect of one closed intervention (see ``intervention_effects``)."""
    async with database.unit_of_work() as uow:
        found = await InterventionRepository(uow.session).get(intervention_id)
        if found is None:
            raise NotFound(INTERVENTION, intervention_name(intervention_id))
        examinations = await _examinations_around(uow, found, window)
    return measure_effect(found, examinations, window=window, now=now)


@dataclass(frozen=True)
class EffectSummary:
    """The interventions closed in a period, measured and pooled by kind."""

    kinds: list[KindEffect]
    escalations: list[InterventionEffect]


async def summarize_intervention_effects(
    database: Database,
    closed_from: datetime | None,
    closed_until: datetime | None,
    window: timedelta,
    now: datetime,
) -> EffectSummary:
    """Every intervention closed in ``[closed_from, closed_until)``, measured and pooled."""
    async with database.unit_of_work() as uow:
        closed = await InterventionRepository(uow.session).closed(closed_from, closed_until)
        effects = [
            measure_effect(
                intervention,
                await _examinations_around(uow, intervention, window),
                window=window,
                now=now,
            )
            for intervention in closed
        ]
    escalations = sorted(
        (effect for effect in effects if effect.verdict is EffectVerdict.ESCALATE_TO_AUDIT),
        key=lambda effect: effect.pivot_time,
        reverse=True,
    )
    return EffectSummary(pooled_by_kind(effects), escalations)


async def _examinations_around(
    uow: UnitOfWork, intervention: ComplianceIntervention, window: timedelta
) -> list[ExaminedDeclaration]:
    if intervention.meeting is None:
        return []
    pivot = intervention.meeting.meeting_time
    return await OutcomeRepository(uow.session).examinations_of(
        intervention.trader_id, intervention.trader_role, pivot - window, pivot + window
    )
