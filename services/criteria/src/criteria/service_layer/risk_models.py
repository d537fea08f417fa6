"""Risk model governance: drafted from scoring's event, submitted, approved, rolled back.

Every change takes the history lock and is recorded in the same hash chain
as the criteria; an activation or rollback appends the active version to the
change feed that WatchActiveCriteria streams to scoring, in the same
transaction, so scoring receives exactly the committed state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from criteria.adapters.risk_models import RiskModelRepository
from criteria.domain import risk_models
from criteria.domain.history import ChangeKind
from criteria.domain.model import Actor
from criteria.domain.risk_models import RiskModel, RiskModelPerformance, RiskModelState
from criteria.service_layer.handlers import (
    RISK_MODEL_FEED,
    RISK_MODEL_FEED_KEY,
    Page,
    Store,
    checkpoint_history,
    record_change,
)
from criteria.service_layer.ports import Encoder, RiskModelSources
from customs_kit.anchoring import HistoryAnchor
from customs_kit.db import Database, utcnow
from customs_kit.errors import FailedPrecondition, NotFound
from customs_kit.inbox import apply_once
from customs_kit.pagination import PageTokens, clamp_page_size
from customs_kit.uow import UnitOfWork

_log = structlog.get_logger(__name__)

_DEFAULT_LOOKBACK_DAYS = 30
_MAX_PAGE = 1000


@dataclass(frozen=True)
class TrainedVersion:
    """A version scoring reports as trained."""

    event_id: str
    source_service: str
    name: str
    digest: str
    trainer: str
    card: bytes
    occur_time: datetime


async def _load(store: Store, name: str, etag: str = "") -> RiskModel:
    await store.repository.lock_history()
    model = await RiskModelRepository(store.uow.session).get(name)
    if model is None:
        raise NotFound("risk model", name)
    risk_models.check_etag(model, etag)
    return model


async def _record(
    store: Store,
    before: RiskModel | None,
    after: RiskModel,
    kind: ChangeKind,
    actor: Actor,
    reason: str,
) -> None:
    await record_change(
        store,
        after.name,
        after.version,
        kind,
        after.update_time,
        actor,
        reason,
        before.fields() if before else {},
        after.fields(),
    )
    await RiskModelRepository(store.uow.session).save(after)


async def _publish(store: Store, active: RiskModel | None) -> None:
    await store.uow.changes.append(
        RISK_MODEL_FEED,
        RISK_MODEL_FEED_KEY,
        store.encoder.active_risk_model(
            active.name if active else "", active.digest if active else ""
        ),
    )


async def ingest_trained(database: Database, encoder: Encoder, trained: TrainedVersion) -> bool:
    """Drafts a version scoring trained; returns False for a redelivered event."""

    async def apply(uow: UnitOfWork) -> None:
        store = Store(uow, encoder)
        await store.repository.lock_history()
        if await RiskModelRepository(store.uow.session).get(trained.name) is not None:
            return
        now = utcnow()
        draft = RiskModel(
            name=trained.name,
            state=RiskModelState.DRAFT,
            digest=trained.digest,
            trainer=trained.trainer,
            card=trained.card,
            create_time=now,
            update_time=now,
        )
        # The trainer is the author: recorded as such, so four eyes can exclude them.
        author = Actor(trained.trainer, ())
        await _record(store, None, draft, ChangeKind.CREATED, author, "trained by scoring")
        _log.info("risk_model_drafted", risk_model=trained.name, trainer=trained.trainer)

    return await apply_once(database, trained.event_id, trained.source_service, apply)


async def get_risk_model(database: Database, name: str) -> RiskModel:
    """The version; raises ``NotFound``."""
    async with database.unit_of_work() as uow:
        model = await RiskModelRepository(uow.session).get(name)
    if model is None:
        raise NotFound("risk model", name)
    return model


@dataclass(frozen=True)
class SubmitRiskModel:
    """Submit a DRAFT version at a threshold, impact-analysed over the last days."""

    name: str
    etag: str
    threshold: float
    lookback_days: int
    reason: str
    actor: Actor


async def submit_risk_model(
    database: Database, encoder: Encoder, sources: RiskModelSources, command: SubmitRiskModel
) -> RiskModel:
    """Runs the impact analysis (scoring's replay), then submits the version with it."""
    await get_risk_model(database, command.name)
    end = utcnow()
    start = end - timedelta(days=command.lookback_days or _DEFAULT_LOOKBACK_DAYS)
    impact = await sources.impact(command.name, command.threshold, start, end)
    async with database.unit_of_work() as uow:
        store = Store(uow, encoder)
        model = await _load(store, command.name, command.etag)
        submitted = risk_models.submit(model, command.actor, command.threshold, impact, utcnow())
        await _record(store, model, submitted, ChangeKind.SUBMITTED, command.actor, command.reason)
        await uow.commit()
    return submitted


@dataclass(frozen=True)
class DecideRiskModel:
    """Approve or reject a version, with a reason."""

    name: str
    etag: str
    reason: str
    actor: Actor


async def approve_risk_model(
    database: Database,
    encoder: Encoder,
    command: DecideRiskModel,
    *,
    anchor: HistoryAnchor | None = None,
) -> RiskModel:
    """Activates the version (by a second person); the active one is superseded."""
    async with database.unit_of_work() as uow:
        store = Store(uow, encoder, anchor)
        model = await _load(store, command.name, command.etag)
        active = await RiskModelRepository(uow.session).active()
        activated, superseded = risk_models.approve(model, command.actor, active, utcnow())
        if active is not None and superseded is not None:
            await _record(
                store,
                active,
                superseded,
                ChangeKind.SUSPENDED,
                command.actor,
                f"superseded by {activated.name}",
            )
        await _record(store, model, activated, ChangeKind.APPROVED, command.actor, command.reason)
        await _publish(store, activated)
        await checkpoint_history(store)
        await uow.commit()
    _log.info("risk_model_activated", risk_model=activated.name, approver=command.actor.subject)
    return activated


async def reject_risk_model(
    database: Database, encoder: Encoder, command: DecideRiskModel
) -> RiskModel:
    """Rejects a submitted version for good."""
    async with database.unit_of_work() as uow:
        store = Store(uow, encoder)
        model = await _load(store, command.name, command.etag)
        rejected = risk_models.reject(model, command.actor, utcnow())
        await _record(store, model, rejected, ChangeKind.REJECTED, command.actor, command.reason)
        await uow.commit()
    return rejected


async def rollback_risk_model(
    database: Database, encoder: Encoder, actor: Actor, reason: str
) -> tuple[RiskModel, RiskModel]:
    """Retires the active version and activates the one it superseded, in one transaction."""
    async with database.unit_of_work() as uow:
        store = Store(uow, encoder)
        await store.repository.lock_history()
        repository = RiskModelRepository(uow.session)
        active = await repository.active()
        previous = await repository.get(active.previous) if active and active.previous else None
        retired, restored = risk_models.rollback(active, previous, utcnow())
        if active is None or previous is None:
            raise RuntimeError("rollback returned without its two versions")
        await _record(store, active, retired, ChangeKind.RETIRED, actor, reason)
        await _record(store, previous, restored, ChangeKind.REACTIVATED, actor, reason)
        await _publish(store, restored)
        await uow.commit()
    _log.info("risk_model_rolled_back", retired=retired.name, active=restored.name)
    return retired, restored


async def risk_model_performance(
    database: Database, sources: RiskModelSources, name: str, start: datetime, end: datetime
) -> tuple[RiskModel, RiskModelPerformance]:
    """The ACTIVE (or named) version measured by scoring over the period."""
    if name:
        model = await get_risk_model(database, name)
    else:
        async with database.unit_of_work() as uow:
            active = await RiskModelRepository(uow.session).active()
        if active is None:
            raise FailedPrecondition("NO_ACTIVE_RISK_MODEL", "no risk model version is active")
        model = active
    return model, await sources.performance(model.name, model.score_threshold, start, end)


async def list_risk_models(
    database: Database,
    tokens: PageTokens,
    state: RiskModelState | None,
    page_size: int,
    page_token: str,
) -> Page[RiskModel]:
    """Versions newest first; raises ``InvalidArgument`` on a token of another filter."""
    limit = clamp_page_size(page_size, default=50, maximum=_MAX_PAGE)
    filters = {"state": state.value if state else ""}
    position = tokens.decode(page_token, query=filters)
    after = (position["create_time"], position["name"]) if position else None
    async with database.unit_of_work() as uow:
        found = await RiskModelRepository(uow.session).page(state, after, limit + 1)
    if len(found) <= limit:
        return Page(found, "")
    last = found[limit - 1]
    return Page(
        found[:limit],
        tokens.encode(
            {"create_time": last.create_time.isoformat(), "name": last.name}, query=filters
        ),
    )
