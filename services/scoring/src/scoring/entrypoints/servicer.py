"""The ScoringService gRPC servicer: decode, call a handler, encode.

RPCs of the contract not implemented here (the bulk stream, random
examination rates, capacity policies) are answered UNIMPLEMENTED by the
chassis.
"""

from __future__ import annotations

from typing import Any

from customs.scoring.v1 import scoring_service_pb2, scoring_service_pb2_grpc

from customs_kit.auth import Role, allow
from customs_kit.db import Database
from customs_kit.pagination import PageTokens
from scoring.domain.draws import SelectionSeed
from scoring.entrypoints import mappers
from scoring.service_layer import handlers, simulation
from scoring.service_layer.rules import RulesHolder


class ScoringServicer(scoring_service_pb2_grpc.ScoringServiceServicer):
    """The implemented RPCs of customs.scoring.v1.ScoringService."""

    def __init__(
        self,
        database: Database,
        rules: RulesHolder,
        seed: SelectionSeed,
        page_tokens: PageTokens,
    ) -> None:
        self._database = database
        self._rules = rules
        self._seed = seed
        self._page_tokens = page_tokens

    @allow(Role.DECLARATION_SYSTEM)
    async def AssessDeclaration(
        self, request: scoring_service_pb2.AssessDeclarationRequest, context: Any
    ) -> scoring_service_pb2.AssessDeclarationResponse:
        outcome = await handlers.assess_declaration(
            mappers.assess_command(request),
            database=self._database,
            rules=self._rules,
            seed=self._seed,
        )
        return mappers.assess_response(outcome)

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
        assessment = await handlers.get_assessment(
            mappers.assessment_id(request.name), database=self._database
        )
        return mappers.get_response(assessment, request.view)

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
