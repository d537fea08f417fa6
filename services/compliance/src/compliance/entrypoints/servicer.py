"""The ComplianceService servicer: decode the request, call the use case, encode the answer.

Each RPC declares its allowed roles (as the contract's comments state them)
next to its implementation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

from customs.common.v1 import selectivity_pb2
from customs.compliance.v1 import (
    compliance_intervention_pb2,
    compliance_service_pb2,
    compliance_service_pb2_grpc,
    measurement_pb2,
    trade_statistics_pb2,
    trader_application_pb2,
    trader_pb2,
)
from customs.compliance.v1.compliance_service_pb2 import (
    ApproveTraderApplicationRequest,
    ApproveTraderApplicationResponse,
    CancelComplianceInterventionRequest,
    CancelComplianceInterventionResponse,
    CloseComplianceInterventionRequest,
    CloseComplianceInterventionResponse,
    CreateComplianceInterventionRequest,
    CreateComplianceInterventionResponse,
    CreateComplianceMeasurementRequest,
    CreateComplianceMeasurementResponse,
    CreateSamplingPlanRequest,
    CreateSamplingPlanResponse,
    CreateTraderApplicationRequest,
    CreateTraderApplicationResponse,
    CreateTraderRequest,
    CreateTraderResponse,
    GetComplianceInterventionRequest,
    GetComplianceInterventionResponse,
    GetComplianceMeasurementRequest,
    GetComplianceMeasurementResponse,
    GetDeclarationRecordRequest,
    GetDeclarationRecordResponse,
    GetSamplingPlanRequest,
    GetSamplingPlanResponse,
    GetTraderApplicationRequest,
    GetTraderApplicationResponse,
    GetTraderRequest,
    GetTraderResponse,
    IngestAssessmentEventRequest,
    IngestAssessmentEventResponse,
    IngestAuditFindingEventRequest,
    IngestAuditFindingEventResponse,
    IngestExaminationOutcomeEventRequest,
    IngestExaminationOutcomeEventResponse,
    ListCommodityRankingsRequest,
    ListCommodityRankingsResponse,
    ListComplianceInterventionsRequest,
    ListComplianceInterventionsResponse,
    ListComplianceMeasurementsRequest,
    ListComplianceMeasurementsResponse,
    ListComplianceRatesRequest,
    ListComplianceRatesResponse,
    ListDeclarationRecordsRequest,
    ListDeclarationRecordsResponse,
    ListSamplingPlansRequest,
    ListSamplingPlansResponse,
    ListTraderApplicationsRequest,
    ListTraderApplicationsResponse,
    ListTraderRankingsRequest,
    ListTraderRankingsResponse,
    ListTradersRequest,
    ListTradersResponse,
    PublishComplianceMeasurementRequest,
    PublishComplianceMeasurementResponse,
    RecordComplianceInterventionMeetingRequest,
    RecordComplianceInterventionMeetingResponse,
    ReevaluateTraderApplicationRequest,
    ReevaluateTraderApplicationResponse,
    RejectTraderApplicationRequest,
    RejectTraderApplicationResponse,
    RevokeTraderApplicationRequest,
    RevokeTraderApplicationResponse,
    SetTraderTierRequest,
    SetTraderTierResponse,
    SignTraderApplicationAgreementRequest,
    SignTraderApplicationAgreementResponse,
    StartTraderApplicationReviewRequest,
    StartTraderApplicationReviewResponse,
    UpdateTraderRequest,
    UpdateTraderResponse,
    WatchTraderProfilesRequest,
    WatchTraderProfilesResponse,
    WithdrawTraderApplicationRequest,
    WithdrawTraderApplicationResponse,
)
from google.protobuf.message import Message

from compliance.adapters.repositories import (
    ApplicationFilter,
    InterventionFilter,
    MeasurementFilter,
    RecordFilter,
    StatisticsScope,
    TraderFilter,
)
from compliance.domain.applications import ApplicationState, ReevaluationOutcome
from compliance.domain.declarations import (
    MAX_RANKING_DAYS,
    OFFICE_NAME_PREFIX,
    Channel,
    CommodityRankingMetric,
    TraderRankingMetric,
    hs_level,
)
from compliance.domain.intervention_effects import DEFAULT_WINDOW
from compliance.domain.interventions import InterventionOutcome, InterventionState
from compliance.domain.measurement import (
    ComplianceDimension,
    EvidenceSource,
    MeasurementState,
    ToleranceAssessment,
    measurement_scope,
)
from compliance.domain.outcomes import ComplianceArea
from compliance.domain.periods import end_of, parse_day, period, start_of
from compliance.domain.traders import (
    ApprovedTraderStatus,
    TraderChanges,
    TraderRole,
    TraderTier,
    trader_id_of,
)
from compliance.entrypoints import effect_mappers, mappers
from compliance.entrypoints.mappers import (
    ROLE,
    STATUS,
    TIER,
    domain_enum,
    domain_enums,
    last_segment,
    required_enum,
)
from compliance.service_layer import (
    applications,
    interventions,
    measurement,
    outcomes,
    sampling,
    statistics,
    traders,
)
from compliance.service_layer.watch import (
    ProfileChanged,
    ProfileRemoved,
    ProfileWatch,
    SnapshotEnded,
    SnapshotStarted,
    WatchEvent,
)
from customs_kit.auth import Role, allow, current_principal
from customs_kit.db import Database, utcnow
from customs_kit.errors import FieldViolation, InvalidArgument
from customs_kit.idempotency import run_idempotent
from customs_kit.pagination import PageTokens
from customs_kit.uow import UnitOfWork

_SERVICE = "/customs.compliance.v1.ComplianceService/"

ResponseT = TypeVar("ResponseT", bound=Message)


def _roles(numbers: Any) -> frozenset[TraderRole]:
    return domain_enums(TraderRole, trader_pb2.TraderRole, ROLE, numbers)


def _office_id(office: str) -> str:
    return office.removeprefix(OFFICE_NAME_PREFIX)


class ComplianceServicer(compliance_service_pb2_grpc.ComplianceServiceServicer):
    """The gRPC face of the compliance service."""

    def __init__(self, database: Database, page_tokens: PageTokens, watch: ProfileWatch) -> None:
        self._database = database
        self._tokens = page_tokens
        self._watch = watch

    async def _idempotent(
        self,
        method: str,
        request: Message,
        work: Callable[[UnitOfWork], Awaitable[ResponseT]],
        response_type: type[ResponseT],
    ) -> ResponseT:
        return await run_idempotent(self._database, _SERVICE + method, request, work, response_type)

    # --- traders -------------------------------------------------------------------------------

    @allow(Role.COMPLIANCE, Role.ANALYST, Role.RMC, Role.AUDITOR, Role.SUPERVISOR, Role.SERVICE)
    async def GetTrader(self, request: GetTraderRequest, context: Any) -> GetTraderResponse:
        trader = await traders.get_trader(self._database, trader_id_of(request.name))
        return GetTraderResponse(trader=mappers.trader_message(trader))

    @allow(Role.COMPLIANCE, Role.ANALYST, Role.RMC, Role.AUDITOR)
    async def ListTraders(self, request: ListTradersRequest, context: Any) -> ListTradersResponse:
        where = TraderFilter(
            role=domain_enum(TraderRole, trader_pb2.TraderRole, ROLE, request.role),
            tier=domain_enum(TraderTier, trader_pb2.TraderTier, TIER, request.tier),
            approved_trader_status=domain_enum(
                ApprovedTraderStatus,
                trader_pb2.ApprovedTraderStatus,
                STATUS,
                request.approved_trader_status,
            ),
            display_name_prefix=request.display_name_prefix,
        )
        page = await traders.list_traders(
            self._database, self._tokens, where, request.page_size, request.page_token
        )
        return ListTradersResponse(
            traders=[mappers.trader_message(t) for t in page.items],
            next_page_token=page.next_page_token,
        )

    @allow(Role.COMPLIANCE)
    async def CreateTrader(
        self, request: CreateTraderRequest, context: Any
    ) -> CreateTraderResponse:
        command = traders.CreateTrader(
            trader_id=request.trader_id,
            display_name=request.trader.display_name,
            roles=_roles(request.trader.roles),
            country=request.trader.country,
            address=request.trader.address,
        )

        async def work(uow: UnitOfWork) -> CreateTraderResponse:
            trader = await traders.create_trader(uow, command, utcnow())
            return CreateTraderResponse(trader=mappers.trader_message(trader))

        return await self._idempotent("CreateTrader", request, work, CreateTraderResponse)

    @allow(Role.COMPLIANCE)
    async def UpdateTrader(
        self, request: UpdateTraderRequest, context: Any
    ) -> UpdateTraderResponse:
        paths = set(request.update_mask.paths)
        if not paths:
            raise InvalidArgument(
                [FieldViolation("update_mask.paths", "must name at least one field to change")]
            )
        new = request.trader
        changes = TraderChanges(
            display_name=new.display_name if "display_name" in paths else None,
            roles=_roles(new.roles) if "roles" in paths else None,
            country=new.country if "country" in paths else None,
            address=new.address if "address" in paths else None,
        )
        trader = await traders.update_trader(
            self._database, trader_id_of(new.name), new.etag, changes, utcnow()
        )
        return UpdateTraderResponse(trader=mappers.trader_message(trader))

    @allow(Role.COMPLIANCE, Role.RMC)
    async def SetTraderTier(
        self, request: SetTraderTierRequest, context: Any
    ) -> SetTraderTierResponse:
        tier = required_enum(TraderTier, trader_pb2.TraderTier, TIER, request.tier, "tier")

        async def work(uow: UnitOfWork) -> SetTraderTierResponse:
            trader = await traders.set_trader_tier(
                uow, trader_id_of(request.name), request.etag, tier, request.reason, utcnow()
            )
            return SetTraderTierResponse(trader=mappers.trader_message(trader))

        return await self._idempotent("SetTraderTier", request, work, SetTraderTierResponse)

    @allow(Role.SERVICE)
    async def WatchTraderProfiles(
        self, request: WatchTraderProfilesRequest, context: Any
    ) -> AsyncIterator[WatchTraderProfilesResponse]:
        async for event in self._watch.stream(request.since_revision):
            yield _watch_message(event)

    # --- event ingest --------------------------------------------------------------------------

    @allow(Role.SERVICE)
    async def IngestAssessmentEvent(
        self, request: IngestAssessmentEventRequest, context: Any
    ) -> IngestAssessmentEventResponse:
        applied = await statistics.ingest_assessment(
            self._database,
            request.event_id,
            mappers.assessed_declaration(request.assessed_declaration),
            utcnow(),
        )
        return IngestAssessmentEventResponse(duplicate=not applied)

    @allow(Role.SERVICE)
    async def IngestExaminationOutcomeEvent(
        self, request: IngestExaminationOutcomeEventRequest, context: Any
    ) -> IngestExaminationOutcomeEventResponse:
        applied = await outcomes.ingest_examination_outcome(
            self._database,
            request.event_id,
            mappers.examination_outcome(request.examination_outcome),
            utcnow(),
        )
        return IngestExaminationOutcomeEventResponse(duplicate=not applied)

    @allow(Role.SERVICE)
    async def IngestAuditFindingEvent(
        self, request: IngestAuditFindingEventRequest, context: Any
    ) -> IngestAuditFindingEventResponse:
        opened = await outcomes.ingest_audit_outcome(
            self._database,
            request.event_id,
            mappers.audit_outcome(request.audit_outcome),
            current_principal().subject,
            utcnow(),
        )
        return IngestAuditFindingEventResponse(
            duplicate=not opened.applied, compliance_interventions=opened.interventions
        )

    # --- trade statistics ----------------------------------------------------------------------

    @allow(Role.COMPLIANCE, Role.ANALYST, Role.RMC, Role.AUDITOR)
    async def GetDeclarationRecord(
        self, request: GetDeclarationRecordRequest, context: Any
    ) -> GetDeclarationRecordResponse:
        record = await statistics.get_record(self._database, last_segment(request.name))
        return GetDeclarationRecordResponse(
            declaration_record=mappers.declaration_record_message(record)
        )

    @allow(Role.COMPLIANCE, Role.ANALYST, Role.RMC, Role.AUDITOR)
    async def ListDeclarationRecords(
        self, request: ListDeclarationRecordsRequest, context: Any
    ) -> ListDeclarationRecordsResponse:
        start = parse_day(request.start_date, "start_date") if request.start_date else None
        end = parse_day(request.end_date, "end_date") if request.end_date else None
        where = RecordFilter(
            trader_id=trader_id_of(request.trader),
            trader_role=domain_enum(TraderRole, trader_pb2.TraderRole, ROLE, request.trader_role),
            office_id=_office_id(request.office),
            hs_code_prefix=request.hs_code_prefix,
            start=start_of(start) if start else None,
            end=end_of(end) if end else None,
            channel=domain_enum(Channel, selectivity_pb2.Channel, "CHANNEL_", request.channel),
        )
        page = await statistics.list_records(
            self._database, self._tokens, where, request.page_size, request.page_token
        )
        return ListDeclarationRecordsResponse(
            declaration_records=[mappers.declaration_record_message(r) for r in page.items],
            next_page_token=page.next_page_token,
        )

    @allow(Role.COMPLIANCE, Role.ANALYST, Role.RMC, Role.AUDITOR)
    async def ListTraderRankings(
        self, request: ListTraderRankingsRequest, context: Any
    ) -> ListTraderRankingsResponse:
        scope = StatisticsScope(
            period(request.start_date, request.end_date, max_days=MAX_RANKING_DAYS),
            _office_id(request.office),
        )
        page = await statistics.trader_rankings(
            self._database,
            self._tokens,
            scope,
            required_enum(TraderRole, trader_pb2.TraderRole, ROLE, request.role, "role"),
            required_enum(
                TraderRankingMetric,
                trade_statistics_pb2.TraderRankingMetric,
                "TRADER_RANKING_METRIC_",
                request.metric,
                "metric",
            ),
            request.page_size,
            request.page_token,
        )
        return ListTraderRankingsResponse(
            trader_rankings=[mappers.trader_ranking_message(row) for row in page.items],
            next_page_token=page.next_page_token,
        )

    @allow(Role.COMPLIANCE, Role.ANALYST, Role.RMC, Role.AUDITOR)
    async def ListCommodityRankings(
        self, request: ListCommodityRankingsRequest, context: Any
    ) -> ListCommodityRankingsResponse:
        scope = StatisticsScope(
            period(request.start_date, request.end_date, max_days=MAX_RANKING_DAYS),
            _office_id(request.office),
        )
        page = await statistics.commodity_rankings(
            self._database,
            self._tokens,
            scope,
            hs_level(request.hs_digits),
            required_enum(
                CommodityRankingMetric,
                trade_statistics_pb2.CommodityRankingMetric,
                "COMMODITY_RANKING_METRIC_",
                request.metric,
                "metric",
            ),
            request.page_size,
            request.page_token,
        )
        return ListCommodityRankingsResponse(
            commodity_rankings=[mappers.commodity_ranking_message(row) for row in page.items],
            next_page_token=page.next_page_token,
        )

    # --- compliance measurement ----------------------------------------------------------------

    @allow(Role.COMPLIANCE, Role.ANALYST)
    async def CreateComplianceMeasurement(
        self, request: CreateComplianceMeasurementRequest, context: Any
    ) -> CreateComplianceMeasurementResponse:
        wanted = request.compliance_measurement
        scope = measurement_scope(
            title=wanted.title,
            dimension=required_enum(
                ComplianceDimension,
                measurement_pb2.ComplianceDimension,
                "COMPLIANCE_DIMENSION_",
                wanted.dimension,
                "compliance_measurement.dimension",
            ),
            areas=domain_enums(
                ComplianceArea, measurement_pb2.ComplianceArea, "COMPLIANCE_AREA_", wanted.areas
            ),
            sources=domain_enums(
                EvidenceSource,
                measurement_pb2.ComplianceEvidenceSource,
                "COMPLIANCE_EVIDENCE_SOURCE_",
                wanted.sources,
            ),
            hs_chapters=wanted.hs_chapters,
            period=period(
                wanted.start_date,
                wanted.end_date,
                start_field="compliance_measurement.start_date",
                end_field="compliance_measurement.end_date",
            ),
            tolerance_level=wanted.tolerance_level,
            confidence_level=wanted.confidence_level,
            min_sample_size=wanted.min_sample_size,
        )
        creator = current_principal().subject

        async def work(uow: UnitOfWork) -> CreateComplianceMeasurementResponse:
            created = await measurement.create_measurement(uow, scope, creator, utcnow())
            return CreateComplianceMeasurementResponse(
                compliance_measurement=mappers.measurement_message(created)
            )

        return await self._idempotent(
            "CreateComplianceMeasurement", request, work, CreateComplianceMeasurementResponse
        )

    @allow(Role.COMPLIANCE, Role.ANALYST, Role.RMC, Role.AUDITOR)
    async def GetComplianceMeasurement(
        self, request: GetComplianceMeasurementRequest, context: Any
    ) -> GetComplianceMeasurementResponse:
        found = await measurement.get_measurement(self._database, last_segment(request.name))
        return GetComplianceMeasurementResponse(
            compliance_measurement=mappers.measurement_message(found)
        )

    @allow(Role.COMPLIANCE, Role.ANALYST, Role.RMC, Role.AUDITOR)
    async def ListComplianceMeasurements(
        self, request: ListComplianceMeasurementsRequest, context: Any
    ) -> ListComplianceMeasurementsResponse:
        where = MeasurementFilter(
            state=domain_enum(
                MeasurementState,
                measurement_pb2.ComplianceMeasurementState,
                "COMPLIANCE_MEASUREMENT_STATE_",
                request.state,
            ),
            dimension=domain_enum(
                ComplianceDimension,
                measurement_pb2.ComplianceDimension,
                "COMPLIANCE_DIMENSION_",
                request.dimension,
            ),
        )
        page = await measurement.list_measurements(
            self._database, self._tokens, where, request.page_size, request.page_token
        )
        return ListComplianceMeasurementsResponse(
            compliance_measurements=[mappers.measurement_message(m) for m in page.items],
            next_page_token=page.next_page_token,
        )

    @allow(Role.COMPLIANCE, Role.ANALYST, Role.RMC, Role.AUDITOR)
    async def ListComplianceRates(
        self, request: ListComplianceRatesRequest, context: Any
    ) -> ListComplianceRatesResponse:
        page = await measurement.list_rates(
            self._database,
            self._tokens,
            last_segment(request.parent),
            domain_enums(
                ToleranceAssessment,
                measurement_pb2.ToleranceAssessment,
                "TOLERANCE_ASSESSMENT_",
                request.assessments,
            ),
            request.page_size,
            request.page_token,
        )
        return ListComplianceRatesResponse(
            compliance_rates=[mappers.rate_message(rate) for rate in page.items],
            next_page_token=page.next_page_token,
        )

    @allow(Role.COMPLIANCE, Role.RMC)
    async def PublishComplianceMeasurement(
        self, request: PublishComplianceMeasurementRequest, context: Any
    ) -> PublishComplianceMeasurementResponse:
        async def work(uow: UnitOfWork) -> PublishComplianceMeasurementResponse:
            published = await measurement.publish_measurement(
                uow, last_segment(request.name), request.etag, utcnow()
            )
            return PublishComplianceMeasurementResponse(
                compliance_measurement=mappers.measurement_message(published)
            )

        return await self._idempotent(
            "PublishComplianceMeasurement", request, work, PublishComplianceMeasurementResponse
        )

    # --- sampling plans ------------------------------------------------------------------------

    @allow(Role.COMPLIANCE, Role.ANALYST)
    async def CreateSamplingPlan(
        self, request: CreateSamplingPlanRequest, context: Any
    ) -> CreateSamplingPlanResponse:
        parameters = mappers.sampling_plan_parameters(request.sampling_plan)
        creator = current_principal().subject

        async def work(uow: UnitOfWork) -> CreateSamplingPlanResponse:
            created = await sampling.create_plan(uow, parameters, creator, utcnow())
            return CreateSamplingPlanResponse(sampling_plan=mappers.sampling_plan_message(created))

        return await self._idempotent(
            "CreateSamplingPlan", request, work, CreateSamplingPlanResponse
        )

    @allow(Role.COMPLIANCE, Role.ANALYST, Role.RMC)
    async def GetSamplingPlan(
        self, request: GetSamplingPlanRequest, context: Any
    ) -> GetSamplingPlanResponse:
        found = await sampling.get_plan(self._database, last_segment(request.name))
        return GetSamplingPlanResponse(sampling_plan=mappers.sampling_plan_message(found))

    @allow(Role.COMPLIANCE, Role.ANALYST, Role.RMC)
    async def ListSamplingPlans(
        self, request: ListSamplingPlansRequest, context: Any
    ) -> ListSamplingPlansResponse:
        page = await sampling.list_plans(
            self._database, self._tokens, request.page_size, request.page_token
        )
        return ListSamplingPlansResponse(
            sampling_plans=[mappers.sampling_plan_message(plan) for plan in page.items],
            next_page_token=page.next_page_token,
        )

    # --- compliance interventions --------------------------------------------------------------

    @allow(Role.COMPLIANCE, Role.ANALYST, Role.RMC, Role.AUDITOR)
    async def GetComplianceIntervention(
        self, request: GetComplianceInterventionRequest, context: Any
    ) -> GetComplianceInterventionResponse:
        found = await interventions.get_intervention(self._database, last_segment(request.name))
        return GetComplianceInterventionResponse(
            compliance_intervention=mappers.intervention_message(found)
        )

    @allow(Role.COMPLIANCE, Role.ANALYST, Role.RMC, Role.AUDITOR)
    async def ListComplianceInterventions(
        self, request: ListComplianceInterventionsRequest, context: Any
    ) -> ListComplianceInterventionsResponse:
        where = InterventionFilter(
            trader_id=trader_id_of(request.trader),
            states=domain_enums(
                InterventionState,
                compliance_intervention_pb2.ComplianceInterventionState,
                "COMPLIANCE_INTERVENTION_STATE_",
                request.states,
            ),
            trader_role=domain_enum(TraderRole, trader_pb2.TraderRole, ROLE, request.trader_role),
        )
        page = await interventions.list_interventions(
            self._database, self._tokens, where, request.page_size, request.page_token
        )
        return ListComplianceInterventionsResponse(
            compliance_interventions=[mappers.intervention_message(i) for i in page.items],
            next_page_token=page.next_page_token,
        )

    @allow(Role.COMPLIANCE, Role.SERVICE)
    async def CreateComplianceIntervention(
        self, request: CreateComplianceInterventionRequest, context: Any
    ) -> CreateComplianceInterventionResponse:
        opened = mappers.intervention_request(request.compliance_intervention)
        # Opened by a service (criteria, on an analyst's decision), the relaying
        # service is in charge until a specialist takes the intervention up.
        owner = current_principal().subject

        async def work(uow: UnitOfWork) -> CreateComplianceInterventionResponse:
            created = await interventions.create_intervention(uow, opened, owner, utcnow())
            return CreateComplianceInterventionResponse(
                compliance_intervention=mappers.intervention_message(created)
            )

        return await self._idempotent(
            "CreateComplianceIntervention", request, work, CreateComplianceInterventionResponse
        )

    @allow(Role.COMPLIANCE)
    async def RecordComplianceInterventionMeeting(
        self, request: RecordComplianceInterventionMeetingRequest, context: Any
    ) -> RecordComplianceInterventionMeetingResponse:
        meeting = mappers.intervention_meeting(request.meeting)

        async def work(uow: UnitOfWork) -> RecordComplianceInterventionMeetingResponse:
            changed = await interventions.record_meeting(
                uow, last_segment(request.name), request.etag, meeting, utcnow()
            )
            return RecordComplianceInterventionMeetingResponse(
                compliance_intervention=mappers.intervention_message(changed)
            )

        return await self._idempotent(
            "RecordComplianceInterventionMeeting",
            request,
            work,
            RecordComplianceInterventionMeetingResponse,
        )

    @allow(Role.COMPLIANCE)
    async def CloseComplianceIntervention(
        self, request: CloseComplianceInterventionRequest, context: Any
    ) -> CloseComplianceInterventionResponse:
        outcome = required_enum(
            InterventionOutcome,
            compliance_intervention_pb2.InterventionOutcome,
            "INTERVENTION_OUTCOME_",
            request.outcome,
            "outcome",
        )

        async def work(uow: UnitOfWork) -> CloseComplianceInterventionResponse:
            changed = await interventions.close_intervention(
                uow,
                last_segment(request.name),
                request.etag,
                outcome,
                request.closing_note,
                utcnow(),
            )
            return CloseComplianceInterventionResponse(
                compliance_intervention=mappers.intervention_message(changed)
            )

        return await self._idempotent(
            "CloseComplianceIntervention", request, work, CloseComplianceInterventionResponse
        )

    @allow(Role.COMPLIANCE)
    async def CancelComplianceIntervention(
        self, request: CancelComplianceInterventionRequest, context: Any
    ) -> CancelComplianceInterventionResponse:
        async def work(uow: UnitOfWork) -> CancelComplianceInterventionResponse:
            changed = await interventions.cancel_intervention(
                uow, last_segment(request.name), request.etag, request.reason, utcnow()
            )
            return CancelComplianceInterventionResponse(
                compliance_intervention=mappers.intervention_message(changed)
            )

        return await self._idempotent(
            "CancelComplianceIntervention", request, work, CancelComplianceInterventionResponse
        )

    @allow(Role.COMPLIANCE, Role.ANALYST, Role.RMC, Role.SUPERVISOR, Role.AUDITOR)
    async def GetComplianceInterventionEffect(
        self, request: compliance_service_pb2.GetComplianceInterventionEffectRequest, context: Any
    ) -> compliance_service_pb2.GetComplianceInterventionEffectResponse:
        effect = await interventions.intervention_effect(
            self._database,
            last_segment(request.name),
            _effect_window(request.window_days),
            utcnow(),
        )
        return compliance_service_pb2.GetComplianceInterventionEffectResponse(
            effect=effect_mappers.effect_message(effect)
        )

    @allow(Role.COMPLIANCE, Role.ANALYST, Role.RMC, Role.SUPERVISOR, Role.AUDITOR)
    async def SummarizeComplianceInterventionEffects(
        self,
        request: compliance_service_pb2.SummarizeComplianceInterventionEffectsRequest,
        context: Any,
    ) -> compliance_service_pb2.SummarizeComplianceInterventionEffectsResponse:
        summary = await interventions.summarize_intervention_effects(
            self._database,
            mappers.instant(request.close_start_time)
            if request.HasField("close_start_time")
            else None,
            mappers.instant(request.close_end_time) if request.HasField("close_end_time") else None,
            _effect_window(request.window_days),
            utcnow(),
        )
        return compliance_service_pb2.SummarizeComplianceInterventionEffectsResponse(
            kinds=[effect_mappers.kind_message(kind) for kind in summary.kinds],
            escalations=[effect_mappers.effect_message(e) for e in summary.escalations],
        )

    # --- approved-trader program ---------------------------------------------------------------

    @allow(Role.COMPLIANCE, Role.RMC, Role.AUDITOR)
    async def GetTraderApplication(
        self, request: GetTraderApplicationRequest, context: Any
    ) -> GetTraderApplicationResponse:
        found = await applications.get_application(self._database, last_segment(request.name))
        return GetTraderApplicationResponse(trader_application=mappers.application_message(found))

    @allow(Role.COMPLIANCE, Role.RMC, Role.AUDITOR)
    async def ListTraderApplications(
        self, request: ListTraderApplicationsRequest, context: Any
    ) -> ListTraderApplicationsResponse:
        where = ApplicationFilter(
            trader_id=trader_id_of(request.trader),
            states=domain_enums(
                ApplicationState,
                trader_application_pb2.TraderApplicationState,
                mappers.APPLICATION_STATE,
                request.states,
            ),
            reevaluation_due_before=(
                parse_day(request.reevaluation_due_before, "reevaluation_due_before")
                if request.reevaluation_due_before
                else None
            ),
        )
        page = await applications.list_applications(
            self._database, self._tokens, where, request.page_size, request.page_token
        )
        return ListTraderApplicationsResponse(
            trader_applications=[mappers.application_message(a) for a in page.items],
            next_page_token=page.next_page_token,
        )

    @allow(Role.COMPLIANCE)
    async def CreateTraderApplication(
        self, request: CreateTraderApplicationRequest, context: Any
    ) -> CreateTraderApplicationResponse:
        applied = mappers.application_request(request.trader_application)

        async def work(uow: UnitOfWork) -> CreateTraderApplicationResponse:
            created = await applications.create_application(uow, applied, utcnow())
            return CreateTraderApplicationResponse(
                trader_application=mappers.application_message(created)
            )

        return await self._idempotent(
            "CreateTraderApplication", request, work, CreateTraderApplicationResponse
        )

    @allow(Role.COMPLIANCE)
    async def StartTraderApplicationReview(
        self, request: StartTraderApplicationReviewRequest, context: Any
    ) -> StartTraderApplicationReviewResponse:
        by = current_principal().subject

        async def work(uow: UnitOfWork) -> StartTraderApplicationReviewResponse:
            changed = await applications.start_review(
                uow, last_segment(request.name), request.etag, by, utcnow()
            )
            return StartTraderApplicationReviewResponse(
                trader_application=mappers.application_message(changed)
            )

        return await self._idempotent(
            "StartTraderApplicationReview", request, work, StartTraderApplicationReviewResponse
        )

    @allow(Role.COMPLIANCE, Role.RMC)
    async def ApproveTraderApplication(
        self, request: ApproveTraderApplicationRequest, context: Any
    ) -> ApproveTraderApplicationResponse:
        checks = mappers.review_checks(request.review, "review")
        by = current_principal().subject

        async def work(uow: UnitOfWork) -> ApproveTraderApplicationResponse:
            changed = await applications.approve(
                uow, last_segment(request.name), request.etag, checks, by, utcnow()
            )
            return ApproveTraderApplicationResponse(
                trader_application=mappers.application_message(changed)
            )

        return await self._idempotent(
            "ApproveTraderApplication", request, work, ApproveTraderApplicationResponse
        )

    @allow(Role.COMPLIANCE, Role.RMC)
    async def RejectTraderApplication(
        self, request: RejectTraderApplicationRequest, context: Any
    ) -> RejectTraderApplicationResponse:
        checks = (
            mappers.review_checks(request.review, "review") if request.HasField("review") else None
        )
        by = current_principal().subject

        async def work(uow: UnitOfWork) -> RejectTraderApplicationResponse:
            changed = await applications.reject(
                uow, last_segment(request.name), request.etag, checks, request.reason, by, utcnow()
            )
            return RejectTraderApplicationResponse(
                trader_application=mappers.application_message(changed)
            )

        return await self._idempotent(
            "RejectTraderApplication", request, work, RejectTraderApplicationResponse
        )

    @allow(Role.COMPLIANCE, Role.RMC)
    async def SignTraderApplicationAgreement(
        self, request: SignTraderApplicationAgreementRequest, context: Any
    ) -> SignTraderApplicationAgreementResponse:
        terms = mappers.agreement_terms(request.agreement)
        by = current_principal().subject

        async def work(uow: UnitOfWork) -> SignTraderApplicationAgreementResponse:
            changed = await applications.sign_agreement(
                uow, last_segment(request.name), request.etag, terms, by, utcnow()
            )
            return SignTraderApplicationAgreementResponse(
                trader_application=mappers.application_message(changed)
            )

        return await self._idempotent(
            "SignTraderApplicationAgreement",
            request,
            work,
            SignTraderApplicationAgreementResponse,
        )

    @allow(Role.COMPLIANCE, Role.RMC)
    async def ReevaluateTraderApplication(
        self, request: ReevaluateTraderApplicationRequest, context: Any
    ) -> ReevaluateTraderApplicationResponse:
        checks = mappers.review_checks(request.review, "review")
        outcome = required_enum(
            ReevaluationOutcome,
            trader_application_pb2.ReevaluationOutcome,
            mappers.OUTCOME,
            request.outcome,
            "outcome",
        )
        by = current_principal().subject

        async def work(uow: UnitOfWork) -> ReevaluateTraderApplicationResponse:
            changed = await applications.reevaluate(
                uow,
                last_segment(request.name),
                request.etag,
                checks,
                outcome,
                request.reason,
                by,
                utcnow(),
            )
            return ReevaluateTraderApplicationResponse(
                trader_application=mappers.application_message(changed)
            )

        return await self._idempotent(
            "ReevaluateTraderApplication", request, work, ReevaluateTraderApplicationResponse
        )

    @allow(Role.COMPLIANCE, Role.RMC)
    async def RevokeTraderApplication(
        self, request: RevokeTraderApplicationRequest, context: Any
    ) -> RevokeTraderApplicationResponse:
        by = current_principal().subject

        async def work(uow: UnitOfWork) -> RevokeTraderApplicationResponse:
            changed = await applications.revoke(
                uow, last_segment(request.name), request.etag, request.reason, by, utcnow()
            )
            return RevokeTraderApplicationResponse(
                trader_application=mappers.application_message(changed)
            )

        return await self._idempotent(
            "RevokeTraderApplication", request, work, RevokeTraderApplicationResponse
        )

    @allow(Role.COMPLIANCE)
    async def WithdrawTraderApplication(
        self, request: WithdrawTraderApplicationRequest, context: Any
    ) -> WithdrawTraderApplicationResponse:
        by = current_principal().subject

        async def work(uow: UnitOfWork) -> WithdrawTraderApplicationResponse:
            changed = await applications.withdraw(
                uow, last_segment(request.name), request.etag, request.reason, by, utcnow()
            )
            return WithdrawTraderApplicationResponse(
                trader_application=mappers.application_message(changed)
            )

        return await self._idempotent(
            "WithdrawTraderApplication", request, work, WithdrawTraderApplicationResponse
        )


def _watch_message(event: WatchEvent) -> WatchTraderProfilesResponse:
    match event:
        case SnapshotStarted(revision):
            return WatchTraderProfilesResponse(
                revision=revision, snapshot_start=compliance_service_pb2.SnapshotStart()
            )
        case ProfileChanged(revision, profile, profile_revision):
            return WatchTraderProfilesResponse(
                revision=revision, profile=mappers.profile_message(profile, profile_revision)
            )
        case ProfileRemoved(revision, trader_id):
            return WatchTraderProfilesResponse(
                revision=revision, removed_trader=f"traders/{trader_id}"
            )
        case SnapshotEnded(revision):
            return WatchTraderProfilesResponse(
                revision=revision, snapshot_end=compliance_service_pb2.SnapshotEnd()
            )


def _effect_window(days: int) -> timedelta:
    """The window of an effect request: ``days`` (validated 30 to 730), 0 for the default."""
    return timedelta(days=days) if days else DEFAULT_WINDOW
