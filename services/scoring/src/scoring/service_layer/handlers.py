"""Assessing declarations and reading, listing and explaining the stored assessments."""

from __future__ import annotations

import contextvars
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog
from opentelemetry import metrics, trace

from customs_kit.batching import GroupCommit, Submission
from customs_kit.db import Database, utcnow
from customs_kit.dead_letters import DeliveryState, delivery_states
from customs_kit.errors import (
    AlreadyExists,
    DomainError,
    NotFound,
)
from customs_kit.pagination import PageTokens, clamp_page_size
from customs_kit.uow import UnitOfWork
from scoring.adapters.consignments import prior_decisions
from scoring.adapters.events import assessment_events
from scoring.adapters.repositories import (
    AssessmentFilter,
    AssessmentRepository,
    DuplicateAssessment,
    ListPosition,
)
from scoring.domain.assessment import (
    ENGINE_VERSION,
    Assessment,
    ChannelFloor,
    ReplayRecord,
    decision_differences,
)
from scoring.domain.capacity import examination_type
from scoring.domain.consignments import DEFAULT_RELODGEMENT_WINDOW, channel_floor, keep_channel
from scoring.domain.declaration import Declaration, check_currencies
from scoring.domain.draws import SelectionSeed
from scoring.domain.engine import SelectivityEngine
from scoring.domain.evaluator import Evaluation, evaluate
from scoring.domain.random_examinations import (
    CONSIGNMENT_DRAW_SCHEME,
    RandomDrawEvaluation,
    draw_random_examinations,
    random_selections,
)
from scoring.domain.rules import Channel
from scoring.domain.training import RiskScore
from scoring.service_layer.capacity import (
    CapacityLimits,
    CapacityStep,
    OfficeCapacityNotLoaded,
    replay_capacity,
)
from scoring.service_layer.random_rates import RandomInputs, replay_random
from scoring.service_layer.risk_scoring import (
    ArtifactUnavailable,
    RiskModelHolder,
    ServingModel,
)
from scoring.service_layer.rules import CriteriaNotLoaded, RulesHolder, journaled_rules_at

_log = structlog.get_logger(__name__)

_ASSESSMENT = "assessment"
_MAX_PAGE_SIZE = 1_000


@dataclass(frozen=True)
class AssessDeclaration:
    """Assess one declaration version; ``content`` is its wire form as received."""

    declaration: Declaration
    content: bytes


@dataclass(frozen=True)
class AssessmentOutcome:
    """The stored assessment, and whether it had been made by an earlier call."""

    assessment: Assessment
    already_assessed: bool


#: Concurrent single-declaration calls stored together in one transaction at most.
_GROUP_COMMIT_BATCH = 100


