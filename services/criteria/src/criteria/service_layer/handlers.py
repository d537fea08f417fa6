"""The use cases of the criteria service.

Write handlers take a :class:`Store` (one unit of work) and never commit: the
caller commits, so a request-id-keyed response is stored in the same
transaction as the effect. Each write takes the history lock first, records
its change in the hash chain, stores the new state and, when the active set
or a list changes, appends what scoring must learn to the change feed, all in
that one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

import structlog

from criteria.adapters.events import acceptance_requests
from criteria.adapters.repositories import (
    CriteriaFilter,
    PerformanceRepository,
    Repository,
    profile_rank,
)
from criteria.adapters.risk_models import RiskModelRepository
from criteria.domain import lifecycle
from criteria.domain.commands import (
    AnalyzeImpact,
    ApproveCriterion,
    CreateCriterion,
    CreateNamedList,
    CreateRiskProfile,
    DecideCriterion,
    DecideRecommendation,
    DeleteNamedList,
    SubmitCriterion,
    UpdateCriterion,
    UpdateNamedList,
    UpdateRiskProfile,
)
from criteria.domain.history import (
    ChangeDraft,
    ChangeKind,
    FieldChange,
    HistoryEntry,
    differences,
    link,
    resource_of,
)
from criteria.domain.impact import (
    ExaminationType,
    ImpactAnalysis,
    analyse,
    capacity_ranges,
    lookback_window,
)
from criteria.domain.lifecycle import Publication, Transition
from criteria.domain.model import (
    SYSTEM,
    Actor,
    Criterion,
    CriterionDraft,
    NamedList,
    NamedListKind,
    RiskProfile,
    new_named_list,
    new_risk_profile,
    revise_named_list,
    revise_risk_profile,
)
from criteria.domain.outcomes import AuditFinding, ExaminationOutcome, ReceivedEvent
from criteria.domain.oversight import (
    DisparitySection,
    OversightCriterion,
    OversightReport,
    analyst_activity,
    applied_during,
    approvals,
    standing,
)
from criteria.domain.performance import CriterionPerformance, measure
from criteria.domain.recommendations import (
    HANDED_OVER_KINDS,
    REVISING_KINDS,
    Recommendation,
    RecommendationKind,
    RecommendationPolicy,
    RecommendationState,
    check_overrides,
    check_pending,
    decide,
    negative_run_proposals,
    new_recommendation,
    trader_proposals,
)
from criteria.domain.validation import (
    check_criterion_draft,
    check_next_review_date,
    check_priority_setter,
    check_risk_profile_content,
)
from criteria.service_layer.ports import Encoder, ImpactSources, RiskModelSources
from customs_kit.anchoring import HistoryAnchor, verify_anchored
from customs_kit.checkpoints import AnchorCheck
from customs_kit.db import Database, utcnow
from customs_kit.errors import (
    AlreadyExists,
    FailedPrecondition,
    NotFound,
    PreconditionViolation,
    Unavailable,
)
from customs_kit.hash_chain import ChainVerifier, Verification
from customs_kit.inbox import apply_once
from customs_kit.pagination import PageTokens, clamp_page_size
from customs_kit.uow import UnitOfWork

_log = structlog.get_logger(__name__)

#: Change-feed kinds of the active set streamed to scoring.
CRITERION_FEED = "criterion"
NAMED_LIST_FEED = "named_list"
#: The active risk model version, under one key (there is one at a time).
RISK_MODEL_FEED = "risk_model"
RISK_MODEL_FEED_KEY = "active"

_MAX_PAGE = 1000
_REVISION_CHANGES = frozenset({ChangeKind.UPDATED, ChangeKind.APPROVED})
_T = TypeVar("_T")
_VERIFY_BATCH = 1000


class Store:
    """One unit of work of the criteria service: the transaction, its SQL, the encoder.

    ``anchor`` signs checkpoints of the history's head for audit_referral
    (None when no signing key is configured).
    """

    def __init__(
        self, uow: UnitOfWork, encoder: Encoder, anchor: HistoryAnchor | None = None
    ) -> None:
        self.uow = uow
        self.repository = Repository(uow.session)
        self.results = PerformanceRepository(uow.session)
        self.encoder = encoder
        self.anchor = anchor


@dataclass(frozen=True)
class Page(Generic[_T]):
    """One page of a list and the token of the next ("" on the last page)."""

    items: list[_T]
    next_page_token: str


def new_id() -> str:
    """A server-chosen resource id (32 hex digits, a valid id of the contract)."""
    return uuid.uuid4().hex


async def _record(
    store: Store,
    resource: str,
    resource_version: int,
    kind: ChangeKind,
    change_time: datetime,
    actor: Actor,
    reason: str,
    before: Mapping[str, str],
    after: Mapping[str, str],
    notes: tuple[FieldChange, ...] = (),
) -> HistoryEntry:
    """Appends the change from ``before`` to ``after`` to the chain (under the history lock)."""
    draft = ChangeDraft(
        resource=resource,
        kind=kind,
        actor=actor,
        change_time=change_time,
        reason=reason,
        field_changes=differences(before, after) + notes,
    )
    head = await store.repository.history_head()
    entry = link(draft, head, store.encoder.change_record)
    await store.repository.add_history(entry, resource_version)
    return entry


async def checkpoint_history(store: Store) -> None:
    """Signs the history's head and sends it to audit_referral, in this transaction.

    Called on every approval, so that the change that matters most is anchored
    outside this database the moment it commits.
    """
    if store.anchor is None:
        return
    head = await store.repository.history_head()
    if head is not None:
        store.anchor.publish(store.uow.outbox, head.sequence, head.hash)


async def record_change(
    store: Store,
    resource: str,
    resource_version: int,
    kind: ChangeKind,
    change_time: datetime,
    actor: Actor,
    reason: str,
    before: Mapping[str, str],
    after: Mapping[str, str],
) -> HistoryEntry:
    """Appends a change of any governed resource to the one hash-chained history."""
    return await _record(
        store, resource, resource_version, kind, change_time, actor, reason, before, after
    )


# -- risk profiles -----------------------------------------------------------


async def create_risk_profile(store: Store, command: CreateRiskProfile) -> RiskProfile:
    """Creates a risk profile; ALREADY_EXISTS if the id is taken."""
    check_risk_profile_content(command.content, command.actor, field="risk_profile")
    repository = store.repository
    await repository.lock_history()
    profile_id = command.profile_id or new_id()
    if await repository.get_risk_profile(profile_id) is not None:
        raise AlreadyExists("risk profile", f"riskProfiles/{profile_id}")
    profile = new_risk_profile(profile_id, command.content, utcnow())
    await _record(
        store,
        profile.name,
        profile.revision,
        ChangeKind.CREATED,
        profile.create_time,
        command.actor,
        "",
        {},
        store.encoder.risk_profile_fields(profile),
    )
    await repository.add_risk_profile(profile)
    return profile


async def update_risk_profile(store: Store, command: UpdateRiskProfile) -> RiskProfile:
    """Writes the profile's next revision and records the change.

    Only rmc may change the priority (leaving it as it is needs no role).
    """
    repository = store.repository
    await repository.lock_history()
    current = await repository.get_risk_profile(command.profile_id)
    if current is None:
        raise NotFound("risk profile", f"riskProfiles/{command.profile_id}")
    lifecycle.check_etag(current.etag, command.etag)
    content = command.patch(current.content)
    if content.priority != current.content.priority:
        check_priority_setter(command.actor)
    check_next_review_date(content, field="risk_profile")
    revised = revise_risk_profile(current, content, utcnow())
    await _record(
        store,
        revised.name,
        revised.revision,
        ChangeKind.UPDATED,
        revised.update_time,
        command.actor,
        "",
        store.encoder.risk_profile_fields(current),
        store.encoder.risk_profile_fields(revised),
    )
    await repository.save_risk_profile(revised)
    return revised


async def get_risk_profile(database: Database, profile_id: str) -> RiskProfile:
    """The profile; NOT_FOUND if it does not exist."""
    async with database.unit_of_work(read_only=True) as uow:
        profile = await Repository(uow.session).get_risk_profile(profile_id)
    if profile is None:
        raise NotFound("risk profile", f"riskProfiles/{profile_id}")
    return profile


async def list_risk_profiles(
    database: Database,
    tokens: PageTokens,
    *,
    page_size: int,
    page_token: str,
    risk_area: str,
    owner: str,
) -> Page[RiskProfile]:
    """Profiles by priority (unranked last), then name."""
    limit = clamp_page_size(page_size, maximum=_MAX_PAGE)
    position = tokens.decode(page_token, query={"risk_area": risk_area, "owner": owner})
    after = (int(position["rank"]), str(position["id"])) if position else None
    async with database.unit_of_work(read_only=True) as uow:
        profiles = await Repository(uow.session).list_risk_profiles(
            after, limit + 1, risk_area=risk_area, owner=owner
        )
    return _page(
        profiles,
        limit,
        tokens,
        {"risk_area": risk_area, "owner": owner},
        lambda p: {"rank": profile_rank(p.content.priority), "id": p.id},
    )


# -- criteria ----------------------------------------------------------------


async def _check_draft(
    repository: Repository, draft: CriterionDraft, field: str, risk_area: str | None
) -> None:
    names = {use.named_list for use in draft.rule_facts.named_list_uses}
    check_criterion_draft(
        draft,
        field=field,
        profile_exists=risk_area is not None,
        list_kinds=await repository.named_list_kinds(names),
        now=utcnow(),
    )


async def create_criterion(store: Store, command: CreateCriterion) -> Criterion:
    """Creates a DRAFT criterion authored by the caller; ALREADY_EXISTS if the id is taken."""
    repository = store.repository
    await repository.lock_history()
    criterion_id = command.criterion_id or new_id()
    if await repository.criterion_exists(criterion_id):
        raise AlreadyExists("criterion", f"criteria/{criterion_id}")
    content = command.draft.content
    risk_area = await repository.risk_area(content.risk_profile.removeprefix("riskProfiles/"))
    await _check_draft(repository, command.draft, "criterion", risk_area)
    criterion = lifecycle.new_criterion(
        criterion_id, content, risk_area or "", command.actor, utcnow()
    )
    entry = await _record(
        store,
        criterion.name,
        criterion.version,
        ChangeKind.CREATED,
        criterion.create_time,
        command.actor,
        "",
        {},
        store.encoder.criterion_fields(criterion),
    )
    await repository.add_criterion(criterion, entry.sequence)
    return criterion


async def _load_current(store: Store, criterion_id: str, etag: str) -> Criterion:
    await store.repository.lock_history()
    criterion = await store.repository.get_criterion(criterion_id)
    if criterion is None:
        raise NotFound("criterion", f"criteria/{criterion_id}")
    lifecycle.check_etag(criterion.etag, etag)
    return criterion


async def _apply(
    store: Store, before: Criterion, transition: Transition, actor: Actor
) -> Criterion:
    after = transition.criterion
    entry = await _record(
        store,
        after.name,
        after.version,
        transition.kind,
        after.update_time,
        actor,
        transition.reason,
        store.encoder.criterion_fields(before),
        store.encoder.criterion_fields(after),
        transition.notes,
    )
    await store.repository.save_criterion(after, transition.new_revision, entry.sequence)
    if transition.kind in _REVISION_CHANGES or not after.applied:
        # The evidence of a pending recommendation was about what is no longer applied.
        await store.results.supersede_pending(after.id, after.update_time)
    if transition.publication is Publication.PUBLISH:
        await store.uow.changes.append(
            CRITERION_FEED, after.name, store.encoder.active_criterion(after)
        )
    elif transition.publication is Publication.WITHDRAW:
        await store.uow.changes.append(CRITERION_FEED, after.name, None)
    return after


async def update_criterion(store: Store, command: UpdateCriterion) -> Criterion:
    """Writes a new revision (an amendment if the criterion has an applied revision)."""
    criterion = await _load_current(store, command.criterion_id, command.etag)
    draft = command.patch(criterion.latest.content)
    risk_area = await store.repository.risk_area(
        draft.content.risk_profile.removeprefix("riskProfiles/")
    )
    transition = lifecycle.update(
        criterion, draft.content, risk_area or "", command.actor, utcnow(), command.reason
    )
    await _check_draft(store.repository, draft, "criterion", risk_area)
    return await _apply(store, criterion, transition, command.actor)


async def submit_criterion(store: Store, command: SubmitCriterion) -> Criterion:
    """Submits the latest revision for approval."""
    criterion = await _load_current(store, command.criterion_id, command.etag)
    transition = lifecycle.submit(criterion, utcnow(), command.comment)
    return await _apply(store, criterion, transition, command.actor)


async def approve_criterion(
    store: Store, command: ApproveCriterion, *, analysis_max_age: timedelta
) -> Criterion:
    """Approves the submitted revision: it becomes the applied one and reaches scoring.

    The cited impact analysis is read in the same transaction, after the
    history lock, so it is checked against the criterion as it is approved.
    """
    criterion = await _load_current(store, command.criterion_id, command.etag)
    prefix = f"{criterion.name}/impactAnalyses/"
    analysis = None
    if command.impact_analysis.startswith(prefix):
        analysis = await store.repository.get_impact_analysis(
            criterion.id, command.impact_analysis.removeprefix(prefix)
        )
    transition = lifecycle.approve(
        criterion,
        command.actor,
        revision=command.revision,
        impact_analysis=command.impact_analysis,
        analysis=analysis,
        analysis_max_age=analysis_max_age,
        capacity_justification=command.capacity_justification,
        comment=command.comment,
        now=utcnow(),
    )
    approved = await _apply(store, criterion, transition, command.actor)
    await checkpoint_history(store)
    return approved


async def reject_criterion(store: Store, command: DecideCriterion) -> Criterion:
    """Returns the submitted revision to draft."""
    criterion = await _load_current(store, command.criterion_id, command.etag)
    transition = lifecycle.reject(criterion, command.actor, command.reason, utcnow())
    return await _apply(store, criterion, transition, command.actor)


async def suspend_criterion(store: Store, command: DecideCriterion) -> Criterion:
    """Withdraws an active criterion from scoring."""
    criterion = await _load_current(store, command.criterion_id, command.etag)
    transition = lifecycle.suspend(criterion, command.reason, utcnow())
    return await _apply(store, criterion, transition, command.actor)


async def reactivate_criterion(store: Store, command: DecideCriterion) -> Criterion:
    """Returns a suspended criterion to scoring."""
    criterion = await _load_current(store, command.criterion_id, command.etag)
    transition = lifecycle.reactivate(criterion, command.actor, command.reason, utcnow())
    return await _apply(store, criterion, transition, command.actor)


async def retire_criterion(store: Store, command: DecideCriterion) -> Criterion:
    """Ends a criterion for good."""
    criterion = await _load_current(store, command.criterion_id, command.etag)
    transition = lifecycle.retire(criterion, command.reason, utcnow())
    return await _apply(store, criterion, transition, command.actor)


async def expire_criterion(store: Store, criterion_id: str) -> bool:
    """Expires one criterion if its applied window has closed; whether it did."""
    await store.repository.lock_history()
    criterion = await store.repository.get_criterion(criterion_id)
    if criterion is None:
        return False
    transition = lifecycle.expire(criterion, utcnow())
    if transition is None:
        return False
    await _apply(store, criterion, transition, SYSTEM)
    return True


async def get_criterion(database: Database, criterion_id: str) -> Criterion:
    """The criterion; NOT_FOUND if it does not exist."""
    async with database.unit_of_work(read_only=True) as uow:
        criterion = await Repository(uow.session).get_criterion(criterion_id)
    if criterion is None:
        raise NotFound("criterion", f"criteria/{criterion_id}")
    return criterion


async def list_criteria(
    database: Database,
    tokens: PageTokens,
    *,
    page_size: int,
    page_token: str,
    criteria_filter: CriteriaFilter,
) -> Page[Criterion]:
    """Criteria by name that pass the filter."""
    limit = clamp_page_size(page_size, maximum=_MAX_PAGE)
    filters = {
        "risk_profile": criteria_filter.risk_profile_id,
        "states": sorted(s.value for s in criteria_filter.states),
        "risk_area": criteria_filter.risk_area,
        "campaign_tag": criteria_filter.campaign_tag,
        "author": criteria_filter.author,
    }
    position = tokens.decode(page_token, query=filters)
    async with database.unit_of_work(read_only=True) as uow:
        criteria = await Repository(uow.session).list_criteria(
            str(position.get("id", "")), limit + 1, criteria_filter
        )
    return _page(criteria, limit, tokens, filters, lambda c: {"id": c.id})


async def list_criterion_versions(
    database: Database,
    tokens: PageTokens,
    criterion_id: str,
    *,
    page_size: int,
    page_token: str,
) -> Page[tuple[Criterion, HistoryEntry]]:
    """The recorded changes of a criterion, oldest first; NOT_FOUND if it does not exist."""
    limit = clamp_page_size(page_size, maximum=_MAX_PAGE)
    filters = {"criterion": criterion_id}
    position = tokens.decode(page_token, query=filters)
    async with database.unit_of_work(read_only=True) as uow:
        repository = Repository(uow.session)
        if not await repository.criterion_exists(criterion_id):
            raise NotFound("criterion", f"criteria/{criterion_id}")
        versions = await repository.criterion_versions(
            criterion_id, int(position.get("version", 0)), limit + 1
        )
    return _page(versions, limit, tokens, filters, lambda v: {"version": v[0].version})


# -- named lists -------------------------------------------------------------


async def create_named_list(store: Store, command: CreateNamedList) -> NamedList:
    """Creates a list at revision 1 and publishes it to scoring."""
    repository = store.repository
    await repository.lock_history()
    list_id = command.list_id or new_id()
    if await repository.get_named_list(list_id, with_items=False) is not None:
        raise AlreadyExists("named list", f"namedLists/{list_id}")
    named_list = new_named_list(list_id, command.content, command.actor, utcnow())
    entry = await _record(
        store,
        named_list.name,
        named_list.revision,
        ChangeKind.CREATED,
        named_list.create_time,
        command.actor,
        "",
        {},
        store.encoder.named_list_fields(named_list),
    )
    await repository.add_named_list(named_list, entry.sequence)
    await store.uow.changes.append(
        NAMED_LIST_FEED, named_list.name, store.encoder.named_list(named_list)
    )
    return named_list


async def update_named_list(store: Store, command: UpdateNamedList) -> NamedList:
    """Writes a new revision of a list and publishes it to scoring at once."""
    repository = store.repository
    await repository.lock_history()
    current = await repository.get_named_list(command.list_id)
    if current is None:
        raise NotFound("named list", f"namedLists/{command.list_id}")
    lifecycle.check_etag(current.etag, command.etag)
    revised = revise_named_list(current, command.patch(current.content), command.actor, utcnow())
    entry = await _record(
        store,
        revised.name,
        revised.revision,
        ChangeKind.UPDATED,
        revised.update_time,
        command.actor,
        command.reason,
        store.encoder.named_list_fields(current),
        store.encoder.named_list_fields(revised),
    )
    await repository.save_named_list(revised, entry.sequence)
    await store.uow.changes.append(NAMED_LIST_FEED, revised.name, store.encoder.named_list(revised))
    return revised


async def delete_named_list(store: Store, command: DeleteNamedList) -> None:
    """Deletes a list no criterion still in use references, and removes it from scoring."""
    repository = store.repository
    await repository.lock_history()
    current = await repository.get_named_list(command.list_id)
    if current is None:
        raise NotFound("named list", f"namedLists/{command.list_id}")
    lifecycle.check_etag(current.etag, command.etag)
    users = sorted(
        {
            criterion_id
            for criterion_id, rule in await repository.rules_in_use()
            if current.name in store.encoder.named_lists_of(rule)
        }
    )
    if users:
        raise FailedPrecondition(
            "NAMED_LIST_IN_USE",
            f"{current.name} is referenced by {len(users)} criterion(s) not retired: "
            "change or retire them first",
            [
                PreconditionViolation(
                    "NAMED_LIST_IN_USE",
                    f"criteria/{criterion_id}",
                    f"a revision of criteria/{criterion_id} tests {current.name}",
                )
                for criterion_id in users
            ],
        )
    await _record(
        store,
        current.name,
        current.revision + 1,
        ChangeKind.DELETED,
        utcnow(),
        command.actor,
        command.reason,
        store.encoder.named_list_fields(current),
        {},
    )
    await repository.delete_named_list(current.id)
    await store.uow.changes.append(NAMED_LIST_FEED, current.name, None)


async def get_named_list(database: Database, list_id: str, *, with_items: bool) -> NamedList:
    """The list; NOT_FOUND if it does not exist."""
    async with database.unit_of_work(read_only=True) as uow:
        named_list = await Repository(uow.session).get_named_list(list_id, with_items=with_items)
    if named_list is None:
        raise NotFound("named list", f"namedLists/{list_id}")
    return named_list


async def list_named_lists(
    database: Database,
    tokens: PageTokens,
    *,
    page_size: int,
    page_token: str,
    kind: NamedListKind | None,
    with_items: bool,
) -> Page[NamedList]:
    """Lists by name, optionally of one kind."""
    limit = clamp_page_size(page_size, maximum=_MAX_PAGE)
    filters = {"kind": kind.value if kind else "", "items": with_items}
    position = tokens.decode(page_token, query=filters)
    async with database.unit_of_work(read_only=True) as uow:
        lists = await Repository(uow.session).list_named_lists(
            str(position.get("id", "")), limit + 1, kind=kind, with_items=with_items
        )
    return _page(lists, limit, tokens, filters, lambda n: {"id": n.id})


async def list_named_list_versions(
    database: Database,
    tokens: PageTokens,
    list_id: str,
    *,
    page_size: int,
    page_token: str,
) -> Page[tuple[NamedList, HistoryEntry]]:
    """The recorded changes of a list, oldest first; NOT_FOUND if it does not exist."""
    limit = clamp_page_size(page_size, default=10, maximum=100)
    filters = {"named_list": list_id}
    position = tokens.decode(page_token, query=filters)
    async with database.unit_of_work(read_only=True) as uow:
        repository = Repository(uow.session)
        if await repository.get_named_list(list_id, with_items=False) is None:
            raise NotFound("named list", f"namedLists/{list_id}")
        versions = await repository.named_list_versions(
            list_id, int(position.get("revision", 0)), limit + 1
        )
    return _page(versions, limit, tokens, filters, lambda v: {"revision": v[0].revision})


# -- impact analysis -----------------------------------------------------------


async def analyze_impact(
    database: Database, sources: ImpactSources, command: AnalyzeImpact
) -> ImpactAnalysis:
    """Replays the latest revision through scoring and sets it against capacity.

    Stores nothing (see :func:`store_impact_analysis`), and holds no
    transaction while the peers answer: a replay over months of declarations
    takes a while, and every write of this service queues behind an open one.
    """
    async with database.unit_of_work() as uow:
        criterion = await Repository(uow.session).get_criterion(command.criterion_id)
    if criterion is None:
        raise NotFound("criterion", f"criteria/{command.criterion_id}")
    if command.revision != criterion.revision:
        raise FailedPrecondition(
            "REVISION_MISMATCH",
            f"revision {command.revision} is not the latest revision {criterion.revision} "
            f"of {criterion.name}",
        )
    window = lookback_window(utcnow(), command.lookback_days)
    replay = await sources.replay(
        criterion.name, criterion.revision, criterion.latest.content.rule, *window
    )
    offices = {day.office_code for day in replay.office_days}
    capacities: dict[tuple[str, str, ExaminationType], int] = {}
    for first_day, last_day in capacity_ranges(day.day for day in replay.office_days):
        capacities.update(await sources.capacities(offices, first_day, last_day))
    return analyse(
        analysis_id=new_id(),
        criterion_id=criterion.id,
        criterion_revision=criterion.revision,
        window=window,
        replay=replay,
        capacities=capacities,
        requested_by=command.actor.subject,
        now=utcnow(),
    )


async def store_impact_analysis(store: Store, analysis: ImpactAnalysis) -> ImpactAnalysis:
    """Stores an analysis made by :func:`analyze_impact`."""
    await store.repository.add_impact_analysis(analysis)
    return analysis


async def get_impact_analysis(
    database: Database, criterion_id: str, analysis_id: str
) -> ImpactAnalysis:
    """The analysis; NOT_FOUND if it does not exist."""
    async with database.unit_of_work(read_only=True) as uow:
        analysis = await Repository(uow.session).get_impact_analysis(criterion_id, analysis_id)
    if analysis is None:
        raise NotFound("impact analysis", f"criteria/{criterion_id}/impactAnalyses/{analysis_id}")
    return analysis


async def list_impact_analyses(
    database: Database,
    tokens: PageTokens,
    criterion_id: str,
    *,
    page_size: int,
    page_token: str,
) -> Page[ImpactAnalysis]:
    """The analyses of a criterion, newest first; NOT_FOUND if it does not exist."""
    limit = clamp_page_size(page_size, default=20, maximum=100)
    filters = {"criterion": criterion_id}
    position = tokens.decode(page_token, query=filters)
    after = (
        (datetime.fromisoformat(str(position["time"])), str(position["id"])) if position else None
    )
    async with database.unit_of_work(read_only=True) as uow:
        repository = Repository(uow.session)
        if not await repository.criterion_exists(criterion_id):
            raise NotFound("criterion", f"criteria/{criterion_id}")
        analyses = await repository.list_impact_analyses(criterion_id, after, limit + 1)
    return _page(
        analyses,
        limit,
        tokens,
        filters,
        lambda a: {"time": a.create_time.isoformat(), "id": a.id},
    )


# -- results from the field ---------------------------------------------------


async def ingest_examination_outcome(
    database: Database,
    encoder: Encoder,
    policy: RecommendationPolicy,
    event: ReceivedEvent,
    outcome: ExaminationOutcome,
) -> bool:
    """Stores an examination outcome once per event id; returns whether it was a duplicate.

    The recommendations the outcome gives rise to are generated in the same
    transaction, so a redelivered event generates nothing twice.
    """

    async def apply(uow: UnitOfWork) -> None:
        store = Store(uow, encoder)
        # Serialised with the lifecycle, which supersedes pending recommendations.
        await store.repository.lock_history()
        await store.repository.add_examination_outcome(event, outcome, utcnow())
        await _recommend(store, policy, outcome)

    applied = await apply_once(database, event.event_id, event.source_service, apply)
    _log.info(
        "examination_outcome_ingested" if applied else "examination_outcome_event_duplicate",
        event_id=event.event_id,
        exam_report=outcome.examination_report,
        assessment=outcome.assessment,
        declaration=outcome.declaration_number,
        criteria=sorted({hit.criterion for hit in outcome.criterion_hits}),
        discrepancy_found=outcome.discrepancy_found,
    )
    return not applied


async def _recommend(
    store: Store, policy: RecommendationPolicy, outcome: ExaminationOutcome
) -> None:
    """Applies the recommendation rules to each applied criterion that designated ``outcome``.

    The negative-run rule looks only at examinations under the applied
    revision: a new revision starts a new run.
    """
    hits: dict[str, tuple[int, bool]] = {}
    for hit in outcome.criterion_hits:
        revision, found = hits.get(hit.criterion, (hit.revision, False))
        hits[hit.criterion] = (max(revision, hit.revision), found or hit.discrepancy_found)
    now = utcnow()
    for name, (revision, discrepancy) in sorted(hits.items()):
        criterion = await store.repository.get_criterion(name.removeprefix("criteria/"))
        if criterion is None or criterion.active is None or not criterion.applied:
            continue
        active = criterion.active
        proposals = []
        if revision == active.number and not discrepancy:
            run = await store.results.negative_run(criterion.id, active.number)
            # A late report from before the last discrepancy leaves the run as it was.
            if run.since is not None and outcome.examine_time >= run.since:
                proposals += negative_run_proposals(
                    policy,
                    store.encoder.rule_terms(active.content.rule),
                    run,
                    await store.results.pending_kinds(criterion.id),
                )
        if discrepancy:
            window_start = outcome.examine_time - policy.trader_window
            repeated = await store.results.trader_discrepancies(
                criterion.id, outcome.importer_id, window_start, outcome.examine_time
            )
            blocked = await store.results.trader_blocked_kinds(
                criterion.id, outcome.importer_id, now - policy.trader_window
            )
            proposals += trader_proposals(policy, outcome.importer_id, repeated, blocked)
        for proposal in proposals:
            await store.results.add_recommendation(
                new_recommendation(new_id(), criterion.id, active.number, proposal, now)
            )
        if proposals:
            _log.info(
                "recommendations_generated",
                criterion=criterion.name,
                kinds=[proposal.kind.value for proposal in proposals],
            )


async def ingest_audit_finding(
    database: Database, event: ReceivedEvent, finding: AuditFinding
) -> bool:
    """Stores an audit finding once per event id; returns whether it was a duplicate."""

    async def store(uow: UnitOfWork) -> None:
        await Repository(uow.session).add_audit_finding(event, finding, utcnow())

    applied = await apply_once(database, event.event_id, event.source_service, store)
    _log.info(
        "audit_finding_ingested" if applied else "audit_finding_event_duplicate",
        event_id=event.event_id,
        audit_case=finding.audit_case,
        declarations=list(finding.declaration_numbers),
        criteria=list(finding.criteria),
    )
    return not applied


# -- performance -----------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """``[start, end)``, optionally at one office ("" for all)."""

    start: datetime
    end: datetime
    office_code: str = ""


async def _measure(
    results: PerformanceRepository, criteria: list[Criterion], period: Period
) -> list[CriterionPerformance]:
    facts = await results.performance_facts(
        [c.id for c in criteria], period.start, period.end, period.office_code
    )
    random = await results.random_results(period.start, period.end, period.office_code)
    return [
        measure(
            criterion=criterion.name,
            title=criterion.latest.content.title,
            office_code=period.office_code,
            start_time=period.start,
            end_time=period.end,
            facts=facts[criterion.id],
            random_by_office=random,
        )
        for criterion in criteria
    ]


async def criterion_performance(
    database: Database, criterion_id: str, period: Period
) -> CriterionPerformance:
    """One criterion's results over the period; NOT_FOUND if it does not exist."""
    async with database.unit_of_work(read_only=True) as uow:
        criterion = await Repository(uow.session).get_criterion(criterion_id)
        if criterion is None:
            raise NotFound("criterion", f"criteria/{criterion_id}")
        (performance,) = await _measure(PerformanceRepository(uow.session), [criterion], period)
    return performance


