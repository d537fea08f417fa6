"""The ScoringService gRPC servicer: decode, call a handler, encode."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, timedelta
from typing import Any

import structlog
from customs.scoring.v1 import scoring_service_pb2, scoring_service_pb2_grpc

from customs_kit.auth import Role, allow, current_principal
from customs_kit.db import Database, database_unavailable
from customs_kit.errors import DomainError, InvalidArgument
from customs_kit.interceptors import answers_invalid_messages, violations_of
from customs_kit.pagination import PageTokens
from scoring.domain.consignments import DEFAULT_RELODGEMENT_WINDOW
from scoring.domain.draws import SelectionSeed
from scoring.domain.history import HistoryRecord, ImportCounts
from scoring.entrypoints import disparity_mappers, mappers, risk_model_mappers
from scoring.service_layer import (
    capacity,
    disparity,
    handlers,
    history,
    model_replay,
    outcomes,
    random_rates,
    risk_scoring,
    simulation,
    training,
)
from scoring.service_layer.rules import RulesHolder

_log = structlog.get_logger(__name__)


class ScoringServicer(scoring_service_pb2_grpc.ScoringServiceServicer):
    """The implemented RPCs of customs.scoring.v1.ScoringService."""

    def __init__(
        self,
        database: Database,
        rules: RulesHolder,
        seed: SelectionSeed,
        page_tokens: PageTokens,
        capacity_limits: capacity.CapacityLimits,
        random_inputs: random_rates.RandomInputs,
        trainers: training.TrainerProcesses,
        risk_models: risk_scoring.RiskModelHolder,
        relodgement_window: timedelta = DEFAULT_RELODGEMENT_WINDOW,
    ) -> None:
        self._database = database
        self._rules = rules
        self._seed = seed
        self._page_tokens = page_tokens
        self._capacity = capacity_limits
        self._random = random_inputs
        self._trainers = trainers
        self._risk_models = risk_models
        self._assessor = handlers.Assessor(
            database=database,
            rules=rules,
            seed=seed,
            capacity=capacity_limits,
            random=random_inputs,
            risk_models=risk_models,
            relodgement_window=relodgement_window,
        )

    @allow(Role.ANALYST, Role.RMC, Role.SUPERVISOR, Role.AUDITOR, Role.COMPLIANCE)
    async def GetRandomExaminationRate(
        self, request: scoring_service_pb2.GetRandomExaminationRateRequest, context: Any
    ) -> scoring_service_pb2.GetRandomExaminationRateResponse:
        rate = await random_rates.get_random_examination_rate(request.name, database=self._database)
        return mappers.random_rate_response(rate)

    @allow(Role.ANALYST, Role.RMC, Role.SUPERVISOR, Role.AUDITOR, Role.COMPLIANCE)
    async def ListRandomExaminationRates(
        self, request: scoring_service_pb2.ListRandomExaminationRatesRequest, context: Any
    ) -> scoring_service_pb2.ListRandomExaminationRatesResponse:
        page = await random_rates.list_random_examination_rates(
            request.page_size,
            request.page_token,
            request.office_code,
            database=self._database,
            page_tokens=self._page_tokens,
        )
        return mappers.random_rates_response(page)

    @allow(Role.RMC)
    async def SetRandomExaminationRate(
        self, request: scoring_service_pb2.SetRandomExaminationRateRequest, context: Any
    ) -> scoring_service_pb2.SetRandomExaminationRateResponse:
        rate = await random_rates.set_random_examination_rate(
            mappers.set_random_rate_command(request, current_principal().subject),
            database=self._database,
            holder=self._random.rates,
        )
        return mappers.set_random_rate_response(rate)

    @allow(Role.RMC)
    async def DeleteRandomExaminationRate(
        self, request: scoring_service_pb2.DeleteRandomExaminationRateRequest, context: Any
    ) -> scoring_service_pb2.DeleteRandomExaminationRateResponse:
        revision = await random_rates.delete_random_examination_rate(
            random_rates.DeleteRandomExaminationRate(
                name=request.name,
                etag=request.etag,
                reason=request.reason,
                actor=current_principal().subject,
            ),
            database=self._database,
            holder=self._random.rates,
        )
        return scoring_service_pb2.DeleteRandomExaminationRateResponse(revision=revision)

    @allow(Role.ANALYST, Role.RMC, Role.SUPERVISOR, Role.AUDITOR)
    async def GetCapacityPolicy(
        self, request: scoring_service_pb2.GetCapacityPolicyRequest, context: Any
    ) -> scoring_service_pb2.GetCapacityPolicyResponse:
        policy = await capacity.get_capacity_policy(request.name, database=self._database)
        return mappers.capacity_policy_response(policy)

    @allow(Role.ANALYST, Role.RMC, Role.SUPERVISOR, Role.AUDITOR)
    async def ListCapacityPolicies(
        self, request: scoring_service_pb2.ListCapacityPoliciesRequest, context: Any
    ) -> scoring_service_pb2.ListCapacityPoliciesResponse:
        page = await capacity.list_capacity_policies(
            request.page_size,
            request.page_token,
            database=self._database,
            page_tokens=self._page_tokens,
        )
        return mappers.capacity_policies_response(page)

    @allow(Role.RMC)
    async def UpdateCapacityPolicy(
        self, request: scoring_service_pb2.UpdateCapacityPolicyRequest, context: Any
    ) -> scoring_service_pb2.UpdateCapacityPolicyResponse:
        policy = await capacity.update_capacity_policy(
            mappers.update_capacity_policy_command(request, current_principal().subject),
            database=self._database,
            holder=self._capacity.policies,
        )
        return mappers.updated_capacity_policy_response(policy)

    @allow(Role.DECLARATION_SYSTEM)
    async def AssessDeclaration(
        self, request: scoring_service_pb2.AssessDeclarationRequest, context: Any
    ) -> scoring_service_pb2.AssessDeclarationResponse:
        outcome = await self._assessor.assess(mappers.assess_command(request))
        return mappers.assess_response(outcome)

    @allow(Role.DECLARATION_SYSTEM)
    @answers_invalid_messages
    async def AssessDeclarations(
        self, request_iterator: AsyncIterator[_Request], context: Any
    ) -> AsyncIterator[scoring_service_pb2.AssessDeclarationsResponse]:
        # The contract answers an invalid declaration in its place and goes on.
        async for batch in _batches(request_iterator, _BULK_BATCH):
            checked = [(request, violations_of(request)) for request in batch]
            outcomes = iter(
                await self._assess_stored_or_unavailable(
                    [mappers.assess_command(request) for request, bad in checked if not bad]
                )
            )
            for request, violations in checked:
                result = InvalidArgument(violations) if violations else next(outcomes)
                yield mappers.bulk_response(request, result)

    async def _assess_stored_or_unavailable(
        self, commands: list[handlers.AssessDeclaration]
    ) -> Sequence[handlers.AssessmentOutcome | DomainError]:
        """The batch's outcomes; UNAVAILABLE for each when the database cannot store them.

        A lost database fails the batch's transaction, not the stream: the
        declaration system re-sends what was answered UNAVAILABLE, and the
        batches after it are stored as soon as the database is back.
        """
        try:
            return await self._assessor.assess_batch(commands)
        except Exception as error:
            unavailable = database_unavailable(error)
            if unavailable is None:
                raise
            _log.warning(
                "bulk_batch_unavailable", declarations=len(commands), error=str(error)[:500]
            )
            return [unavailable] * len(commands)

    @allow(
        Role.DECLARATION_SYSTEM,
        Role.ANALYST,
        Role.RMC,
        Role.SUPERVISOR,
        Role.AUDITOR,
        Role.SERVICE,
    )
    async def GetAssessment(
        self, request: scoring_service_pb2.GetAssessmentRequest, context: Any
    ) -> scoring_service_pb2.GetAssessmentResponse:
        assessment, delivery = await handlers.get_assessment_delivery(
            mappers.assessment_id(request.name), database=self._database
        )
        return mappers.get_response(assessment, request.view, delivery)

    @allow(Role.ANALYST, Role.RMC, Role.SUPERVISOR, Role.AUDITOR, Role.COMPLIANCE)
    async def ListAssessments(
        self, request: scoring_service_pb2.ListAssessmentsRequest, context: Any
    ) -> scoring_service_pb2.ListAssessmentsResponse:
        page = await handlers.list_assessments(
            mappers.list_query(request), database=self._database, page_tokens=self._page_tokens
        )
        return mappers.list_response(page, request.view)

    @allow(Role.ANALYST, Role.RMC, Role.SUPERVISOR, Role.AUDITOR)
    async def ExplainAssessment(
        self, request: scoring_service_pb2.ExplainAssessmentRequest, context: Any
    ) -> scoring_service_pb2.ExplainAssessmentResponse:
        explanation = await handlers.explain_assessment(
            mappers.assessment_id(request.name),
            database=self._database,
            seed=self._seed,
            risk_models=self._risk_models,
        )
        return mappers.explain_response(explanation)

    @allow(Role.ANALYST, Role.RMC, Role.SERVICE)
    async def Simulate(
        self, request: scoring_service_pb2.SimulateRequest, context: Any
    ) -> scoring_service_pb2.SimulateResponse:
        outcome = await simulation.simulate(
            mappers.simulate_command(request),
            database=self._database,
            rules=self._rules,
            seed=self._seed,
        )
        return mappers.simulate_response(outcome)

    @allow(Role.DECLARATION_SYSTEM, Role.ANALYST, Role.RMC, Role.OPERATOR, Role.SERVICE)
    async def GetServingState(
        self, request: scoring_service_pb2.GetServingStateRequest, context: Any
    ) -> scoring_service_pb2.GetServingStateResponse:
        state = handlers.serving_state(
            self._rules, self._random, self._capacity, self._seed, self._risk_models
        )
        return mappers.serving_state_response(state)

    # --- the risk model -------------------------------------------------------------

    @allow(Role.DECLARATION_SYSTEM, Role.ANALYST, Role.RMC)
    @answers_invalid_messages
    async def ImportHistory(
        self,
        request_iterator: AsyncIterator[scoring_service_pb2.ImportHistoryRequest],
        context: Any,
    ) -> scoring_service_pb2.ImportHistoryResponse:
        # Validated here rather than by the guard, so the error names the message's position.
        counts = ImportCounts()
        batch: list[HistoryRecord] = []
        position = 0
        async for request in request_iterator:
            batch.append(risk_model_mappers.history_record(request, position))
            position += 1
            if len(batch) == _HISTORY_BATCH:
                counts = await history.import_history_batch(
                    batch, position - len(batch), counts, database=self._database
                )
                batch = []
        if batch:
            counts = await history.import_history_batch(
                batch, position - len(batch), counts, database=self._database
            )
        return risk_model_mappers.import_response(counts)

    @allow(Role.ANALYST, Role.RMC)
    async def TrainRiskModel(
        self, request: scoring_service_pb2.TrainRiskModelRequest, context: Any
    ) -> scoring_service_pb2.TrainRiskModelResponse:
        started = await training.start_training(
            training.StartTraining(request, current_principal().subject),
            database=self._database,
            trainers=self._trainers,
        )
        return scoring_service_pb2.TrainRiskModelResponse(
            training=risk_model_mappers.training_to_proto(started)
        )

    @allow(Role.ANALYST, Role.RMC, Role.SUPERVISOR, Role.AUDITOR)
    async def GetRiskModelTraining(
        self, request: scoring_service_pb2.GetRiskModelTrainingRequest, context: Any
    ) -> scoring_service_pb2.GetRiskModelTrainingResponse:
        found = await training.get_training(request.name.split("/", 1)[1], database=self._database)
        version = (
            await training.get_model_version(found.risk_model, database=self._database)
            if found.risk_model
            else None
        )
        return scoring_service_pb2.GetRiskModelTrainingResponse(
            training=risk_model_mappers.training_to_proto(found, version)
        )

    @allow(Role.ANALYST, Role.RMC, Role.SUPERVISOR, Role.AUDITOR, Role.SERVICE)
    async def GetServingRiskModel(
        self, request: scoring_service_pb2.GetServingRiskModelRequest, context: Any
    ) -> scoring_service_pb2.GetServingRiskModelResponse:
        serving = self._risk_models.current
        if serving is None:
            return scoring_service_pb2.GetServingRiskModelResponse()
        return scoring_service_pb2.GetServingRiskModelResponse(
            risk_model=serving.name, digest=serving.digest, criteria_revision=serving.revision
        )

    @allow(Role.ANALYST, Role.RMC, Role.SERVICE)
    async def SimulateRiskModel(
        self, request: scoring_service_pb2.SimulateRiskModelRequest, context: Any
    ) -> scoring_service_pb2.SimulateRiskModelResponse:
        replay = await model_replay.simulate_model(
            risk_model_mappers.simulate_model_command(request),
            database=self._database,
            risk_models=self._risk_models,
        )
        return risk_model_mappers.simulate_model_response(replay)

    @allow(Role.ANALYST, Role.RMC, Role.SUPERVISOR, Role.AUDITOR, Role.SERVICE)
    async def GetRiskModelPerformance(
        self, request: scoring_service_pb2.GetRiskModelPerformanceRequest, context: Any
    ) -> scoring_service_pb2.GetRiskModelPerformanceResponse:
        performance = await model_replay.model_performance(
            request.risk_model,
            request.score_threshold,
            request.start_time.ToDatetime(tzinfo=UTC),
            request.end_time.ToDatetime(tzinfo=UTC),
            database=self._database,
        )
        return risk_model_mappers.performance_response(performance)

    @allow(Role.SERVICE)
    async def IngestExaminationOutcomeEvent(
        self, request: scoring_service_pb2.IngestExaminationOutcomeEventRequest, context: Any
    ) -> scoring_service_pb2.IngestExaminationOutcomeEventResponse:
        duplicate, matched = await outcomes.record_examination_outcome(
            risk_model_mappers.examination_outcome_command(request), database=self._database
        )
        return scoring_service_pb2.IngestExaminationOutcomeEventResponse(
            duplicate=duplicate, matched=matched
        )

    @allow(Role.SERVICE)
    async def IngestAuditFindingEvent(
        self, request: scoring_service_pb2.IngestAuditFindingEventRequest, context: Any
    ) -> scoring_service_pb2.IngestAuditFindingEventResponse:
        duplicate, matched = await outcomes.record_audit_finding(
            risk_model_mappers.audit_finding_command(request), database=self._database
        )
        return scoring_service_pb2.IngestAuditFindingEventResponse(
            duplicate=duplicate, matched=matched
        )

    @allow(Role.ANALYST, Role.RMC, Role.SUPERVISOR, Role.AUDITOR, Role.SERVICE)
    async def GetRiskModelCard(
        self, request: scoring_service_pb2.GetRiskModelCardRequest, context: Any
    ) -> scoring_service_pb2.GetRiskModelCardResponse:
        version = await training.get_model_version(request.risk_model, database=self._database)
        return scoring_service_pb2.GetRiskModelCardResponse(
            card=risk_model_mappers.card_to_proto(version)
        )

    @allow(Role.ANALYST, Role.RMC, Role.SUPERVISOR, Role.AUDITOR, Role.SERVICE)
    async def GetDisparityReport(
        self, request: scoring_service_pb2.GetDisparityReportRequest, context: Any
    ) -> scoring_service_pb2.GetDisparityReportResponse:
        start = request.start_time.ToDatetime(tzinfo=UTC)
        end = request.end_time.ToDatetime(tzinfo=UTC)
        report = await disparity.disparity_report(
            disparity.GetDisparityReport(start, end, request.risk_model_score_threshold),
            database=self._database,
            rules=self._rules,
        )
        return scoring_service_pb2.GetDisparityReportResponse(
            report=disparity_mappers.report_to_proto(report, start, end)
        )


#: Archived declarations stored in one transaction at most.
_HISTORY_BATCH = 1_000

#: Declarations of a bulk stream assessed (and stored) together at most.
_BULK_BATCH = 100

_Request = scoring_service_pb2.AssessDeclarationsRequest


async def _batches(requests: AsyncIterator[_Request], size: int) -> AsyncIterator[list[_Request]]:
    """The stream's messages in batches of what has arrived (1 to ``size``), in order.

    A reader task keeps receiving while a batch is assessed, so the next
    batch is whatever the client sent meanwhile: large when it sends fast,
    a single declaration when it sends one at a time. At most two batches
    are read ahead, so that a fast client is held back by flow control
    rather than by this process's memory.
    """
    queue: asyncio.Queue[_Request | None] = asyncio.Queue()
    room = asyncio.Semaphore(2 * size)

    async def receive() -> None:
        try:
            while True:
                await room.acquire()
                try:
                    request = await anext(requests)
                except StopAsyncIteration:
                    return
                queue.put_nowait(request)
        finally:
            queue.put_nowait(None)

    reader = asyncio.create_task(receive())
    try:
        ended = False
        while not ended:
            batch: list[_Request] = []
            item = await queue.get()
            while item is not None:
                batch.append(item)
                room.release()
                if len(batch) == size or queue.empty():
                    break
                item = queue.get_nowait()
            ended = item is None
            if batch:
                yield batch
        await reader
    finally:
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
