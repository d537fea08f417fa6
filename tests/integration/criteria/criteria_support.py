"""The calls the users of the criteria service make, and what the tests build and read."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import grpc
from customs.common.v1 import money_pb2, selectivity_pb2
from customs.common.v1 import selection_rule_pb2 as rules
from customs.criteria.v1 import criteria_service_pb2 as pb
from customs.criteria.v1 import (
    criteria_service_pb2_grpc,
    criterion_pb2,
    events_pb2,
    impact_analysis_pb2,
    named_list_pb2,
    recommendation_pb2,
    risk_profile_pb2,
)
from customs.exam_reports.v1 import (
    exam_reports_service_pb2,
    exam_reports_service_pb2_grpc,
    office_pb2,
)
from customs.scoring.v1 import declaration_pb2, scoring_service_pb2, scoring_service_pb2_grpc
from google.protobuf import field_mask_pb2, timestamp_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from customs_kit.auth import Role
from customs_kit.testing.services import RunningService, SigningKeys

#: The people (and the scoring service) who call criteria in these tests.
ANALYST = (Role.ANALYST, "ana")
OTHER_ANALYST = (Role.ANALYST, "omar")
RMC = (Role.RMC, "rita")
SUPERVISOR = (Role.SUPERVISOR, "sam")
AUDITOR = (Role.AUDITOR, "aude")
OPERATOR = (Role.OPERATOR, "oscar")
OFFICER = (Role.OFFICER, "olga")
SCORING = (Role.SERVICE, "scoring")
EXAM_REPORTS = (Role.SERVICE, "exam-reports")

#: Who calls: one role or several, and the subject.
Caller = tuple[Role | tuple[Role, ...], str]

#: An address where nothing listens: a peer that is down.
NOWHERE = "127.0.0.1:9"

#: The ``start_criteria`` fixture: ``async with start_criteria(peer_addresses[, options])``.
StartCriteria = Callable[..., contextlib.AbstractAsyncContextManager["Criteria"]]

#: What scoring applies in these tests, as criteria would have published it: document
#: review of all tobacco (HS 24), and a list of companies that criteria may reference.
SCORING_RULES = [
    pb.WatchActiveCriteriaResponse(
        revision=1, snapshot_start=pb.SnapshotStart(criteria_count=1, named_lists_count=1)
    ),
    pb.WatchActiveCriteriaResponse(
        revision=1,
        criterion=criterion_pb2.ActiveCriterion(
            name="criteria/tobacco-documents",
            revision=1,
            title="Tobacco: check the excise documents",
            risk_profile="riskProfiles/tobacco",
            rule=rules.SelectionRule(
                condition=rules.Condition(
                    predicate=rules.Predicate(
                        hs_code_prefix=rules.HsCodePrefixPredicate(prefixes=["24"])
                    )
                ),
                treatment=rules.Treatment(
                    channel=selectivity_pb2.CHANNEL_YELLOW,
                    documents_to_check=[
                        rules.DocumentRequirement(
                            document_type_code="N380", description="Commercial invoice"
                        )
                    ],
                ),
                selection_percent=100,
                approved_traders=rules.APPROVED_TRADER_SCOPE_INCLUDED,
                priority=40,
                examiner_instructions="Check the excise stamps against the invoice.",
            ),
        ),
    ),
    pb.WatchActiveCriteriaResponse(
        revision=1,
        named_list=named_list_pb2.NamedList(
            name="namedLists/known-infringers",
            title="Known IPR infringers",
            kind=named_list_pb2.NAMED_LIST_KIND_COMPANIES,
            revision=1,
            entries=[named_list_pb2.NamedListEntry(value="ACME-1")],
        ),
    ),
    pb.WatchActiveCriteriaResponse(revision=1, snapshot_end=pb.SnapshotEnd()),
]


@dataclass(frozen=True)
class PeerServices:
    """The running peers criteria calls for impact analysis."""

    scoring: RunningService
    exam_reports: RunningService

    @property
    def addresses(self) -> dict[str, str]:
        """Criteria's peer addresses; the receivers of accepted actions are down."""
        return {
            "scoring": self.scoring.address,
            "exam-reports": self.exam_reports.address,
            "audit-referral": NOWHERE,
            "compliance": NOWHERE,
        }