async def list_criterion_performance(
    database: Database,
    tokens: PageTokens,
    period: Period,
    *,
    page_size: int,
    page_token: str,
    risk_profile_id: str,
) -> Page[CriterionPerformance]:
    """The results of every criterion applied (or examined) in the period, by name."""
    limit = clamp_page_size(page_size, maximum=_MAX_PAGE)
    filters = {
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "office": period.office_code,
        "risk_profile": risk_profile_id,
    }
    after = str(tokens.decode(page_token, query=filters).get("id", ""))
    async with database.unit_of_work(read_only=True) as uow:
        repository, results = Repository(uow.session), PerformanceRepository(uow.session)
        examined = set(
            await results.criteria_examined(
                period.start, period.end, period.office_code, after=after
            )
        )
        candidates = sorted(
            examined | set(await results.criteria_active_before(period.end, after=after))
        )
        chosen: list[Criterion] = []
        for first in range(0, len(candidates), _MAX_PAGE):
            chunk = candidates[first : first + _MAX_PAGE]
            timelines = await results.timelines(chunk)
            criteria = await repository.criteria_by_id(chunk)
            chosen += [
                criteria[criterion_id]
                for criterion_id in chunk
                if (
                    criterion_id in examined
                    or applied_during(timelines[criterion_id], period.start, period.end)
                )
                and (
                    not risk_profile_id
                    or criteria[criterion_id].latest.content.risk_profile
                    == f"riskProfiles/{risk_profile_id}"
                )
            ]
            if len(chosen) > limit:
                break
        chosen = chosen[: limit + 1]
        performances = await _measure(results, chosen, period)
    return _page(
        performances,
        limit,
        tokens,
        filters,
        lambda p: {"id": p.criterion.removeprefix("criteria/")},
    )


