"""The CriteriaService servicer: decode, call the use case, encode.

Roles are declared next to each method, as the contract lists them. RPCs of
the contract not overridden here answer UNIMPLEMENTED.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, timedelta
from typing import Any, TypeVar

import structlog
from customs.criteria.v1 import criteria_service_pb2 as pb
from customs.criteria.v1 import (
    criteria_service_pb2_grpc,
    criterion_pb2,
    named_list_pb2,
    oversight_report_pb2,
    recommendation_pb2,
    risk_profile_pb2,
)
from google.protobuf.message import Message

from criteria.adapters.repositories import CriteriaFilter
from criteria.domain import commands
from criteria.domain.model import Actor, Criterion, CriterionState, Document, NamedListKind
from criteria.domain.recommendations import (
    Recommendation,
    RecommendationKind,
    RecommendationPolicy,
    RecommendationState,
)
from criteria.domain.report_export import render_csv, render_text
from criteria.entrypoints import mappers, risk_model_mappers
from criteria.service_layer import handlers, risk_models
from criteria.service_layer.handlers import Store
from criteria.service_layer.ports import ImpactSources, RiskModelSources
from criteria.service_layer.watch import ActiveSetWatch
from customs_kit.anchoring import HistoryAnchor
from customs_kit.auth import Role, allow, current_principal
from customs_kit.db import Database, utcnow
from customs_kit.idempotency import run_idempotent, stored_response
from customs_kit.pagination import PageTokens
from customs_kit.uow import UnitOfWork

_log = structlog.get_logger(__name__)

_SERVICE = "/customs.criteria.v1.CriteriaService/"
_READERS = (Role.ANALYST, Role.RMC, Role.SUPERVISOR, Role.AUDITOR)
_APPROVERS = (Role.RMC, Role.SUPERVISOR)
_MONITORS = (Role.ANALYST, Role.RMC, Role.SUPERVISOR)
_DECIDERS = (Role.ANALYST, Role.RMC)

_Command = TypeVar("_Command")
_Result = TypeVar("_Result")
_Response = TypeVar("_Response", bound=Message)


def _actor() -> Actor:
    return mappers.actor(current_principal())


def _decision(
    request: pb.RejectCriterionRequest
    | pb.SuspendCriterionRequest
    | pb.ReactivateCriterionRequest
    | pb.RetireCriterionRequest,
) -> commands.DecideCriterion:
    return commands.DecideCriterion(
        request.name.removeprefix("criteria/"), request.etag, request.reason, _actor()
    )


class CriteriaServicer(criteria_service_pb2_grpc.CriteriaServiceServicer):
    """Serves risk profiles, criteria, named lists, their history and the active set."""

    def __init__(
        self,
        database: Database,
        page_tokens: PageTokens,
        encoder: mappers.ProtoEncoder,
        watch: ActiveSetWatch,
        impact_sources: ImpactSources,
        *,
        analysis_max_age: timedelta,
        recommendation_policy: RecommendationPolicy,
        risk_model_sources: RiskModelSources,
        history_anchor: HistoryAnchor | None = None,
    ) -> None:
        self._database = database
        # Signs checkpoints of the history's head and fetches the latest one kept.
        self._anchor = history_anchor
        self._tokens = page_tokens
        self._encoder = encoder
        self._watch = watch
        self._impact_sources = impact_sources
        self._analysis_max_age = analysis_max_age
        self._policy = recommendation_policy
        self._risk_model_sources = risk_model_sources

    async def _once(
        self,
        method: str,
        request: Message,
        handler: Callable[[Store, _Command], Awaitable[_Result]],
        command: _Command,
        respond: Callable[[_Result], _Response],
        response_type: type[_Response],
    ) -> _Response:
        """Runs a write keyed by the request's request_id: a retry gets the first response."""

        async def work(uow: UnitOfWork) -> _Response:
            return respond(await handler(Store(uow, self._encoder, self._anchor), command))

        return await run_idempotent(self._database, _SERVICE + method, request, work, response_type)

    async def _write(
        self, handler: Callable[[Store, _Command], Awaitable[_Result]], command: _Command
    ) -> _Result:
        """Runs a write without a request_id (its etag makes a retry fail instead)."""
        async with self._database.unit_of_work() as uow:
            result = await handler(Store(uow, self._encoder, self._anchor), command)
            await uow.commit()
        _log.info("change_committed", change=handler.__name__)
        return result

    # -- risk profiles ----------------------------------------------------------

    @allow(Role.ANALYST, Role.RMC)
    async def CreateRiskProfile(
        self, request: pb.CreateRiskProfileRequest, context: Any
    ) -> pb.CreateRiskProfileResponse:
        command = commands.CreateRiskProfile(
            request.risk_profile_id, mappers.risk_profile_content(request.risk_profile), _actor()
        )
        return await self._once(
            "CreateRiskProfile",
            request,
            handlers.create_risk_profile,
            command,
            lambda p: pb.CreateRiskProfileResponse(risk_profile=mappers.risk_profile_message(p)),
            pb.CreateRiskProfileResponse,
        )

    @allow(*_READERS)
    async def GetRiskProfile(
        self, request: pb.GetRiskProfileRequest, context: Any
    ) -> pb.GetRiskProfileResponse:
        profile = await handlers.get_risk_profile(
            self._database, request.name.removeprefix("riskProfiles/")
        )
        return pb.GetRiskProfileResponse(risk_profile=mappers.risk_profile_message(profile))

    @allow(*_READERS)
    async def ListRiskProfiles(
        self, request: pb.ListRiskProfilesRequest, context: Any
    ) -> pb.ListRiskProfilesResponse:
        area = request.risk_area
        page = await handlers.list_risk_profiles(
            self._database,
            self._tokens,
            page_size=request.page_size,
            page_token=request.page_token,
            risk_area=risk_profile_pb2.RiskArea.Name(area) if area else "",
            owner=request.owner,
        )
        return pb.ListRiskProfilesResponse(
            risk_profiles=[mappers.risk_profile_message(p) for p in page.items],
            next_page_token=page.next_page_token,
        )

    @allow(Role.ANALYST, Role.RMC)
    async def UpdateRiskProfile(
        self, request: pb.UpdateRiskProfileRequest, context: Any
    ) -> pb.UpdateRiskProfileResponse:
        command = commands.UpdateRiskProfile(
            request.risk_profile.name.removeprefix("riskProfiles/"),
            request.risk_profile.etag,
            mappers.risk_profile_patch(request),
            _actor(),
        )
        profile = await self._write(handlers.update_risk_profile, command)
        return pb.UpdateRiskProfileResponse(risk_profile=mappers.risk_profile_message(profile))

    # -- criteria ---------------------------------------------------------------

    @allow(Role.ANALYST)
    async def CreateCriterion(
        self, request: pb.CreateCriterionRequest, context: Any
    ) -> pb.CreateCriterionResponse:
        command = commands.CreateCriterion(
            request.criterion_id, mappers.criterion_draft(request.criterion), _actor()
        )
        return await self._once(
            "CreateCriterion",
            request,
            handlers.create_criterion,
            command,
            lambda c: pb.CreateCriterionResponse(criterion=mappers.criterion_message(c)),
            pb.CreateCriterionResponse,
        )

    @allow(*_READERS)
    async def GetCriterion(
        self, request: pb.GetCriterionRequest, context: Any
    ) -> pb.GetCriterionResponse:
        criterion = await handlers.get_criterion(
            self._database, request.name.removeprefix("criteria/")
        )
        return pb.GetCriterionResponse(criterion=mappers.criterion_message(criterion))

    @allow(*_READERS)
    async def ListCriteria(
        self, request: pb.ListCriteriaRequest, context: Any
    ) -> pb.ListCriteriaResponse:
        criteria_filter = CriteriaFilter(
            risk_profile_id=request.risk_profile.removeprefix("riskProfiles/"),
            states=tuple(
                CriterionState(criterion_pb2.CriterionState.Name(state)) for state in request.states
            ),
            risk_area=risk_profile_pb2.RiskArea.Name(request.risk_area)
            if request.risk_area
            else "",
            campaign_tag=request.campaign_tag,
            author=request.author,
        )
        page = await handlers.list_criteria(
            self._database,
            self._tokens,
            page_size=request.page_size,
            page_token=request.page_token,
            criteria_filter=criteria_filter,
        )
        return pb.ListCriteriaResponse(
            criteria=[mappers.criterion_message(c) for c in page.items],
            next_page_token=page.next_page_token,
        )

    @allow(Role.ANALYST)
    async def UpdateCriterion(
        self, request: pb.UpdateCriterionRequest, context: Any
    ) -> pb.UpdateCriterionResponse:
        command = commands.UpdateCriterion(
            request.criterion.name.removeprefix("criteria/"),
            request.criterion.etag,
            mappers.criterion_patch(request),
            request.reason,
            _actor(),
        )
        criterion = await self._write(handlers.update_criterion, command)
        return pb.UpdateCriterionResponse(criterion=mappers.criterion_message(criterion))

    @allow(*_READERS)
    async def ListCriterionVersions(
        self, request: pb.ListCriterionVersionsRequest, context: Any
    ) -> pb.ListCriterionVersionsResponse:
        page = await handlers.list_criterion_versions(
            self._database,
            self._tokens,
            request.parent.removeprefix("criteria/"),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListCriterionVersionsResponse(
            criterion_versions=[mappers.criterion_version(c, e) for c, e in page.items],
            next_page_token=page.next_page_token,
        )

    @allow(Role.ANALYST)
    async def SubmitCriterion(
        self, request: pb.SubmitCriterionRequest, context: Any
    ) -> pb.SubmitCriterionResponse:
        command = commands.SubmitCriterion(
            request.name.removeprefix("criteria/"), request.etag, request.comment, _actor()
        )
        return await self._once(
            "SubmitCriterion",
            request,
            handlers.submit_criterion,
            command,
            lambda c: pb.SubmitCriterionResponse(criterion=mappers.criterion_message(c)),
            pb.SubmitCriterionResponse,
        )

    @allow(*_APPROVERS)
    async def ApproveCriterion(
        self, request: pb.ApproveCriterionRequest, context: Any
    ) -> pb.ApproveCriterionResponse:
        command = commands.ApproveCriterion(
            criterion_id=request.name.removeprefix("criteria/"),
            etag=request.etag,
            revision=request.revision,
            impact_analysis=request.impact_analysis,
            capacity_justification=request.capacity_justification,
            comment=request.comment,
            actor=_actor(),
        )
        return await self._once(
            "ApproveCriterion",
            request,
            functools.partial(handlers.approve_criterion, analysis_max_age=self._analysis_max_age),
            command,
            lambda c: pb.ApproveCriterionResponse(criterion=mappers.criterion_message(c)),
            pb.ApproveCriterionResponse,
        )

    @allow(*_APPROVERS)
    async def RejectCriterion(
        self, request: pb.RejectCriterionRequest, context: Any
    ) -> pb.RejectCriterionResponse:
        return await self._once(
            "RejectCriterion",
            request,
            handlers.reject_criterion,
            _decision(request),
            lambda c: pb.RejectCriterionResponse(criterion=mappers.criterion_message(c)),
            pb.RejectCriterionResponse,
        )

    @allow(Role.ANALYST, *_APPROVERS)
    async def SuspendCriterion(
        self, request: pb.SuspendCriterionRequest, context: Any
    ) -> pb.SuspendCriterionResponse:
        return await self._once(
            "SuspendCriterion",
            request,
            handlers.suspend_criterion,
            _decision(request),
            lambda c: pb.SuspendCriterionResponse(criterion=mappers.criterion_message(c)),
            pb.SuspendCriterionResponse,
        )

    @allow(*_APPROVERS)
    async def ReactivateCriterion(
        self, request: pb.ReactivateCriterionRequest, context: Any
    ) -> pb.ReactivateCriterionResponse:
        return await self._once(
            "ReactivateCriterion",
            request,
            handlers.reactivate_criterion,
            _decision(request),
            lambda c: pb.ReactivateCriterionResponse(criterion=mappers.criterion_message(c)),
            pb.ReactivateCriterionResponse,
        )

    @allow(Role.ANALYST, *_APPROVERS)
    async def RetireCriterion(
        self, request: pb.RetireCriterionRequest, context: Any
    ) -> pb.RetireCriterionResponse:
        return await self._once(
            "RetireCriterion",
            request,
            handlers.retire_criterion,
            _decision(request),
            lambda c: pb.RetireCriterionResponse(criterion=mappers.criterion_message(c)),
            pb.RetireCriterionResponse,
        )

    # -- impact analysis ----------------------------------------------------------

    @allow(Role.ANALYST, *_APPROVERS)
    async def AnalyzeImpact(
        self, request: pb.AnalyzeImpactRequest, context: Any
    ) -> pb.AnalyzeImpactResponse:
        method = "AnalyzeImpact"
        earlier = await stored_response(
            self._database, _SERVICE + method, request, pb.AnalyzeImpactResponse
        )
        if earlier is not None:
            return earlier
        command = commands.AnalyzeImpact(
            request.criterion.removeprefix("criteria/"),
            request.revision,
            request.lookback_days,
            _actor(),
        )
        analysis = await handlers.analyze_impact(self._database, self._impact_sources, command)
        response = await self._once(
            method,
            request,
            handlers.store_impact_analysis,
            analysis,
            lambda a: pb.AnalyzeImpactResponse(impact_analysis=mappers.impact_analysis_message(a)),
            pb.AnalyzeImpactResponse,
        )
        _log.info(
            "impact_analysed",
            impact_analysis=response.impact_analysis.name,
            offices_over_capacity=len(response.impact_analysis.capacity_exceedances),
        )
        return response

    @allow(Role.ANALYST, *_APPROVERS)
    async def GetImpactAnalysis(
        self, request: pb.GetImpactAnalysisRequest, context: Any
    ) -> pb.GetImpactAnalysisResponse:
        criterion, _, analysis_id = request.name.removeprefix("criteria/").partition(
            "/impactAnalyses/"
        )
        analysis = await handlers.get_impact_analysis(self._database, criterion, analysis_id)
        return pb.GetImpactAnalysisResponse(
            impact_analysis=mappers.impact_analysis_message(analysis)
        )

    @allow(Role.ANALYST, *_APPROVERS)
    async def ListImpactAnalyses(
        self, request: pb.ListImpactAnalysesRequest, context: Any
    ) -> pb.ListImpactAnalysesResponse:
        page = await handlers.list_impact_analyses(
            self._database,
            self._tokens,
            request.parent.removeprefix("criteria/"),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListImpactAnalysesResponse(
            impact_analyses=[mappers.impact_analysis_message(a) for a in page.items],
            next_page_token=page.next_page_token,
        )

    # -- named lists ------------------------------------------------------------

    @allow(Role.ANALYST)
    async def CreateNamedList(
        self, request: pb.CreateNamedListRequest, context: Any
    ) -> pb.CreateNamedListResponse:
        command = commands.CreateNamedList(
            request.named_list_id, mappers.named_list_content(request.named_list), _actor()
        )
        return await self._once(
            "CreateNamedList",
            request,
            handlers.create_named_list,
            command,
            lambda n: pb.CreateNamedListResponse(named_list=mappers.named_list_message(n)),
            pb.CreateNamedListResponse,
        )

    @allow(*_READERS)
    async def GetNamedList(
        self, request: pb.GetNamedListRequest, context: Any
    ) -> pb.GetNamedListResponse:
        full = request.view != pb.NAMED_LIST_VIEW_BASIC
        named_list = await handlers.get_named_list(
            self._database, request.name.removeprefix("namedLists/"), with_items=full
        )
        return pb.GetNamedListResponse(named_list=mappers.named_list_message(named_list, full=full))

    @allow(*_READERS)
    async def ListNamedLists(
        self, request: pb.ListNamedListsRequest, context: Any
    ) -> pb.ListNamedListsResponse:
        full = request.view == pb.NAMED_LIST_VIEW_FULL
        kind = (
            NamedListKind(named_list_pb2.NamedListKind.Name(request.kind)) if request.kind else None
        )
        page = await handlers.list_named_lists(
            self._database,
            self._tokens,
            page_size=request.page_size,
            page_token=request.page_token,
            kind=kind,
            with_items=full,
        )
        return pb.ListNamedListsResponse(
            named_lists=[mappers.named_list_message(n, full=full) for n in page.items],
            next_page_token=page.next_page_token,
        )

    @allow(Role.ANALYST)
    async def UpdateNamedList(
        self, request: pb.UpdateNamedListRequest, context: Any
    ) -> pb.UpdateNamedListResponse:
        command = commands.UpdateNamedList(
            request.named_list.name.removeprefix("namedLists/"),
            request.named_list.etag,
            mappers.named_list_patch(request),
            request.reason,
            _actor(),
        )
        named_list = await self._write(handlers.update_named_list, command)
        return pb.UpdateNamedListResponse(named_list=mappers.named_list_message(named_list))

    @allow(Role.ANALYST)
    async def DeleteNamedList(
        self, request: pb.DeleteNamedListRequest, context: Any
    ) -> pb.DeleteNamedListResponse:
        command = commands.DeleteNamedList(
            request.name.removeprefix("namedLists/"), request.etag, request.reason, _actor()
        )
        await self._write(handlers.delete_named_list, command)
        return pb.DeleteNamedListResponse()

    @allow(*_READERS)
    async def ListNamedListVersions(
        self, request: pb.ListNamedListVersionsRequest, context: Any
    ) -> pb.ListNamedListVersionsResponse:
        page = await handlers.list_named_list_versions(
            self._database,
            self._tokens,
            request.parent.removeprefix("namedLists/"),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListNamedListVersionsResponse(
            named_list_versions=[mappers.named_list_version(n, e) for n, e in page.items],
            next_page_token=page.next_page_token,
        )

    # -- performance and recommendations ----------------------------------------

    @allow(*_MONITORS)
    async def GetCriterionPerformance(
        self, request: pb.GetCriterionPerformanceRequest, context: Any
    ) -> pb.GetCriterionPerformanceResponse:
        performance = await handlers.criterion_performance(
            self._database,
            request.criterion.removeprefix("criteria/"),
            mappers.period(request.start_time, request.end_time, request.office_code),
        )
        return pb.GetCriterionPerformanceResponse(
            criterion_performance=mappers.performance_message(performance)
        )

    @allow(*_MONITORS)
    async def ListCriterionPerformance(
        self, request: pb.ListCriterionPerformanceRequest, context: Any
    ) -> pb.ListCriterionPerformanceResponse:
        page = await handlers.list_criterion_performance(
            self._database,
            self._tokens,
            mappers.period(request.start_time, request.end_time, request.office_code),
            page_size=request.page_size,
            page_token=request.page_token,
            risk_profile_id=request.risk_profile.removeprefix("riskProfiles/"),
        )
        return pb.ListCriterionPerformanceResponse(
            criterion_performances=[mappers.performance_message(p) for p in page.items],
            next_page_token=page.next_page_token,
        )

    @allow(*_MONITORS)
    async def GetRecommendation(
        self, request: pb.GetRecommendationRequest, context: Any
    ) -> pb.GetRecommendationResponse:
        recommendation = await handlers.get_recommendation(
            self._database, request.name.removeprefix("recommendations/")
        )
        return pb.GetRecommendationResponse(
            recommendation=mappers.recommendation_message(recommendation)
        )

    @allow(*_MONITORS)
    async def ListRecommendations(
        self, request: pb.ListRecommendationsRequest, context: Any
    ) -> pb.ListRecommendationsResponse:
        state, kind = request.state, request.kind
        page = await handlers.list_recommendations(
            self._database,
            self._tokens,
            page_size=request.page_size,
            page_token=request.page_token,
            state=(
                RecommendationState(recommendation_pb2.RecommendationState.Name(state))
                if state
                else None
            ),
            criterion_id=request.criterion.removeprefix("criteria/"),
            kind=(
                RecommendationKind(recommendation_pb2.RecommendationKind.Name(kind))
                if kind
                else None
            ),
        )
        return pb.ListRecommendationsResponse(
            recommendations=[mappers.recommendation_message(r) for r in page.items],
            next_page_token=page.next_page_token,
        )

    @allow(*_DECIDERS)
    async def AcceptRecommendation(
        self, request: pb.AcceptRecommendationRequest, context: Any
    ) -> pb.AcceptRecommendationResponse:
        command = commands.DecideRecommendation(
            request.name.removeprefix("recommendations/"),
            request.etag,
            request.reason,
            _actor(),
            selection_percent=(
                request.selection_percent if request.HasField("selection_percent") else None
            ),
            treatment=(
                Document(request.treatment.SerializeToString(deterministic=True))
                if request.HasField("treatment")
                else None
            ),
        )

        def respond(
            result: tuple[Recommendation, Criterion | None],
        ) -> pb.AcceptRecommendationResponse:
            recommendation, criterion = result
            return pb.AcceptRecommendationResponse(
                recommendation=mappers.recommendation_message(recommendation),
                criterion=mappers.criterion_message(criterion) if criterion else None,
            )

        response = await self._once(
            "AcceptRecommendation",
            request,
            handlers.accept_recommendation,
            command,
            respond,
            pb.AcceptRecommendationResponse,
        )
        _log.info(
            "recommendation_accepted",
            recommendation=response.recommendation.name,
            kind=recommendation_pb2.RecommendationKind.Name(response.recommendation.kind),
        )
        return response

    @allow(*_DECIDERS)
    async def DismissRecommendation(
        self, request: pb.DismissRecommendationRequest, context: Any
    ) -> pb.DismissRecommendationResponse:
        command = commands.DecideRecommendation(
            request.name.removeprefix("recommendations/"), request.etag, request.reason, _actor()
        )
        return await self._once(
            "DismissRecommendation",
            request,
            handlers.dismiss_recommendation,
            command,
            lambda r: pb.DismissRecommendationResponse(
                recommendation=mappers.recommendation_message(r)
            ),
            pb.DismissRecommendationResponse,
        )

    # -- oversight report -------------------------------------------------------

    @allow(*_READERS)
    async def GetOversightReport(
        self, request: pb.GetOversightReportRequest, context: Any
    ) -> pb.GetOversightReportResponse:
        period = mappers.period(request.start_time, request.end_time)
        report = await handlers.oversight_report(
            self._database,
            self._encoder,
            period.start,
            period.end,
            anchor=self._anchor,
            scoring=self._risk_model_sources,
        )
        return pb.GetOversightReportResponse(
            oversight_report=mappers.oversight_report_message(report)
        )

    @allow(*_READERS)
    async def ExportOversightReport(
        self, request: pb.ExportOversightReportRequest, context: Any
    ) -> pb.ExportOversightReportResponse:
        period = mappers.period(request.start_time, request.end_time)
        report = await handlers.oversight_report(
            self._database,
            self._encoder,
            period.start,
            period.end,
            anchor=self._anchor,
            scoring=self._risk_model_sources,
        )
        stem = f"oversight-{period.start.date().isoformat()}-{period.end.date().isoformat()}"
        if request.format == oversight_report_pb2.REPORT_FORMAT_CSV:
            content, content_type, filename = (
                render_csv(report),
                "text/csv; charset=utf-8",
                f"{stem}.csv",
            )
        else:
            content, content_type, filename = (
                render_text(report),
                "text/plain; charset=utf-8",
                f"{stem}.txt",
            )
        return pb.ExportOversightReportResponse(
            content=content.encode("utf-8"), content_type=content_type, filename=filename
        )

    # -- history ----------------------------------------------------------------

    @allow(Role.RMC, Role.SUPERVISOR, Role.AUDITOR, Role.OPERATOR)
    async def VerifyHistory(
        self, request: pb.VerifyHistoryRequest, context: Any
    ) -> pb.VerifyHistoryResponse:
        anchored = await handlers.verify_history(self._database, self._encoder, self._anchor)
        return pb.VerifyHistoryResponse(
            verification=mappers.verification_message(anchored, utcnow())
        )

    # -- results from the field -------------------------------------------------

    @allow(Role.SERVICE)
    async def IngestExaminationOutcomeEvent(
        self, request: pb.IngestExaminationOutcomeEventRequest, context: Any
    ) -> pb.IngestExaminationOutcomeEventResponse:
        duplicate = await handlers.ingest_examination_outcome(
            self._database,
            self._encoder,
            self._policy,
            mappers.received_event(request),
            mappers.examination_outcome(request.outcome),
        )
        return pb.IngestExaminationOutcomeEventResponse(duplicate=duplicate)

    @allow(Role.SERVICE)
    async def IngestAuditFindingEvent(
        self, request: pb.IngestAuditFindingEventRequest, context: Any
    ) -> pb.IngestAuditFindingEventResponse:
        duplicate = await handlers.ingest_audit_finding(
            self._database, mappers.received_event(request), mappers.audit_finding(request.finding)
        )
        return pb.IngestAuditFindingEventResponse(duplicate=duplicate)

    # -- the active set -----------------------------------------------------------

    @allow(Role.SERVICE)
    async def WatchActiveCriteria(
        self, request: pb.WatchActiveCriteriaRequest, context: Any
    ) -> AsyncIterator[pb.WatchActiveCriteriaResponse]:
        async for event in self._watch.stream(request.since_revision):
            yield mappers.watch_response(event)

    # -- risk model versions ----------------------------------------------------

    @allow(*_READERS)
    async def GetRiskModel(
        self, request: pb.GetRiskModelRequest, context: Any
    ) -> pb.GetRiskModelResponse:
        model = await risk_models.get_risk_model(self._database, request.name)
        return pb.GetRiskModelResponse(risk_model=risk_model_mappers.risk_model_message(model))

    @allow(*_READERS)
    async def ListRiskModels(
        self, request: pb.ListRiskModelsRequest, context: Any
    ) -> pb.ListRiskModelsResponse:
        page = await risk_models.list_risk_models(
            self._database,
            self._tokens,
            risk_model_mappers.state_filter(request.state),
            request.page_size,
            request.page_token,
        )
        return pb.ListRiskModelsResponse(
            risk_models=[risk_model_mappers.risk_model_message(m) for m in page.items],
            next_page_token=page.next_page_token,
        )

    @allow(*_DECIDERS)
    async def SubmitRiskModel(
        self, request: pb.SubmitRiskModelRequest, context: Any
    ) -> pb.SubmitRiskModelResponse:
        model = await risk_models.submit_risk_model(
            self._database,
            self._encoder,
            self._risk_model_sources,
            risk_models.SubmitRiskModel(
                name=request.name,
                etag=request.etag,
                threshold=request.score_threshold,
                lookback_days=request.lookback_days,
                reason=request.reason,
                actor=_actor(),
            ),
        )
        return pb.SubmitRiskModelResponse(risk_model=risk_model_mappers.risk_model_message(model))

    @allow(*_APPROVERS)
    async def ApproveRiskModel(
        self, request: pb.ApproveRiskModelRequest, context: Any
    ) -> pb.ApproveRiskModelResponse:
        model = await risk_models.approve_risk_model(
            self._database,
            self._encoder,
            risk_models.DecideRiskModel(request.name, request.etag, request.reason, _actor()),
            anchor=self._anchor,
        )
        return pb.ApproveRiskModelResponse(risk_model=risk_model_mappers.risk_model_message(model))

    @allow(*_APPROVERS)
    async def RejectRiskModel(
        self, request: pb.RejectRiskModelRequest, context: Any
    ) -> pb.RejectRiskModelResponse:
        model = await risk_models.reject_risk_model(
            self._database,
            self._encoder,
            risk_models.DecideRiskModel(request.name, request.etag, request.reason, _actor()),
        )
        return pb.RejectRiskModelResponse(risk_model=risk_model_mappers.risk_model_message(model))

    @allow(*_APPROVERS)
    async def RollbackRiskModel(
        self, request: pb.RollbackRiskModelRequest, context: Any
    ) -> pb.RollbackRiskModelResponse:
        retired, active = await risk_models.rollback_risk_model(
            self._database, self._encoder, _actor(), request.reason
        )
        return pb.RollbackRiskModelResponse(
            retired=risk_model_mappers.risk_model_message(retired),
            active=risk_model_mappers.risk_model_message(active),
        )

    @allow(*_MONITORS)
    async def GetRiskModelPerformance(
        self, request: pb.GetRiskModelPerformanceRequest, context: Any
    ) -> pb.GetRiskModelPerformanceResponse:
        model, performance = await risk_models.risk_model_performance(
            self._database,
            self._risk_model_sources,
            request.name,
            request.start_time.ToDatetime(tzinfo=UTC),
            request.end_time.ToDatetime(tzinfo=UTC),
        )
        return risk_model_mappers.performance_response(model, performance)

    @allow(Role.SERVICE)
    async def IngestRiskModelTrainedEvent(
        self, request: pb.IngestRiskModelTrainedEventRequest, context: Any
    ) -> pb.IngestRiskModelTrainedEventResponse:
        applied = await risk_models.ingest_trained(
            self._database, self._encoder, risk_model_mappers.trained_version(request)
        )
        return pb.IngestRiskModelTrainedEventResponse(duplicate=not applied)