def timestamp(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def hs_rule(*prefixes: str, percent: float = 100.0) -> rules.SelectionRule:
    """RED enforcement of items under the HS prefixes."""
    return rules.SelectionRule(
        condition=rules.Condition(
            predicate=rules.Predicate(
                hs_code_prefix=rules.HsCodePrefixPredicate(prefixes=list(prefixes))
            )
        ),
        treatment=rules.Treatment(
            channel=selectivity_pb2.CHANNEL_RED,
            examination_level=selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT,
        ),
        selection_percent=percent,
        approved_traders=rules.APPROVED_TRADER_SCOPE_INCLUDED,
        priority=10,
        examiner_instructions="Unload the container and count the cartons.",
    )


def list_rule(
    named_list: str, element: rules.CodeElement = rules.CODE_ELEMENT_SELLER
) -> rules.SelectionRule:
    """RED enforcement of declarations whose ``element`` is in ``named_list``."""
    rule = hs_rule("42")
    rule.condition.CopyFrom(
        rules.Condition(
            all_of=rules.ConditionList(
                conditions=[
                    rules.Condition(
                        predicate=rules.Predicate(
                            hs_code_prefix=rules.HsCodePrefixPredicate(prefixes=["42"])
                        )
                    ),
                    rules.Condition(
                        predicate=rules.Predicate(
                            in_named_list=rules.NamedListPredicate(
                                element=element, named_list=named_list
                            )
                        )
                    ),
                ]
            )
        )
    )
    return rule


def criterion(
    profile: str,
    *,
    title: str = "Cigarettes under false description",
    rule: rules.SelectionRule | None = None,
    end: datetime | None = None,
) -> criterion_pb2.Criterion:
    message = criterion_pb2.Criterion(
        risk_profile=profile,
        title=title,
        description="Cigarettes declared as paper products.",
        rule=rule or hs_rule("2402"),
        campaign_tag="tobacco-2026-q1",
    )
    if end is not None:
        message.validity_end_time.CopyFrom(timestamp(end))
    return message


def declaration(
    number: str, hs_code: str, lodged: datetime, office_code: str = "30"
) -> declaration_pb2.Declaration:
    """A one-item declaration as a declaration system lodges it with scoring."""
    message = declaration_pb2.Declaration(
        declaration_number=number,
        version=1,
        office_code=office_code,
        procedure_code="B",
        import_type_code="11",
        import_use_code="21",
        payment_type_code="11",
        declarant=declaration_pb2.Party(id="ZZR1LT6", name="Busan Customs Brokers"),
        importer=declaration_pb2.Party(id="QLRUBN9", name="Hanbit Trading Co."),
        transport_mode_code="10",
        dispatch_country_code="BE",
        items=[
            declaration_pb2.DeclarationItem(
                item_number=1,
                hs_code=hs_code,
                origin_country_code="BE",
                origin_indicator_code="G",
                net_mass_kg=108.0,
                customs_value={"currency_code": "KRW", "units": 372254},
                tax_type_code="FEU1",
            )
        ],
    )
    message.lodgement_time.CopyFrom(timestamp(lodged))
    return message


async def lodge(
    scoring: RunningService, keys: SigningKeys, *declarations: declaration_pb2.Declaration
) -> None:
    """Has scoring assess ``declarations``, as the declaration system does at lodgement."""
    stub = scoring_service_pb2_grpc.ScoringServiceStub(scoring.channel)
    for message in declarations:
        await stub.AssessDeclaration(
            scoring_service_pb2.AssessDeclarationRequest(declaration=message),
            metadata=keys.metadata(Role.DECLARATION_SYSTEM, subject="asycuda"),
        )


async def open_office(
    exam_reports: RunningService,
    keys: SigningKeys,
    office_id: str,
    capacities: Sequence[office_pb2.ExaminationCapacity],
) -> None:
    """Creates an office in exam_reports with one facility examining ``capacities`` a day."""
    stub = exam_reports_service_pb2_grpc.ExamReportsServiceStub(exam_reports.channel)
    operator = keys.metadata(Role.OPERATOR, subject="oscar")
    await stub.CreateOffice(
        exam_reports_service_pb2.CreateOfficeRequest(
            request_id=str(uuid.uuid4()),
            office_id=office_id,
            office=office_pb2.Office(
                display_name=f"Office {office_id}", time_zone="UTC", active=True
            ),
        ),
        metadata=operator,
    )
    await stub.CreateExaminationFacility(
        exam_reports_service_pb2.CreateExaminationFacilityRequest(
            parent=f"offices/{office_id}",
            request_id=str(uuid.uuid4()),
            examination_facility_id="shed-1",
            examination_facility=office_pb2.ExaminationFacility(
                display_name="Examination shed 1", daily_capacities=capacities, active=True
            ),
        ),
        metadata=operator,
    )


def profile_message(priority: int = 0) -> risk_profile_pb2.RiskProfile:
    return risk_profile_pb2.RiskProfile(
        title="Cigarettes smuggled under false description",
        risk_area=risk_profile_pb2.RISK_AREA_REVENUE,
        priority=priority,
        rationale="Seizures at the port show cigarettes declared as paper.",
        sources=[
            risk_profile_pb2.ProfileSource(
                kind=risk_profile_pb2.SOURCE_KIND_EXAMINATION_RESULTS,
                description="Twelve seizures in 2025.",
            )
        ],
        indicators=["declared as paper, weight of tobacco"],
        intended_treatment=rules.Treatment(
            channel=selectivity_pb2.CHANNEL_RED,
            examination_level=selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT,
        ),
        owner="ana",
        next_review_date="2026-12-31",
    )


def company_list(*values: str) -> named_list_pb2.NamedList:
    return named_list_pb2.NamedList(
        title="Known IPR infringers",
        kind=named_list_pb2.NAMED_LIST_KIND_COMPANIES,
        entries=[named_list_pb2.NamedListEntry(value=value) for value in values],
    )


def outcome_event(
    examined: datetime,
    *hits: tuple[str, int, bool],
    office: str = "PORT-1",
    importer: str = "IMP-42",
    declaration: str = "",
    random: bool = False,
    discrepancy: bool | None = None,
    seized: bool = False,
    revenue: money_pb2.Money | None = None,
) -> pb.IngestExaminationOutcomeEventRequest:
    """exam_reports' event for one signed-off examination.

    ``hits`` are (criterion name, revision, discrepancy bearing on it); the
    examination found a discrepancy if any hit did, unless ``discrepancy`` says.
    """
    found = any(hit[2] for hit in hits) if discrepancy is None else discrepancy
    event_id = str(uuid.uuid4())
    outcome = events_pb2.ExaminationOutcome(
        examination_report=f"examReports/{event_id}",
        declaration_number=declaration or f"2026-IM-{event_id[:8]}",
        declaration_version=1,
        office_code=office,
        importer_id=importer,
        examine_time=timestamp(examined),
        channel=selectivity_pb2.CHANNEL_RED,
        examination_level=selectivity_pb2.EXAMINATION_LEVEL_ENFORCEMENT,
        randomly_selected=random,
        discrepancy_found=found,
        criterion_outcomes=[
            events_pb2.CriterionOutcome(
                criterion=name, criterion_revision=revision, discrepancy_found=bears
            )
            for name, revision, bears in hits
        ],
        seized=seized,
    )
    if revenue is not None:
        outcome.revenue_found.CopyFrom(revenue)
    return pb.IngestExaminationOutcomeEventRequest(
        event_id=event_id,
        source_service="exam-reports",
        occur_time=timestamp(examined),
        outcome=outcome,
    )


def error_details(error: grpc.aio.AioRpcError) -> dict[str, Any]:
    """The standard details of a rich error, by type name."""
    status = rpc_status.from_call(error)
    assert status is not None, "the error carries no google.rpc.Status"
    found: dict[str, Any] = {}
    for packed in status.details:
        for detail_type in (
            error_details_pb2.ErrorInfo,
            error_details_pb2.BadRequest,
            error_details_pb2.PreconditionFailure,
            error_details_pb2.ResourceInfo,
        ):
            if packed.Is(detail_type.DESCRIPTOR):
                detail = detail_type()
                packed.Unpack(detail)
                found[detail_type.DESCRIPTOR.name] = detail
    return found


def reason(error: grpc.aio.AioRpcError) -> str:
    info: error_details_pb2.ErrorInfo = error_details(error)["ErrorInfo"]
    return info.reason


def violated_fields(error: grpc.aio.AioRpcError) -> list[str]:
    bad_request: error_details_pb2.BadRequest = error_details(error)["BadRequest"]
    return [violation.field for violation in bad_request.field_violations]


@dataclass
class Criteria:
    """The criteria service under test, called as its users call it."""

    service: RunningService
    keys: SigningKeys

    @property
    def stub(self) -> criteria_service_pb2_grpc.CriteriaServiceStub:
        return criteria_service_pb2_grpc.CriteriaServiceStub(self.service.channel)

    def auth(self, caller: Caller) -> Sequence[tuple[str, str]]:
        roles, subject = caller
        held = roles if isinstance(roles, tuple) else (roles,)
        return self.keys.metadata(*held, subject=subject)

    async def call(self, method: str, request: Any, caller: Caller) -> Any:
        rpc: Callable[..., Any] = getattr(self.stub, method)
        return await rpc(request, metadata=self.auth(caller))

    async def create_profile(self, caller: Caller = ANALYST, **kwargs: Any) -> str:
        response = await self.call(
            "CreateRiskProfile",
            pb.CreateRiskProfileRequest(
                risk_profile=profile_message(**kwargs), request_id=str(uuid.uuid4())
            ),
            caller,
        )
        name: str = response.risk_profile.name
        return name

    async def create_list(self, list_id: str, *values: str) -> named_list_pb2.NamedList:
        response = await self.call(
            "CreateNamedList",
            pb.CreateNamedListRequest(
                named_list=company_list(*values),
                named_list_id=list_id,
                request_id=str(uuid.uuid4()),
            ),
            ANALYST,
        )
        created: named_list_pb2.NamedList = response.named_list
        return created

    async def create(
        self,
        message: criterion_pb2.Criterion,
        criterion_id: str = "",
        caller: Caller = ANALYST,
        request_id: str | None = None,
    ) -> criterion_pb2.Criterion:
        response = await self.call(
            "CreateCriterion",
            pb.CreateCriterionRequest(
                criterion=message,
                criterion_id=criterion_id,
                request_id=request_id or str(uuid.uuid4()),
            ),
            caller,
        )
        created: criterion_pb2.Criterion = response.criterion
        return created

    async def get(self, name: str) -> criterion_pb2.Criterion:
        response = await self.call("GetCriterion", pb.GetCriterionRequest(name=name), ANALYST)
        found: criterion_pb2.Criterion = response.criterion
        return found

    async def submit(
        self, current: criterion_pb2.Criterion, caller: Caller = ANALYST
    ) -> criterion_pb2.Criterion:
        response = await self.call(
            "SubmitCriterion",
            pb.SubmitCriterionRequest(
                name=current.name,
                etag=current.etag,
                comment="ready for review",
                request_id=str(uuid.uuid4()),
            ),
            caller,
        )
        submitted: criterion_pb2.Criterion = response.criterion
        return submitted

    async def analyze(
        self,
        current: criterion_pb2.Criterion,
        *,
        lookback_days: int = 7,
        caller: Caller = ANALYST,
        request_id: str | None = None,
    ) -> impact_analysis_pb2.ImpactAnalysis:
        response = await self.call(
            "AnalyzeImpact",
            pb.AnalyzeImpactRequest(
                criterion=current.name,
                revision=current.revision,
                lookback_days=lookback_days,
                request_id=request_id or str(uuid.uuid4()),
            ),
            caller,
        )
        analysis: impact_analysis_pb2.ImpactAnalysis = response.impact_analysis
        return analysis

    async def approve(
        self,
        current: criterion_pb2.Criterion,
        caller: Caller = RMC,
        *,
        impact_analysis: str | None = None,
        capacity_justification: str = "",
    ) -> criterion_pb2.Criterion:
        """Approves ``current``, citing ``impact_analysis`` or else a fresh analysis of it."""
        if impact_analysis is None:
            impact_analysis = (await self.analyze(current)).name
        response = await self.call(
            "ApproveCriterion",
            pb.ApproveCriterionRequest(
                name=current.name,
                revision=current.revision,
                etag=current.etag,
                impact_analysis=impact_analysis,
                capacity_justification=capacity_justification,
                comment="reviewed at the committee",
                request_id=str(uuid.uuid4()),
            ),
            caller,
        )
        approved: criterion_pb2.Criterion = response.criterion
        return approved

    async def activate(self, message: criterion_pb2.Criterion) -> criterion_pb2.Criterion:
        """Create, submit (as the analyst), analyse and approve (as rmc) a criterion."""
        return await self.approve(await self.submit(await self.create(message)))

    async def suspend(self, current: criterion_pb2.Criterion) -> criterion_pb2.Criterion:
        response = await self.call(
            "SuspendCriterion",
            pb.SuspendCriterionRequest(
                name=current.name,
                etag=current.etag,
                reason="too many examinations at the port",
                request_id=str(uuid.uuid4()),
            ),
            SUPERVISOR,
        )
        suspended: criterion_pb2.Criterion = response.criterion
        return suspended

    async def update(
        self,
        current: criterion_pb2.Criterion,
        paths: Sequence[str],
        reason: str = "tightened",
        caller: Caller = ANALYST,
    ) -> criterion_pb2.Criterion:
        response = await self.call(
            "UpdateCriterion",
            pb.UpdateCriterionRequest(
                criterion=current,
                update_mask=field_mask_pb2.FieldMask(paths=list(paths)),
                reason=reason,
            ),
            caller,
        )
        updated: criterion_pb2.Criterion = response.criterion
        return updated

    async def list_criteria(self, **filters: Any) -> list[criterion_pb2.Criterion]:
        response = await self.call("ListCriteria", pb.ListCriteriaRequest(**filters), ANALYST)
        return list(response.criteria)

    async def history_size(self) -> int:
        response = await self.call("VerifyHistory", pb.VerifyHistoryRequest(), AUDITOR)
        assert response.verification.intact
        size: int = response.verification.entries_verified
        return size

    async def ingest(self, *events: pb.IngestExaminationOutcomeEventRequest) -> None:
        """Delivers examination outcomes as exam_reports' outbox relay does."""
        for event in events:
            await self.call("IngestExaminationOutcomeEvent", event, EXAM_REPORTS)

    async def recommendations(
        self, criterion_name: str, state: int = 0
    ) -> dict[int, recommendation_pb2.Recommendation]:
        """The recommendations about a criterion (in ``state`` if given), by kind."""
        response = await self.call(
            "ListRecommendations",
            pb.ListRecommendationsRequest(criterion=criterion_name, state=state),
            ANALYST,
        )
        return {r.kind: r for r in response.recommendations}