# -- recommendations -------------------------------------------------------------


async def get_recommendation(database: Database, recommendation_id: str) -> Recommendation:
    """The recommendation; NOT_FOUND if it does not exist."""
    async with database.unit_of_work(read_only=True) as uow:
        found = await PerformanceRepository(uow.session).get_recommendation(recommendation_id)
    if found is None:
        raise NotFound("recommendation", f"recommendations/{recommendation_id}")
    return found


async def list_recommendations(
    database: Database,
    tokens: PageTokens,
    *,
    page_size: int,
    page_token: str,
    state: RecommendationState | None,
    criterion_id: str,
    kind: RecommendationKind | None,
) -> Page[Recommendation]:
    """Recommendations, newest first, that pass the filters."""
    limit = clamp_page_size(page_size, maximum=_MAX_PAGE)
    filters = {
        "state": state.value if state else "",
        "criterion": criterion_id,
        "kind": kind.value if kind else "",
    }
    position = tokens.decode(page_token, query=filters)
    after = (
        (datetime.fromisoformat(str(position["time"])), str(position["id"])) if position else None
    )
    async with database.unit_of_work(read_only=True) as uow:
        found = await PerformanceRepository(uow.session).list_recommendations(
            after, limit + 1, state=state, criterion_id=criterion_id, kind=kind
        )
    return _page(
        found, limit, tokens, filters, lambda r: {"time": r.create_time.isoformat(), "id": r.id}
    )