class Assessor:
    """Assesses declarations with everything the decision reads, and stores the decisions.

    A declaration version is assessed once: re-sending the same content
    returns the stored assessment; other content under an assessed version is
    refused with ALREADY_EXISTS (reason ``DECLARATION_VERSION_CONFLICT``).
    Concurrent single-declaration calls share one transaction (group commit),
    so that under load the declaration system does not wait for a commit per
    declaration; each keeps its own trace and log context.
    """

    def __init__(
        self,
        *,
        database: Database,
        rules: RulesHolder,
        seed: SelectionSeed,
        capacity: CapacityLimits,
        random: RandomInputs,
        risk_models: RiskModelHolder | None = None,
        relodgement_window: timedelta = DEFAULT_RELODGEMENT_WINDOW,
    ) -> None:
        self._database = database
        self._relodgement_window = relodgement_window
        self._rules = rules
        self._seed = seed
        self._capacity = capacity
        self._random = random
        self._risk_models = risk_models or RiskModelHolder()
        self._lodgements: GroupCommit[AssessDeclaration, AssessmentOutcome | DomainError] = (
            GroupCommit(self._assess_submitted, max_batch=_GROUP_COMMIT_BATCH)
        )
        self._decisions = metrics.get_meter("scoring").create_counter(
            "customs.scoring.decisions",
            unit="{decision}",
            description="Declarations decided (first assessments, not re-sends), "
            "by channel and office.",
        )

    async def assess(self, command: AssessDeclaration) -> AssessmentOutcome:
        """Assesses one declaration version; raises the DomainError that refuses it."""
        result = await self._lodgements.submit(command)
        if isinstance(result, DomainError):
            raise result
        if not result.already_assessed:
            assessment = result.assessment
            trace.get_current_span().set_attributes(
                {
                    "customs.assessment": assessment.name,
                    "customs.channel": assessment.decision.channel.value,
                }
            )
        return result

    async def assess_batch(
        self, commands: Sequence[AssessDeclaration]
    ) -> list[AssessmentOutcome | DomainError]:
        """Assesses a batch of a bulk lodgement, each declaration as :meth:`assess` does.

        The results are in the order of ``commands``; a declaration that cannot
        be assessed (unknown currency, version conflict, no criteria yet) gets
        its error in its place and does not stop the others.
        """
        return await self._assess([(command, None) for command in commands])

    async def _assess_submitted(
        self, submissions: Sequence[Submission[AssessDeclaration]]
    ) -> list[AssessmentOutcome | DomainError]:
        return await self._assess([(entry.item, entry.context) for entry in submissions])

    async def _assess(self, commands: Sequence[_Command]) -> list[AssessmentOutcome | DomainError]:
        """The batch costs one query for the versions already assessed, one insert of the
        new assessments, one of their events and one commit. If a concurrent call stored
        one of its versions first, the batch is assessed again: the second time, that
        version is found stored.
        """
        try:
            engine = self._rules.engine()
            self._capacity.offices.held()
        except (CriteriaNotLoaded, OfficeCapacityNotLoaded) as error:
            return [error for _ in commands]
        for _ in range(2):
            try:
                async with self._database.unit_of_work() as uow:
                    results = await self._assess_in(uow, commands, engine)
                    await uow.commit()
            except DuplicateAssessment:
                continue
            for (_, context), result in zip(commands, results, strict=True):
                if isinstance(result, AssessmentOutcome) and not result.already_assessed:
                    _in_context(context, _log_assessed, result.assessment)
                    self._decisions.add(
                        1,
                        {
                            "channel": result.assessment.decision.channel.value,
                            "office": result.assessment.declaration.office_code,
                        },
                    )
            return results
        raise RuntimeError("a declaration version was stored concurrently twice over")

    async def _assess_in(
        self, uow: UnitOfWork, commands: Sequence[_Command], engine: SelectivityEngine
    ) -> list[AssessmentOutcome | DomainError]:
        """The outcome of each command; the new assessments and their events are added to ``uow``.

        Raises ``DuplicateAssessment`` when a concurrent transaction stored one
        of the versions first.
        """
        repository = AssessmentRepository(uow.session)
        stored = await repository.for_versions(
            [
                (command.declaration.declaration_number, command.declaration.version)
                for command, _ in commands
            ]
        )
        # One version scores the whole batch, even if another is swapped in meanwhile.
        serving = self._risk_models.current
        outcomes: list[AssessmentOutcome | DomainError | _DecidedHere] = []
        decided: dict[tuple[str, int], Assessment] = {}
        contexts: dict[tuple[str, int], contextvars.Context | None] = {}
        for command, context in commands:
            declaration = command.declaration
            key = (declaration.declaration_number, declaration.version)
            try:
                if key in stored:
                    outcomes.append(_resent(stored[key], command))
                    continue
                if key in decided:
                    # A version sent twice in one batch is assessed once, like a re-send.
                    _resent(decided[key], command)
                    outcomes.append(_DecidedHere(key, first=False))
                    continue
                check_currencies(declaration)
            except DomainError as error:
                outcomes.append(error)
                continue
            decided[key] = _new_assessment(command, engine, self._seed, self._random, serving)
            contexts[key] = context
            outcomes.append(_DecidedHere(key, first=True))
        # A re-lodgement of a consignment keeps the highest channel decided on it
        # in the window, so that changing what the criteria read cannot lower it.
        priors = await prior_decisions(
            uow.session,
            [assessment.declaration for assessment in decided.values()],
            self._relodgement_window,
        )
        for key, assessment in decided.items():
            floor = channel_floor(assessment.declaration, priors, self._relodgement_window)
            decided[key] = replace(assessment, decision=keep_channel(assessment.decision, floor))
        # The capacity step counts the batch's examinations in lodgement order;
        # the use of the day is read only where an examination was selected.
        capacity_step = CapacityStep(uow, self._capacity)
        await capacity_step.load(
            [
                assessment.declaration
                for assessment in decided.values()
                if examination_type(assessment.decision) is not None
            ]
        )
        for key, assessment in decided.items():
            decided[key] = await capacity_step.apply(
                assessment, randoms=random_selections(assessment.decision)
            )
        await capacity_step.write()
        if serving is not None:
            for key, assessment in decided.items():
                decided[key] = _with_reasons(assessment, serving)
        await repository.add_all(list(decided.values()))
        for key, assessment in decided.items():
            # The events carry the trace of the call that lodged the declaration.
            _in_context(contexts[key], _add_events, uow, assessment)
        return [
            AssessmentOutcome(decided[outcome.key], already_assessed=not outcome.first)
            if isinstance(outcome, _DecidedHere)
            else outcome
            for outcome in outcomes
        ]


