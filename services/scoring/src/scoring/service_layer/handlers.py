"""Assessing declarations and reading, listing and explaining the stored assessments."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

import structlog
from opentelemetry import trace

from customs_kit.db import Database, utcnow
from customs_kit.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound
from customs_kit.pagination import PageTokens, clamp_page_size
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
    ReplayRecord,
    decision_differences,
)
from scoring.domain.declaration import Declaration, check_currencies
from scoring.domain.draws import SelectionSeed
from scoring.domain.evaluator import Evaluation, evaluate
from scoring.service_layer.rules import RulesHolder, journaled_rules_at

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


async def assess_declaration(
    command: AssessDeclaration,
    *,
    database: Database,
    rules: RulesHolder,
    seed: SelectionSeed,
) -> AssessmentOutcome:
    """Assesses a declaration version once and stores the decision with the events it causes.

    Idempotent on declaration number + version: the same content returns the
    stored assessment; other content under an assessed version is refused
    with ALREADY_EXISTS (reason ``DECLARATION_VERSION_CONFLICT``).
    """
    declaration = command.declaration
    check_currencies(declaration)
    engine = rules.engine()
    snapshot = engine.snapshot
    try:
        async with database.unit_of_work() as uow:
            repository = AssessmentRepository(uow.session)
            stored = await repository.for_version(
                declaration.declaration_number, declaration.version
            )
            if stored is not None:
                return _resent(stored, command)
            # Trader profiles are not streamed from compliance yet: every importer
            # is taken as not approved, recorded as trader-profile revision 0.
            decision = engine.assess(declaration, seed, importer_approved=False)
            assessment = Assessment(
                assessment_id=str(uuid.uuid4()),
                declaration=declaration,
                declaration_content=command.content,
                decision=decision,
                replay=ReplayRecord(
                    criteria_revision=snapshot.revision,
                    named_lists_revision=snapshot.revision,
                    seed_id=seed.seed_id,
                ),
                create_time=utcnow(),
            )
            await repository.add(assessment)
            for event in assessment_events(assessment):
                uow.outbox.add(event.destination, event.method, event.payload, event.event_id)
            await uow.commit()
    except DuplicateAssessment:
        # A concurrent call committed this version first: answer as it did.
        async with database.unit_of_work() as uow:
            stored = await AssessmentRepository(uow.session).for_version(
                declaration.declaration_number, declaration.version
            )
        if stored is None:
            raise RuntimeError("the concurrently stored assessment vanished") from None
        return _resent(stored, command)
    trace.get_current_span().set_attributes(
        {"customs.assessment": assessment.name, "customs.channel": decision.channel.value}
    )
    _log.info(
        "declaration_assessed",
        assessment=assessment.name,
        declaration_number=declaration.declaration_number,
        version=declaration.version,
        channel=decision.channel.value,
        hits=len(decision.criterion_hits),
        criteria_revision=snapshot.revision,
    )
    return AssessmentOutcome(assessment, already_assessed=False)


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


def _filters_digest(filters: AssessmentFilter) -> str:
    """Binds a page token to its filters, so it cannot be replayed with others."""

    def moment(value: datetime | None) -> str:
        return value.isoformat() if value else ""

    canonical = json.dumps(
        [
            filters.office_code,
            filters.channel.value if filters.channel else "",
            filters.trader_id,
            filters.declaration_number,
            moment(filters.lodged_from),
            moment(filters.lodged_before),
        ]
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


async def list_assessments(
    query: ListAssessments, *, database: Database, page_tokens: PageTokens
) -> AssessmentPage:
    """Assessments newest lodgement first; raises ``InvalidArgument`` on a foreign token."""
    limit = clamp_page_size(query.page_size, default=50, maximum=_MAX_PAGE_SIZE)
    digest = _filters_digest(query.filters)
    position = page_tokens.decode(query.page_token)
    after = None
    if position:
        if position.get("filters") != digest:
            raise InvalidArgument([FieldViolation("page_token", "was issued for other filters")])
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
                "filters": digest,
                "lodgement_time": last.declaration.lodgement_time.isoformat(),
                "assessment": last.assessment_id,
            }
        )
    return AssessmentPage(page, next_token)


@dataclass(frozen=True)
class AssessmentExplanation:
    """A stored assessment, its replay with the recorded inputs, and what differs."""

    assessment: Assessment
    replay: Evaluation | None
    differences: tuple[str, ...]

    @property
    def replay_identical(self) -> bool:
        """Whether the replay reproduced the stored decision exactly."""
        return self.replay is not None and not self.differences


async def explain_assessment(
    assessment_id: str, *, database: Database, seed: SelectionSeed
) -> AssessmentExplanation:
    """Replays a stored assessment with its recorded revisions and the seed, and compares."""
    assessment = await get_assessment(assessment_id, database=database)
    recorded = assessment.replay
    problems: list[str] = []
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
        return AssessmentExplanation(assessment, None, tuple(problems))
    replay = evaluate(
        rules,
        assessment.declaration,
        seed,
        importer_approved=assessment.decision.importer_approved_trader,
        explain=True,
    )
    problems.extend(decision_differences(assessment.decision, replay.decision))
    return AssessmentExplanation(assessment, replay, tuple(problems))