async def _load_recommendation(store: Store, command: DecideRecommendation) -> Recommendation:
    await store.repository.lock_history()
    found = await store.results.get_recommendation(command.recommendation_id)
    if found is None:
        raise NotFound("recommendation", f"recommendations/{command.recommendation_id}")
    lifecycle.check_etag(found.etag, command.etag)
    check_pending(found)
    return found


async def accept_recommendation(
    store: Store, command: DecideRecommendation
) -> tuple[Recommendation, Criterion | None]:
    """Accepts a recommendation and takes its action; returns it and the criterion after.

    RETIRE retires the criterion; a change of percentage or treatment becomes
    a new revision of the criterion, which needs submission, an impact analysis
    and approval like any other before scoring applies it. A referral to audit
    and an informed-compliance intervention are requested from audit_referral
    and compliance through the outbox, so the request exists if and only if the
    acceptance is committed; the other trader-level kinds record the decision
    for the office concerned.
    """
    recommendation = await _load_recommendation(store, command)
    check_overrides(
        recommendation,
        selection_percent=command.selection_percent is not None,
        treatment=command.treatment is not None,
    )
    now = utcnow()
    why = f"{recommendation.name} accepted: {command.reason}"
    transition: Transition | None = None
    current: Criterion | None = None
    if recommendation.kind is RecommendationKind.RETIRE or recommendation.kind in REVISING_KINDS:
        current = await store.repository.get_criterion(recommendation.criterion_id)
        if current is None:
            raise NotFound("criterion", recommendation.criterion)
        if recommendation.kind is RecommendationKind.RETIRE:
            transition = lifecycle.retire(current, why, now)
        else:
            transition = _revision_for(store, current, recommendation, command, why, now)
    resulting = transition.criterion.revision if transition and transition.new_revision else 0
    accepted = decide(
        recommendation,
        RecommendationState.ACCEPTED,
        command.actor,
        command.reason,
        now,
        resulting_criterion_revision=resulting,
    )
    # Decided before the criterion changes, which supersedes what is still pending.
    await store.results.save_recommendation(accepted)
    await _request_trader_action(store, accepted)
    if transition is None or current is None:
        return accepted, None
    return accepted, await _apply(store, current, transition, command.actor)