@dataclass(frozen=True)
class _DecidedHere:
    """The outcome of a version assessed in this batch (``first``: not a re-send of it)."""

    key: tuple[str, int]
    first: bool


#: A command and the context of the call that submitted it (None: the current one).
_Command = tuple[AssessDeclaration, "contextvars.Context | None"]


def _in_context(
    context: contextvars.Context | None, work: Callable[..., None], *arguments: object
) -> None:
    if context is None:
        work(*arguments)
    else:
        context.run(work, *arguments)


def _add_events(uow: UnitOfWork, assessment: Assessment) -> None:
    for event in assessment_events(assessment):
        # Recorded with the assessment's name: its delivery state is read from them.
        uow.outbox.add(
            event.destination,
            event.method,
            event.payload,
            event.event_id,
            resource=assessment.name,
        )


def _new_assessment(
    command: AssessDeclaration,
    engine: SelectivityEngine,
    seed: SelectionSeed,
    random: RandomInputs,
    serving: ServingModel | None,
) -> Assessment:
    """The decision on a declaration version not assessed before, up to the random draws."""
    declaration = command.declaration
    risk = serving.score(declaration, with_reasons=False) if serving is not None else None
    snapshot = engine.snapshot
    rates, traders = random.rates.current, random.traders.current
    approved = traders.is_approved(declaration.importer.id)
    decision = engine.assess(
        declaration,
        seed,
        importer_approved=approved,
        risk_score=risk.score if risk is not None else None,
    )
    return Assessment(
        assessment_id=str(uuid.uuid4()),
        declaration=declaration,
        declaration_content=command.content,
        decision=draw_random_examinations(decision, declaration, rates, seed).decision,
        replay=ReplayRecord(
            criteria_revision=snapshot.revision,
            named_lists_revision=snapshot.revision,
            seed_id=seed.seed_id,
            trader_profiles_revision=traders.revision,
            random_examination_rates_revision=rates.revision,
            random_draw_scheme=CONSIGNMENT_DRAW_SCHEME,
        ),
        create_time=utcnow(),
        risk=risk,
    )


def _with_reasons(assessment: Assessment, serving: ServingModel) -> Assessment:
    """The assessment with its score's reasons, for a declaration that is not released GREEN.

    Reasons cost milliseconds per declaration (tree contributions), so a
    GREEN release does not wait for them; ExplainAssessment computes them.
    """
    if assessment.risk is None or assessment.decision.channel is Channel.GREEN:
        return assessment
    reasons = serving.score(assessment.declaration, with_reasons=True).reasons
    return replace(assessment, risk=replace(assessment.risk, reasons=reasons))


def _log_assessed(assessment: Assessment) -> None:
    declaration, decision = assessment.declaration, assessment.decision
    _log.info(
        "declaration_assessed",
        assessment=assessment.name,
        declaration_number=declaration.declaration_number,
        version=declaration.version,
        channel=decision.channel.value,
        hits=len(decision.criterion_hits),
        criteria_revision=assessment.replay.criteria_revision,
    )


class DeclarationVersionConflict(AlreadyExists):
    """The declaration version was assessed with other content (amendments are new versions)."""

    def __init__(self, stored: Assessment) -> None:
        super().__init__(_ASSESSMENT, stored.name, reason="DECLARATION_VERSION_CONFLICT")
        declaration = stored.declaration
        self.message = (
            f"declaration {declaration.declaration_number} version {declaration.version} was "
            f"assessed with different content ({stored.name}); lodge an amendment as a new version"
        )
        self.metadata = {
            "declaration_number": declaration.declaration_number,
            "version": str(declaration.version),
        }


