"""The ScoringService gRPC servicer: decode, call a handler, encode."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from customs.scoring.v1 import scoring_service_pb2, scoring_service_pb2_grpc

from customs_kit.auth import Role, allow, current_principal
from customs_kit.db import Database
from customs_kit.errors import InvalidArgument
from customs_kit.interceptors import answers_invalid_messages, violations_of
from customs_kit.pagination import PageTokens
from scoring.domain.draws import SelectionSeed
from scoring.entrypoints import mappers
from scoring.service_layer import capacity, handlers, random_rates, simulation
from scoring.service_layer.rules import RulesHolder


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
    ) -> None:
        self._database = database
        self._rules = rules
        self._seed = seed
        self._page_tokens = page_tokens
        self._capacity = capacity_limits
        self._random = random_inputs
        self._assessor = handlers.Assessor(
            database=database,
            rules=rules,
            seed=seed,
            capacity=capacity_limits,
            random=random_inputs,
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
                await self._assessor.assess_batch(
                    [mappers.assess_command(request) for request, bad in checked if not bad]
                )
            )
            for request, violations in checked:
                result = InvalidArgument(violations) if violations else next(outcomes)
                yield mappers.bulk_response(request, result)

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
            mappers.assessment_id(request.name), database=self._database, seed=self._seed
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
        state = handlers.serving_state(self._rules, self._random, self._capacity, self._seed)
        return mappers.serving_state_response(state)


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