async def _request_trader_action(store: Store, accepted: Recommendation) -> None:
    """Puts what ``accepted`` asks of audit_referral or compliance in the outbox."""
    if accepted.kind not in HANDED_OVER_KINDS:
        return
    criterion = await store.repository.get_criterion(accepted.criterion_id)
    if criterion is None:
        raise NotFound("criterion", accepted.criterion)
    declarations = await store.results.examined_declarations(
        accepted.trader_id, accepted.declaration_numbers
    )
    for request in acceptance_requests(accepted, criterion.latest.risk_area, declarations):
        store.uow.outbox.add(
            request.destination, request.method, request.payload, request.request_id
        )
        _log.info(
            "trader_action_requested",
            recommendation=accepted.name,
            destination=request.destination,
            method=request.method,
        )


def _revision_for(
    store: Store,
    current: Criterion,
    recommendation: Recommendation,
    command: DecideRecommendation,
    reason: str,
    now: datetime,
) -> Transition:
    percent = command.selection_percent
    if percent is None:
        percent = recommendation.suggested_selection_percent
    treatment = command.treatment or recommendation.suggested_treatment
    content = current.latest.content
    rule = store.encoder.revise_rule(content.rule, selection_percent=percent, treatment=treatment)
    return lifecycle.update(
        current,
        replace(content, rule=rule),
        current.latest.risk_area,
        command.actor,
        now,
        reason,
    )