def _resent(stored: Assessment, command: AssessDeclaration) -> AssessmentOutcome:
    if stored.declaration_content != command.content:
        raise DeclarationVersionConflict(stored)
    return AssessmentOutcome(stored, already_assessed=True)


async def get_assessment(assessment_id: str, *, database: Database) -> Assessment:
    """The stored assessment; raises ``NotFound``."""
    async with database.unit_of_work() as uow:
        assessment = await AssessmentRepository(uow.session).get(assessment_id)
    if assessment is None:
        raise NotFound(_ASSESSMENT, f"assessments/{assessment_id}")
    return assessment


async def get_assessment_delivery(
    assessment_id: str, *, database: Database
) -> tuple[Assessment, DeliveryState]:
    """The stored assessment and where the events it caused stand; raises ``NotFound``."""
    async with database.unit_of_work() as uow:
        assessment = await AssessmentRepository(uow.session).get(assessment_id)
        if assessment is None:
            raise NotFound(_ASSESSMENT, f"assessments/{assessment_id}")
        states = await delivery_states(uow.session, [assessment.name])
    return assessment, states[assessment.name]


@dataclass(frozen=True)
class ServingState:
    """The revisions of the inputs this process applies to the decisions it takes now."""

    criteria_revision: int
    named_lists_revision: int
    trader_profiles_revision: int
    random_examination_rates_revision: int
    capacity_policies_revision: int
    capacity_revision: int
    #: ``riskModels/{version}`` scoring scores with; "" when no model is active.
    risk_model_version: str
    engine_version: str
    seed_id: str


def serving_state(
    rules: RulesHolder,
    random: RandomInputs,
    capacity: CapacityLimits,
    seed: SelectionSeed,
    risk_models: RiskModelHolder,
) -> ServingState:
    """What a decision taken now would record in its replay record (0 before any input)."""
    snapshot = rules.snapshot
    revision = 0 if snapshot is None else snapshot.revision
    serving = risk_models.current
    return ServingState(
        criteria_revision=revision,
        named_lists_revision=revision,
        trader_profiles_revision=random.traders.current.revision,
        random_examination_rates_revision=random.rates.current.revision,
        capacity_policies_revision=capacity.policies.current.revision,
        capacity_revision=capacity.offices.held().revision,
        risk_model_version="" if serving is None else serving.name,
        engine_version=ENGINE_VERSION,
        seed_id=seed.seed_id,
    )


@dataclass(frozen=True)
class ListAssessments:
    """One page of assessments matching ``filters``."""

    filters: AssessmentFilter
    page_size: int = 0
    page_token: str = ""


@dataclass(frozen=True)
class AssessmentPage:
    """A page of assessments and the token of the next one (empty on the last page)."""

    assessments: list[Assessment]
    next_page_token: str


def _filters_query(filters: AssessmentFilter) -> dict[str, str]:
    """The filters a page token is bound to, so it cannot be replayed with others."""

    def moment(value: datetime | None) -> str:
        return value.isoformat() if value else ""

    return {
        "office": filters.office_code,
        "channel": filters.channel.value if filters.channel else "",
        "trader": filters.trader_id,
        "declaration": filters.declaration_number,
        "from": moment(filters.lodged_from),
        "before": moment(filters.lodged_before),
    }


async def list_assessments(
    query: ListAssessments, *, database: Database, page_tokens: PageTokens
) -> AssessmentPage:
    """Assessments newest lodgement first; raises ``InvalidArgument`` on a foreign token."""
    limit = clamp_page_size(query.page_size, default=50, maximum=_MAX_PAGE_SIZE)
    filters = _filters_query(query.filters)
    position = page_tokens.decode(query.page_token, query=filters)
    after = None
    if position:
        after = ListPosition(
            datetime.fromisoformat(position["lodgement_time"]), position["assessment"]
        )
    async with database.unit_of_work() as uow:
        found = await AssessmentRepository(uow.session).page(query.filters, after, limit + 1)
    page, more = found[:limit], len(found) > limit
    next_token = ""
    if more:
        last = page[-1]
        next_token = page_tokens.encode(
            {
                "lodgement_time": last.declaration.lodgement_time.isoformat(),
                "assessment": last.assessment_id,
            },
            query=filters,
        )
    return AssessmentPage(page, next_token)


