"""A risk model that stops performing opens a retrain recommendation the committee sees."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from criteria_support import NOWHERE, RMC, Criteria, StartCriteria
from customs.criteria.v1 import criteria_service_pb2 as pb
from customs.criteria.v1 import recommendation_pb2
from customs.scoring.v1 import scoring_service_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from criteria.adapters.risk_models import RiskModelRepository
from criteria.domain.risk_models import RiskModel, RiskModelState
from criteria.entrypoints.options import CriteriaOptions
from customs_kit.db import Database

Kind = recommendation_pb2.RecommendationKind
_ACTIVE = "riskModels/v3"


class _Scoring:
    """A real gRPC server standing in for scoring: the active version's measurement."""

    def __init__(self, answer: scoring_service_pb2.GetRiskModelPerformanceResponse) -> None:
        self.answer = answer
        self.asked: list[scoring_service_pb2.GetRiskModelPerformanceRequest] = []

    async def performance(self, request: bytes, context: object) -> bytes:
        self.asked.append(scoring_service_pb2.GetRiskModelPerformanceRequest.FromString(request))
        return self.answer.SerializeToString()


@pytest.fixture
async def scoring() -> AsyncIterator[tuple[_Scoring, str]]:
    # The random arm: 40 flagged, 8 hits, precision 0.2 (interval up to 0.35),
    # where validation promised 0.9.
    stand_in = _Scoring(
        scoring_service_pb2.GetRiskModelPerformanceResponse(
            scored=5_000,
            random_examined=250,
            random_flagged=40,
            random_flagged_hits=8,
            precision=0.2,
            precision_lower=0.105,
            precision_upper=0.348,
            validation_precision=0.9,
            population_stability_index=0.05,
        )
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "customs.scoring.v1.ScoringService",
                {
                    "GetRiskModelPerformance": grpc.unary_unary_rpc_method_handler(
                        stand_in.performance
                    )
                },
            ),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    yield stand_in, f"127.0.0.1:{port}"
    await server.stop(grace=None)


async def _activate(database_url: str) -> None:
    """An approved, active version (its governance is another test's subject)."""
    now = datetime.now(UTC)
    database = Database(database_url)
    try:
        async with database.unit_of_work() as uow:
            await RiskModelRepository(uow.session).save(
                RiskModel(
                    name=_ACTIVE,
                    state=RiskModelState.ACTIVE,
                    digest="a" * 64,
                    trainer="ana",
                    card=b"",
                    create_time=now,
                    update_time=now,
                    score_threshold=0.7,
                    submitted_by="ana",
                    approved_by="sam",
                    activate_time=now,
                )
            )
            await uow.commit()
    finally:
        await database.dispose()


async def _pending_retrains(criteria: Criteria) -> list[recommendation_pb2.Recommendation]:
    listed = await criteria.call("ListRecommendations", pb.ListRecommendationsRequest(), RMC)
    return [
        r
        for r in listed.recommendations
        if r.kind == Kind.RECOMMENDATION_KIND_RETRAIN_RISK_MODEL
        and r.state == recommendation_pb2.RECOMMENDATION_STATE_PENDING
    ]


def _stamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


@pytest.mark.timeout(120)
async def test_a_model_below_its_validation_on_the_random_arm_gets_one_retrain_recommendation(
    start_criteria: StartCriteria, scoring: tuple[_Scoring, str], database_url: str
) -> None:
    stand_in, address = scoring
    options = CriteriaOptions(risk_model_check_interval=0.1)
    peers = {
        "scoring": address,
        "exam-reports": NOWHERE,
        "compliance": NOWHERE,
        "audit-referral": NOWHERE,
    }
    async with start_criteria(peers, options) as criteria:
        await _activate(database_url)
        for _ in range(200):
            if len(stand_in.asked) >= 3 and await _pending_retrains(criteria):
                break
            await asyncio.sleep(0.05)
        pending = await _pending_retrains(criteria)
        now = datetime.now(UTC)
        report = await criteria.call(
            "GetOversightReport",
            pb.GetOversightReportRequest(
                start_time=_stamp(now - timedelta(days=30)), end_time=_stamp(now)
            ),
            RMC,
        )

    # Measured again at every interval, proposed once while it is pending.
    assert len(stand_in.asked) >= 3
    assert [(r.risk_model, r.criterion) for r in pending] == [(_ACTIVE, "")]
    assert "0.200" in pending[0].rationale
    assert "0.900" in pending[0].rationale
    assert stand_in.asked[0].risk_model == _ACTIVE
    assert stand_in.asked[0].score_threshold == pytest.approx(0.7)
    assert [r.name for r in report.oversight_report.pending_recommendations] == [pending[0].name]