async def dismiss_recommendation(store: Store, command: DecideRecommendation) -> Recommendation:
    """Dismisses a recommendation with the reason given."""
    recommendation = await _load_recommendation(store, command)
    dismissed = decide(
        recommendation, RecommendationState.DISMISSED, command.actor, command.reason, utcnow()
    )
    await store.results.save_recommendation(dismissed)
    return dismissed


# -- oversight report --------------------------------------------------------------


async def oversight_report(
    database: Database,
    encoder: Encoder,
    start: datetime,
    end: datetime,
    anchor: HistoryAnchor | None = None,
    scoring: RiskModelSources | None = None,
) -> OversightReport:
    """The committee's report on ``[start, end)``; the history is verified as it is built.

    The disparity section is asked of ``scoring`` (where every decision and
    its outcome are) at the active model's threshold; when scoring cannot
    answer the report is still produced, its section marked unavailable.
    """
    anchored = await verify_history(database, encoder, anchor)
    verification = anchored.verification
    async with database.unit_of_work(read_only=True) as uow:
        active_model = await RiskModelRepository(uow.session).active()
        repository, results = Repository(uow.session), PerformanceRepository(uow.session)
        ever_active = await results.criteria_active_before(end)
        timelines = await results.timelines(ever_active)
        standings = {
            criterion_id: found
            for criterion_id in ever_active
            if (found := standing(timelines[criterion_id], start, end)) is not None
        }
        criteria = await repository.criteria_by_id(standings)
        ordered = [criteria[criterion_id] for criterion_id in sorted(standings)]
        performances = await _measure(results, ordered, Period(start, end))
        changes = await results.period_changes(start, end)
        decisions = await results.decisions_between(start, end)
        pending = await results.list_recommendations(None, None, state=RecommendationState.PENDING)
    disparity = DisparitySection(available=False)
    if scoring is not None:
        threshold = active_model.score_threshold if active_model is not None else 0.0
        try:
            disparity = await scoring.disparity(threshold, start, end)
        except Unavailable:
            _log.warning("disparity_unavailable", start=start, end=end)
    return OversightReport(
        start_time=start,
        end_time=end,
        generate_time=utcnow(),
        criteria=tuple(
            OversightCriterion(
                criterion_id=criterion.id,
                title=(criterion.active or criterion.latest).content.title,
                risk_profile=(criterion.active or criterion.latest).content.risk_profile,
                risk_area=(criterion.active or criterion.latest).risk_area,
                standing=standings[criterion.id],
                performance=performance,
            )
            for criterion, performance in zip(ordered, performances, strict=True)
        ),
        changes=tuple(change.entry for change in changes),
        approvals=approvals(changes),
        analysts=analyst_activity(changes, decisions),
        pending_recommendations=tuple(pending),
        history_intact=verification.intact,
        history_head_hash=verification.head_hash,
        history_anchor=anchored,
        disparity=disparity,
    )