@dataclass(frozen=True)
class AssessmentExplanation:
    """A stored assessment, its replay with the recorded inputs, and what differs."""

    assessment: Assessment
    replay: Evaluation | None
    differences: tuple[str, ...]
    random_draws: tuple[RandomDrawEvaluation, ...] = ()
    #: The score and reasons replayed with the recorded model version.
    risk: RiskScore | None = None

    @property
    def replay_identical(self) -> bool:
        """Whether the replay reproduced the stored decision exactly."""
        return self.replay is not None and not self.differences


async def _replay_risk(
    assessment: Assessment, database: Database, risk_models: RiskModelHolder
) -> tuple[RiskScore | None, list[str]]:
    """The score and reasons of the recorded model version, and how they differ."""
    recorded = assessment.risk
    if recorded is None:
        return None, []
    try:
        model = await risk_models.version(database, recorded.risk_model, recorded.digest)
    except ArtifactUnavailable as error:
        return None, [f"the risk model score cannot be replayed: {error}"]
    replayed = ServingModel(recorded.risk_model, recorded.digest, model).score(
        assessment.declaration, with_reasons=True
    )
    problems = []
    if replayed.score != recorded.score:
        problems.append(
            f"risk model score was {recorded.score}, replay with {recorded.risk_model} gives "
            f"{replayed.score}"
        )
    if recorded.reasons and recorded.reasons != replayed.reasons:
        problems.append(f"the risk reasons differ from {recorded.risk_model}'s replay")
    return replayed, problems


def _kept_channel(evaluation: Evaluation, floor: ChannelFloor | None) -> Evaluation:
    """``evaluation`` with the recorded re-lodgement floor applied, and said."""
    if floor is None:
        return evaluation
    decision = keep_channel(evaluation.decision, floor)
    if decision.channel is evaluation.decision.channel:
        return replace(evaluation, decision=decision)
    sentence = (
        f"Channel {decision.channel.name}: a re-lodgement of the consignment of "
        f"{floor.assessment} keeps its channel."
    )
    return replace(evaluation, decision=decision, steps=(*evaluation.steps, sentence))


async def explain_assessment(
    assessment_id: str,
    *,
    database: Database,
    seed: SelectionSeed,
    risk_models: RiskModelHolder | None = None,
) -> AssessmentExplanation:
    """Replays a stored assessment with its recorded revisions and the seed, and compares."""
    assessment = await get_assessment(assessment_id, database=database)
    recorded = assessment.replay
    risk, problems = await _replay_risk(assessment, database, risk_models or RiskModelHolder())
    if recorded.seed_id != seed.seed_id:
        problems.append(
            f"the decision used selection seed {recorded.seed_id}, the service now holds "
            f"{seed.seed_id}: its draws cannot be reproduced"
        )
    if recorded.engine_version != ENGINE_VERSION:
        problems.append(
            f"the decision was taken by engine version {recorded.engine_version}, "
            f"the replay uses version {ENGINE_VERSION}"
        )
    rules = await journaled_rules_at(database, recorded.criteria_revision)
    if rules is None:
        problems.append(
            f"criteria revision {recorded.criteria_revision} is not retained in the rules journal"
        )
        return AssessmentExplanation(assessment, None, tuple(problems), risk=risk)
    replay = evaluate(
        rules,
        assessment.declaration,
        seed,
        importer_approved=assessment.decision.importer_approved_trader,
        explain=True,
        # The score the decision recorded, so a criterion on the score replays as decided.
        risk_score=assessment.risk.score if assessment.risk is not None else None,
    )
    random_replay = await replay_random(database, assessment, replay, seed)
    # The consignment's earlier decision is an input recorded with the decision.
    kept = _kept_channel(random_replay.evaluation, assessment.decision.channel_floor)
    replay = await replay_capacity(database, assessment, kept, random_selections(kept.decision))
    problems.extend(decision_differences(assessment.decision, replay.decision))
    return AssessmentExplanation(
        assessment, replay, tuple(problems), random_replay.step.evaluations, risk
    )