# -- history -----------------------------------------------------------------


async def verify_history(
    database: Database, encoder: Encoder, anchor: HistoryAnchor | None = None
) -> AnchorCheck:
    """Recomputes the whole hash chain, reports the first break and compares it with
    the latest checkpoint audit_referral keeps (a consistent rewrite shows there)."""

    async def verify(anchor_sequence: int) -> Verification:
        verifier = ChainVerifier(
            encoder.change_record, resource_of, anchor_sequence=anchor_sequence
        )
        after = 0
        while True:
            async with database.unit_of_work(read_only=True) as uow:
                batch = await Repository(uow.session).history_after(after, _VERIFY_BATCH)
            for entry in batch:
                if not verifier.check(entry):
                    return verifier.result()
            if len(batch) < _VERIFY_BATCH:
                return verifier.result()
            after = batch[-1].sequence

    return await verify_anchored(anchor, verify)


# -- paging ------------------------------------------------------------------


def _page(
    found: list[_T],
    limit: int,
    tokens: PageTokens,
    filters: Mapping[str, Any],
    position_of: Callable[[_T], dict[str, Any]],
) -> Page[_T]:
    if len(found) <= limit:
        return Page(found, "")
    items = found[:limit]
    return Page(items, tokens.encode(position_of(items[-1]), query=filters))
